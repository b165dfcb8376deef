// A slow consumer: a client that stops reading while 100 MB is broadcast to its room.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { io } = require('socket.io-client');
const { startServer, once, until, bin } = require('./lib');

const CAP = 8000000;
const memKb = (pid, field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

test('a client that stops reading is cut off at the cap, memory stays bounded, others keep up', async () => {
  const tour = await startServer(bin('FEATURE_TOUR'), ['--max-buffered-bytes', String(CAP), '--log-level', 'info']);
  const clients = [];
  try {
    const connect = async () => {
      const s = io(tour.url, { forceNew: true, transports: ['websocket'], reconnection: false });
      clients.push(s);
      await once(s, 'connect');
      assert.equal(await s.timeout(2000).emitWithAck('join', 'flood-room'), true);
      return s;
    };
    const slow = await connect();
    const fast = await connect();
    const sender = io(tour.url, { forceNew: true, transports: ['websocket'] });
    clients.push(sender);
    await once(sender, 'connect');
    const slowId = slow.id;
    slow.io.engine.transport.ws._socket.pause(); // stops reading; the kernel buffers fill up
    let received = 0;
    fast.on('flood', () => received++);
    const before = memKb(tour.proc.pid, 'VmRSS');

    // 100 MB in batches of 2.5 MB, at the pace the reading client keeps (a stream, not one burst:
    // sioc does not yet push back on senders, so a burst would fill every queue at once).
    const chunk = 'x'.repeat(500000);
    for (let batch = 0; batch < 40; batch++) {
      for (let i = 0; i < 5; i++) sender.emit('to', 'flood-room', 'flood', chunk);
      await until(() => received === (batch + 1) * 5, 20000, `batch ${batch}`);
    }

    const t0 = Date.now();
    assert.equal(await fast.timeout(5000).emitWithAck('echo', 'still quick'), 'still quick');
    const rtt = Date.now() - t0;
    assert.ok(rtt < 1000, `round trip ${rtt} ms`);
    await until(() => tour.log().includes(`socket ${slowId} left / (write buffer full)`), 5000, 'the slow one cut off');
    const grewKb = memKb(tour.proc.pid, 'VmHWM') - before;
    console.log(`slow consumer: peak RSS +${grewKb} KiB (cap ${CAP / 1024} KiB), fast round trip ${rtt} ms`);
    if (!process.env.SIOC_SANITIZED) { // ASan's quarantine keeps freed memory in RSS
      assert.ok(grewKb < CAP / 1024 + 24 * 1024, `peak RSS grew by ${grewKb} KiB`);
    }
  } finally {
    const paused = clients[0] && clients[0].io.engine && clients[0].io.engine.transport.ws;
    if (paused) paused.terminate(); // it reads nothing, not even a close frame
    clients.forEach((s) => s.close());
    assert.equal(await tour.stop(), 0, 'clean exit (no sanitizer report)');
  }
});
