// The seed's second page: plain WebSocket clients (npm `ws`) on the same events as socket.io
// clients, against sioc and feature-tour.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const { io } = require('socket.io-client');
const { startServer, once, until, sleep, bin } = require('./lib');

let sioc;
let tour;
before(async () => {
  sioc = await startServer(bin('SIOC_BIN'));
  tour = await startServer(bin('FEATURE_TOUR'));
});
after(async () => {
  assert.equal(await sioc.stop(), 0, 'clean exit (no sanitizer report)');
  assert.equal(await tour.stop(), 0, 'clean exit (no sanitizer report)');
});

// A plain WebSocket on `path`, its frames parsed as JSON into `got`.
async function plain(server, path = '/') {
  const ws = new WebSocket(`ws://localhost:${server.port}${path}`);
  ws.got = [];
  ws.on('message', (m, isBinary) => ws.got.push(isBinary ? m : JSON.parse(String(m))));
  await once(ws, 'open');
  ws.emit2 = (name, ...data) => ws.send(JSON.stringify({ name, data }));
  return ws;
}

test('a plain frame reaches the msg handler and relays reach plain and socket.io clients', async () => {
  const sio = io(sioc.url, { forceNew: true });
  await once(sio, 'connect');
  const got = [];
  sio.on('serverMsg', (m) => got.push(m));
  const a = await plain(sioc);
  const b = await plain(sioc, '/any/path');
  a.emit2('msg', 12, 5); // the seed's native page sends exactly this
  await until(() => got.length === 1 && b.got.length === 1, 3000, 'relays');
  assert.deepEqual(got, [12]);
  assert.deepEqual(b.got, [{ name: 'serverMsg', data: [12] }]);
  sio.emit('msg', '来自 socket.io');
  await until(() => a.got.length === 1 && b.got.length === 2, 3000, 'relays to plain');
  assert.deepEqual(a.got, [{ name: 'serverMsg', data: ['来自 socket.io'] }]);
  await sleep(50);
  assert.equal(a.got.length, 1, 'the sender does not get its own message');
  [a, b].forEach((w) => w.close());
  sio.close();
});

test('a frame with an id is acked as {"id", "data"}', async () => {
  const w = await plain(tour);
  w.send(JSON.stringify({ name: 'echo', data: ['x', { y: [1, true] }], id: 7 }));
  w.send(JSON.stringify({ name: 'join', data: ['room-p'], id: 8 }));
  await until(() => w.got.length === 2, 3000, 'acks');
  assert.deepEqual(w.got, [{ id: 7, data: ['x', { y: [1, true] }] }, { id: 8, data: [true] }]);
  w.close();
});

test('rooms, broadcasts and all-but-the-sender include plain sockets', async () => {
  const w = await plain(tour);
  w.send(JSON.stringify({ name: 'join', data: ['mixed'], id: 1 }));
  await until(() => w.got.length === 1, 3000, 'join ack');
  const s = io(tour.url, { forceNew: true });
  await once(s, 'connect');
  await s.timeout(2000).emitWithAck('join', 'mixed');
  const seen = [];
  s.on('news', (...a) => seen.push(a));
  s.emit('to', 'mixed', 'news', 'to the room', 2);
  s.emit('all', 'news', 'to all');
  s.emit('echo', Buffer.from([1, 2, 3])); // not to the plain socket: echo goes to the sender
  await until(() => w.got.length === 3, 3000, 'room and namespace broadcasts');
  assert.deepEqual(w.got.slice(1), [{ name: 'news', data: ['to the room', 2] }, { name: 'news', data: ['to all'] }]);
  // "all" includes its sender; "to" a room does not.
  await until(() => seen.length === 1, 3000, 'the sender\'s own broadcast');
  w.emit2('to', 'mixed', 'news', 'from plain');
  await until(() => seen.length === 2, 3000, 'plain to socket.io');
  assert.deepEqual(seen, [['to all'], ['from plain']]);
  w.emit2('all', 'bin', 'ignored');
  s.emit('all', 'bytes', Buffer.from('hi'));
  await until(() => w.got.some((f) => f.name === 'bytes'), 3000, 'binary as base64');
  assert.deepEqual(w.got.find((f) => f.name === 'bytes'), { name: 'bytes', data: ['aGk='] });
  w.close();
  s.close();
});

test('frames that are not such JSON are answered with an error frame and ignored', async () => {
  const w = await plain(tour);
  const bad = ['not json', '[1,2]', '{"data":[1]}', '{"name":5}', '{"name":"echo","data":"x"}',
    '{"name":"echo","id":"7"}', '{"name":"disconnect"}', '42["msg","x"]'];
  for (const f of bad) w.send(f);
  w.send(Buffer.from([1, 2, 3]));
  await until(() => w.got.length === bad.length + 1, 3000, 'error frames');
  for (const f of w.got) {
    assert.equal(f.name, 'error');
    assert.equal(f.data.length, 1);
    assert.equal(typeof f.data[0], 'string');
  }
  w.send(JSON.stringify({ name: 'echo', data: [1], id: 1 }));
  await until(() => w.got.length === bad.length + 2, 3000, 'still served');
  assert.deepEqual(w.got.at(-1), { id: 1, data: [1] });
  w.close();
});

test('an oversize frame closes with 1009 while others carry on', async () => {
  const w = await plain(tour);
  const other = await plain(tour);
  w.send(JSON.stringify({ name: 'echo', data: ['z'.repeat(1000001)] }));
  const [code] = await once(w, 'close', 3000);
  assert.equal(code, 1009);
  other.send(JSON.stringify({ name: 'echo', data: [1], id: 2 }));
  await until(() => other.got.length === 1, 3000, 'the other one');
  other.close();
});

test('a server-side disconnect closes the plain WebSocket', async () => {
  const w = await plain(tour);
  w.send(JSON.stringify({ name: 'join', data: ['kickme'], id: 1 }));
  await until(() => w.got.length === 1, 3000, 'join');
  const s = io(tour.url, { forceNew: true });
  await once(s, 'connect');
  const closed = once(w, 'close', 3000);
  await s.timeout(2000).emitWithAck('kick', 'kickme', false);
  await closed;
  s.close();
});

test('plain clients get WebSocket pings: one that answers stays, one that stops is closed', async () => {
  const quick = await startServer(bin('SIOC_BIN'), ['--ping-interval', '300', '--ping-timeout', '200']);
  try {
    const answers = await plain(quick);
    let pinged = 0;
    answers.on('ping', () => pinged++);
    const silent = new WebSocket(`ws://localhost:${quick.port}/`, { autoPong: false });
    silent.on('error', () => {});
    await once(silent, 'open');
    const closed = once(silent, 'close', 3000);
    const t0 = Date.now();
    await closed; // no PONG within pingInterval + pingTimeout
    const waited = Date.now() - t0;
    assert.ok(waited >= 400 && waited < 1500, `closed after ${waited} ms`);
    await sleep(700);
    assert.equal(answers.readyState, WebSocket.OPEN, 'the one that answers is still there');
    assert.ok(pinged >= 3, `${pinged} pings`);
    answers.close();
  } finally {
    assert.equal(await quick.stop(), 0);
  }
});
