// --parser msgpack: feature-tour speaking socket.io-msgpack-parser 3.0.2 (npm) with the Node client
// and with the msgpack bundle sioc serves (socket.io.msgpack.min.js) in Debian's chromium: both
// transports and the upgrade, acks, binary both ways, namespaces, rooms, broadcasts; a client of
// the default parser is turned away (as Node's, with a parse error) while the others carry on; the
// seed's plain WebSocket clients keep their JSON frames; a node of each parser in one Redis cluster.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { io } = require('socket.io-client');
const parser = require('socket.io-msgpack-parser');
const WebSocket = require('ws');
const { startServer, request, once, until, sleep, bin, nextMessage, launchChromium, startRedis, stopHelper } = require('./lib');

let server;
const clients = [];
function client(path = '/', opts = {}) {
  const c = io(`http://localhost:${server.port}${path}`, { forceNew: true, reconnection: false, parser, ...opts });
  clients.push(c);
  return c;
}

before(async () => {
  server = await startServer(bin('FEATURE_TOUR'), ['--parser', 'msgpack', '--log-level', 'info']);
});

after(async () => {
  for (const c of clients) c.close();
  assert.equal(await server.stop(), 0, 'clean exit (no sanitizer report)');
});

for (const transports of [['polling'], ['websocket'], ['polling', 'websocket']]) {
  test(`${transports.join(' then ')}: acks and binary both ways`, async () => {
    const c = client('/', { transports });
    await once(c, 'connect');
    if (transports.length === 2) await until(() => c.io.engine.transport.name === 'websocket', 5000, 'the upgrade');
    const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
    const back = await c.timeout(3000).emitWithAck('echo', 'text', bytes, { n: 1.5, list: [null, true] }, 2 ** 40);
    // emitWithAck gives the first argument; the whole answer through a plain ack:
    const all = await new Promise((resolve) => c.emit('echo', 'x', { nested: bytes }, (...args) => resolve(args)));
    assert.equal(back, 'text');
    assert.deepEqual(all[0], 'x');
    assert.ok(Buffer.isBuffer(all[1].nested), 'binary inside an object comes back as binary');
    assert.deepEqual([...all[1].nested], [...bytes]);
    // the server's own emit (no ack): binary and numbers as they went
    const echoed = once(c, 'echo');
    c.emit('echo', bytes, 2 ** 40, -1.25);
    const [b, big, neg] = await echoed;
    assert.deepEqual([...b], [...bytes]);
    assert.equal(big, 2 ** 40);
    assert.equal(neg, -1.25);
  });
}

test('namespaces, rooms and broadcasts', async () => {
  const [a, b, chat] = [client('/', { transports: ['websocket'] }), client('/', { transports: ['polling'] }), client('/chat')];
  await Promise.all([a, b, chat].map((c) => once(c, 'connect')));
  assert.equal(await b.timeout(3000).emitWithAck('join', 'blue'), true);
  const inRoom = once(b, 'notice');
  a.emit('to', 'blue', 'notice', 'to blue', Buffer.from([7]));
  const [text, buf] = await inRoom;
  assert.equal(text, 'to blue');
  assert.deepEqual([...buf], [7]);
  const relayed = once(b, 'serverMsg');
  a.emit('msg', 'to all');
  assert.equal(await relayed, 'to all');
  assert.equal(await chat.timeout(3000).emitWithAck('echo', 'in /chat'), 'in /chat');
});

test('a client of the default parser is turned away; the others carry on', async () => {
  const good = client('/', { transports: ['websocket'] });
  await once(good, 'connect');
  const wrong = io(`http://localhost:${server.port}`, { forceNew: true, reconnection: false, transports: ['websocket'] });
  clients.push(wrong);
  const closed = once(wrong.io.engine, 'close');
  await closed;
  assert.equal(wrong.connected, false);
  await until(() => /invalid Socket\.IO packet/.test(server.log()), 3000, 'the refusal logged');
  assert.equal(await good.timeout(3000).emitWithAck('echo', 'still here'), 'still here');
});

test('the seed\'s plain WebSocket clients keep their JSON frames', async () => {
  const listener = client('/', { transports: ['websocket'] });
  await once(listener, 'connect');
  const ws = new WebSocket(`ws://localhost:${server.port}/`);
  await once(ws, 'open');
  const heard = once(listener, 'serverMsg');
  ws.send(JSON.stringify({ name: 'msg', data: ['plain'] }));
  assert.equal(await heard, 'plain');
  listener.emit('msg', 'to plain');
  assert.deepEqual(JSON.parse(await nextMessage(ws)), { name: 'serverMsg', data: ['to plain'] });
  ws.close();
});

test('the msgpack bundle in chromium: polling, the upgrade, acks and binary', async () => {
  const bundle = await request(`${server.url}/socket.io/socket.io.msgpack.min.js`);
  assert.equal(bundle.status, 200);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(`${server.url}/socket.io/socket.io.msgpack.min.js`); // the server's origin
    await page.addScriptTag({ url: `${server.url}/socket.io/socket.io.msgpack.min.js` });
    const result = await page.evaluate(async () => {
      const s = io({ reconnection: false });
      let first;
      s.io.on('open', () => (first = s.io.engine.transport.name)); // the transport it opened with
      await new Promise((resolve, reject) => { s.on('connect', resolve); s.on('connect_error', reject); });
      for (let i = 0; i < 500 && s.io.engine.transport.name !== 'websocket'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const upgraded = s.io.engine.transport.name;
      // (the bundle's notepack writes an ArrayBuffer as binary; a Uint8Array as a map of its
      // indices, with Node's server as with this one)
      const back = await new Promise((resolve) => s.emit('echo', 'hi', new Uint8Array([5, 6, 7]).buffer, (...a) => resolve(a)));
      const other = io({ reconnection: false, forceNew: true, transports: ['websocket'] });
      await new Promise((resolve) => other.on('connect', resolve));
      await new Promise((resolve) => other.emit('join', 'r', resolve));
      const heard = new Promise((resolve) => other.on('notice', (...a) => resolve(a)));
      s.emit('to', 'r', 'notice', new Uint8Array([1]).buffer);
      const notice = await heard;
      s.close();
      other.close();
      return {
        first,
        upgraded,
        text: back[0],
        bytes: Array.from(new Uint8Array(back[1])),
        notice: Array.from(new Uint8Array(notice[0])),
      };
    });
    assert.equal(result.first, 'polling');
    assert.equal(result.upgraded, 'websocket');
    assert.equal(result.text, 'hi');
    assert.deepEqual(result.bytes, [5, 6, 7]);
    assert.deepEqual(result.notice, [1]);
  } finally {
    await browser.close();
  }
});

test('a cluster whose nodes differ in parser: broadcasts cross through Redis, binary included', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sioc-msgpack-'));
  const redis = await startRedis(dir);
  const url = `redis://127.0.0.1:${redis.port}`;
  const other = await startServer(bin('FEATURE_TOUR'), ['--redis', url]); // the default parser
  const packed = await startServer(bin('FEATURE_TOUR'), ['--parser', 'msgpack', '--redis', url]);
  try {
    const x = io(packed.url, { forceNew: true, reconnection: false, parser, transports: ['websocket'] });
    const y = io(other.url, { forceNew: true, reconnection: false, transports: ['websocket'] });
    clients.push(x, y);
    await Promise.all([once(x, 'connect'), once(y, 'connect')]);
    await Promise.all([x.timeout(3000).emitWithAck('join', 'r'), y.timeout(3000).emitWithAck('join', 'r')]);
    await sleep(200);
    const atY = once(y, 'notice');
    x.emit('to', 'r', 'notice', 'from msgpack', Buffer.from([1, 2]));
    const [t1, b1] = await atY;
    assert.equal(t1, 'from msgpack');
    assert.deepEqual([...b1], [1, 2]);
    const atX = once(x, 'notice');
    y.emit('to', 'r', 'notice', 'from default', Buffer.from([3]));
    const [t2, b2] = await atX;
    assert.equal(t2, 'from default');
    assert.deepEqual([...b2], [3]);
  } finally {
    assert.equal(await packed.stop(), 0);
    assert.equal(await other.stop(), 0);
    await stopHelper(redis.proc);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
