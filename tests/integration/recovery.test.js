// Connection state recovery with the real socket.io-client 4.8 against feature-tour.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { io } = require('socket.io-client');
const { startServer, once, until, sleep, bin } = require('./lib');

let tour;
before(async () => {
  tour = await startServer(bin('FEATURE_TOUR'), ['--max-disconnection-duration', '5000']);
});
after(async () => assert.equal(await tour.stop(), 0, 'clean exit (no sanitizer report)'));

const connect = (url, opts = {}) => {
  const s = io(url, { forceNew: true, reconnectionDelay: 100, randomizationFactor: 0, ...opts });
  return once(s, 'connect').then(() => s);
};

for (const transports of [['websocket'], ['polling']]) {
  test(`a client cut mid-stream gets every message it missed, once, in order (${transports})`, async () => {
    const receiver = await connect(tour.url, { transports });
    const sender = await connect(tour.url);
    const id = receiver.id;
    assert.equal(await receiver.timeout(2000).emitWithAck('join', 'news-room'), true);
    assert.equal(await receiver.timeout(2000).emitWithAck('set-data', 'k', { v: [1, 'two'] }), true);
    const got = [];
    receiver.on('tick', (n, offset) => {
      assert.equal(typeof offset, 'string'); // broadcasts carry their offset last, as with Node
      got.push(n);
    });
    let n = 0;
    const send = () => sender.emit('to', 'news-room', 'tick', n++);
    for (let i = 0; i < 10; i++) send();
    await until(() => got.length === 10, 3000, 'the first ticks');

    const back = once(receiver, 'connect', 5000);
    const pump = setInterval(send, 5);
    try {
      await sleep(20);
      receiver.io.engine.close(); // the connection is cut mid-stream; the client reconnects by itself
      assert.equal(receiver.connected, false);
      await back;
      await sleep(50);
    } finally {
      clearInterval(pump);
    }
    const total = n;
    assert.ok(total >= 20, `ticks sent, ${total}, include some while it was away`);
    await until(() => got.length >= total, 5000, 'every tick');
    await sleep(100);

    assert.equal(receiver.recovered, true);
    assert.equal(receiver.id, id);
    assert.deepEqual(got, Array.from({ length: total }, (_, i) => i));
    const [data, recovered] = await new Promise((resolve) => receiver.emit('get-data', (...a) => resolve(a)));
    assert.deepEqual(data, { k: { v: [1, 'two'] } });
    assert.equal(recovered, true);
    assert.deepEqual(await receiver.timeout(2000).emitWithAck('rooms'), [id, 'news-room']);
    receiver.close();
    sender.close();
  });
}

test('recovery skips the connection middleware, a fresh connection does not', async () => {
  const s = await connect(`${tour.url}/private`, { auth: { token: 'secret' } });
  const other = await connect(tour.url);
  const id = s.id;
  const got = [];
  s.on('news', (m) => got.push(m));
  s.emit('all', 'news', 'first');
  await until(() => got.length === 1, 2000, 'first');
  s.auth = { token: 'changed' }; // would now be refused by the middleware
  const back = once(s, 'connect', 5000);
  s.io.engine.close();
  await back;
  assert.equal(s.recovered, true);
  assert.equal(s.id, id);
  s.close();
  other.close();
});

test('after maxDisconnectionDuration the client gets a new socket', async () => {
  const quick = await startServer(bin('FEATURE_TOUR'), ['--max-disconnection-duration', '200']);
  try {
    const s = await connect(quick.url, { reconnectionDelay: 800, reconnectionDelayMax: 800 });
    const other = await connect(quick.url);
    const id = s.id;
    const got = [];
    s.on('news', (m) => got.push(m));
    other.emit('all', 'news', 'x');
    await until(() => got.length === 1, 2000, 'news');
    const back = once(s, 'connect', 5000);
    s.io.engine.close();
    await back;
    assert.equal(s.recovered, false);
    assert.notEqual(s.id, id);
    s.close();
    other.close();
  } finally {
    assert.equal(await quick.stop(), 0);
  }
});

test('without the option nothing is stored and broadcasts carry no offset', async () => {
  const plain = await startServer(bin('FEATURE_TOUR'));
  try {
    const a = await connect(plain.url);
    const b = await connect(plain.url);
    const args = new Promise((resolve) => b.once('news', (...x) => resolve(x)));
    a.emit('all', 'news', 'only this');
    assert.deepEqual(await args, ['only this']);
    a.close();
    b.close();
  } finally {
    assert.equal(await plain.stop(), 0);
  }
});

// Node sends socket.emit() through the adapter to the socket's own room when recovery is on: the
// packet carries an offset and is kept, so what was emitted to the socket alone and lost with its
// connection is replayed when it comes back.
test('per-socket emits carry an offset and are replayed after a cut', async () => {
  const WebSocket = require('ws');
  const open = async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${tour.port}/socket.io/?EIO=4&transport=websocket`);
    ws.frames = [];
    ws.on('message', (m) => ws.frames.push(String(m)));
    ws.on('error', () => {});
    await until(() => ws.frames.length === 1, 3000, 'open packet');
    return ws;
  };
  const ws = await open();
  ws.send('40');
  await until(() => ws.frames.length === 2, 3000, 'CONNECT answer');
  const { sid, pid } = JSON.parse(ws.frames[1].slice(2));
  assert.ok(pid, 'a recoverable socket has a pid');
  ws.send('42["echo","first"]');
  await until(() => ws.frames.length === 3, 3000, 'the first echo');
  const [event, arg, offset] = JSON.parse(ws.frames[2].slice(2));
  assert.deepEqual([event, arg], ['echo', 'first']);
  assert.equal(typeof offset, 'string', 'a per-socket emit carries its offset last');
  // Two more echoes are asked for, and the connection dies before they can arrive.
  ws.send('42["echo","second"]');
  ws.send('42["echo","third"]', () => ws._socket.destroy());
  await once(ws, 'close', 3000);
  await sleep(100);
  const back = await open();
  back.send(`40${JSON.stringify({ pid, offset })}`);
  await until(() => back.frames.length >= 4, 3000, 'the CONNECT answer and the replay');
  assert.equal(JSON.parse(back.frames[1].slice(2)).sid, sid, 'the same socket came back');
  assert.deepEqual(back.frames.slice(2).map((f) => JSON.parse(f.slice(2)).slice(0, 2)),
    [['echo', 'second'], ['echo', 'third']]);
  back.close();
});
