// A server on the application's own libuv loop (examples/embedded.c): the application's timer and
// sioc's connections share the loop, and freeing the server takes every handle it added away (the
// example's loop ends, and uv_loop_close succeeds, only then).
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { io } = require('socket.io-client');
const { startServer, request, once, bin } = require('./lib');

test('the application\'s timer and the chat run on one loop; freeing the server leaves it empty', async () => {
  const app = await startServer(bin('EMBEDDED'));
  const clients = [];
  try {
    for (const transports of [['websocket'], ['polling']]) {
      const c = io(app.url, { forceNew: true, transports });
      clients.push(c);
      await once(c, 'connect');
    }
    const [a, b] = clients;
    // The application's own timer reaches both transports, once a second, counting up.
    const ticks = await Promise.all(clients.map((c) => new Promise((resolve) => {
      const seen = [];
      c.on('tick', (n, unixTime) => {
        assert.ok(Math.abs(unixTime - Date.now() / 1000) < 5);
        if (seen.push(n) === 2) resolve(seen);
      });
    })));
    for (const seen of ticks) assert.equal(seen[1], seen[0] + 1);
    // And the chat: everyone but the sender, both ways, with the sender's ack.
    const got = new Promise((resolve) => b.once('serverMsg', resolve));
    assert.equal(await a.timeout(2000).emitWithAck('msg', 'hello from a'), undefined);
    assert.equal(await got, 'hello from a');
    const back = new Promise((resolve) => a.once('serverMsg', resolve));
    b.emit('msg', 'hello from b');
    assert.equal(await back, 'hello from b');
    assert.equal((await request(`${app.url}/socket.io/socket.io.js`)).status, 200);
  } finally {
    clients.forEach((c) => c.close());
    // SIGTERM: the example frees the server, closes its own handles, and exits 0 only if
    // uv_loop_close() finds nothing left on the loop.
    assert.equal(await app.stop(), 0, 'clean exit: nothing left on the loop, no sanitizer report');
  }
  assert.match(app.log(), /signal 15, stopping/);
});
