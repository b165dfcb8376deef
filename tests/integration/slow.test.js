// A slow consumer: a client that stops reading while 100 MB is broadcast to its room.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { io } = require('socket.io-client');
const { startServer, once, until, bin } = require('./lib');

const CAP = 8000000;
const memKb = (pid, field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

test('a client that stops reading is cut off at the cap, memory stays bounded, readers keep up', async () => {
  // Under valgrind sioc reads a few MB a second: a fifth of the flood, and a heartbeat patient
  // enough for the sender's pong, which waits behind it.
  const grind = Boolean(process.env.SIOC_VALGRIND);
  const MESSAGES = grind ? 40 : 200;
  const tour = await startServer(bin('FEATURE_TOUR'), ['--max-buffered-bytes', String(CAP), '--log-level', 'info',
    ...(grind ? ['--ping-timeout', '120000'] : [])]);
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
    // Readers that keep up, but more slowly than sioc takes the sender's messages in: each waits
    // 4 ms after every chunk it reads (at most 16 MB/s).
    const readers = [];
    for (let i = 0; i < 3; i++) {
      const r = await connect();
      const sock = r.io.engine.transport.ws._socket;
      sock.on('data', () => { sock.pause(); setTimeout(() => sock.resume(), 4); });
      readers.push(r);
    }
    const sender = io(tour.url, { forceNew: true, transports: ['websocket'] });
    clients.push(sender);
    await once(sender, 'connect');
    const slowId = slow.id;
    slow.io.engine.transport.ws._socket.pause(); // stops reading; the kernel buffers fill up
    const received = readers.map(() => 0);
    const dropped = [];
    readers.forEach((r, i) => {
      r.on('flood', () => received[i]++);
      r.on('disconnect', (why) => dropped.push(why));
    });
    const before = memKb(tour.proc.pid, 'VmRSS');

    // 100 MB in one burst: sioc stops reading the sender while a reader's queue is high, so the
    // readers are not cut off (without that, their queues would reach the cap), and lets it go on
    // once the one that reads nothing has stalled.
    // The sender yields to the event loop after each message: the readers live in this process,
    // and a reader whose process is busy for 50 ms is one that stopped reading.
    const chunk = 'x'.repeat(500000);
    for (let i = 0; i < MESSAGES; i++) {
      sender.emit('to', 'flood-room', 'flood', chunk);
      await new Promise(setImmediate);
    }
    await until(() => received.every((n) => n === MESSAGES) || dropped.length, 60000, 'every reader has all');
    assert.deepEqual(dropped, [], 'no reader was cut off');
    assert.deepEqual(received, readers.map(() => MESSAGES));

    const t0 = Date.now();
    assert.equal(await readers[0].timeout(5000).emitWithAck('echo', 'still quick'), 'still quick');
    const rtt = Date.now() - t0;
    assert.ok(rtt < 1000, `round trip ${rtt} ms`);
    await until(() => tour.log().includes(`socket ${slowId} left / (write buffer full)`), 5000, 'the slow one cut off');
    const grewKb = memKb(tour.proc.pid, 'VmHWM') - before;
    console.log(`slow consumer: peak RSS +${grewKb} KiB (cap ${CAP / 1024} KiB), round trip after ${rtt} ms`);
    if (!process.env.SIOC_SANITIZED) { // ASan's quarantine keeps freed memory in RSS
      assert.ok(grewKb < CAP / 1024 + 8 * 1024, `peak RSS grew by ${grewKb} KiB`);
    }
  } finally {
    const paused = clients[0] && clients[0].io.engine && clients[0].io.engine.transport.ws;
    if (paused) paused.terminate(); // it reads nothing, not even a close frame
    clients.forEach((s) => s.close());
    assert.equal(await tour.stop(), 0, 'clean exit (no sanitizer report)');
  }
});

// Consumers that stop reading must not slow everyone: with five polling sessions and a WebSocket
// that read nothing, a sender streaming to "/" reaches a well-behaved client without delay. Each
// of them may hold the sender once, briefly (sioc: 50 ms), before it is left to its byte cap.
test('any number of stalled consumers: a well-behaved client\'s p99 latency stays under 100 ms', async () => {
  const { request } = require('./lib');
  const tour = await startServer(bin('FEATURE_TOUR'), ['--max-buffered-bytes', String(CAP), '--log-level', 'info']);
  const clients = [];
  try {
    const stalledPolls = [];
    for (let i = 0; i < 5; i++) {
      const { body } = await request(`${tour.url}/socket.io/?EIO=4&transport=polling`);
      const sid = JSON.parse(body.slice(1)).sid;
      const url = `${tour.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`;
      await request(url, { method: 'POST', body: '40' });
      assert.match((await request(url)).body, /^40\{/); // joined "/"; from here on it reads nothing
      stalledPolls.push(sid);
    }
    const connect = async () => {
      const s = io(tour.url, { forceNew: true, transports: ['websocket'], reconnection: false });
      clients.push(s);
      await once(s, 'connect');
      return s;
    };
    const pausedWs = await connect();
    pausedWs.io.engine.transport.ws._socket.pause();
    const good = await connect();
    const sender = await connect();
    const latencies = [];
    good.on('serverMsg', (m) => latencies.push(Date.now() - m.t));

    // 20 KB every 5 ms (4 MB/s) for 3 s: every stalled queue passes high water (a quarter of the
    // cap) within the first second and reaches the cap within the third.
    const pad = 'p'.repeat(20000);
    const end = Date.now() + 3000;
    let sent = 0;
    while (Date.now() < end) {
      sender.emit('msg', { t: Date.now(), pad });
      sent++;
      await new Promise((r) => setTimeout(r, 5));
    }
    await until(() => latencies.length === sent, 10000, 'every message at the well-behaved client');
    const sorted = [...latencies].sort((x, y) => x - y);
    const p99 = sorted[Math.floor(sorted.length * 0.99)];
    console.log(`stalled consumers: ${sent} messages, p50 ${sorted[Math.floor(sorted.length / 2)]} ms, p99 ${p99} ms, max ${sorted[sorted.length - 1]} ms`);
    if (!process.env.SIOC_VALGRIND) {
      assert.ok(p99 < 100, `p99 ${p99} ms`);
    }
    // Each stalled one was left to its byte cap, and cut off there.
    const cutOff = (sid) => new RegExp(`session ${sid}: \\d+ bytes queued and its client does not read`).test(tour.log());
    await until(() => stalledPolls.every(cutOff), 5000, 'the stalled polling sessions cut off');
  } finally {
    const paused = clients[0] && clients[0].io.engine && clients[0].io.engine.transport.ws;
    if (paused) paused.terminate();
    clients.forEach((s) => s.close());
    assert.equal(await tour.stop(), 0, 'clean exit (no sanitizer report)');
  }
});
