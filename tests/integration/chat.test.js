// The seed's chat and the feature tour with the real socket.io-client 4.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
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

const TRANSPORTS = [['polling', 'websocket'], ['websocket'], ['polling']];

// Connected clients, the i-th with TRANSPORTS[i % 3]; each records the `serverMsg`s it gets.
async function clients(server, n, nsp = '/', opts = {}) {
  const list = [];
  for (let i = 0; i < n; i++) {
    const s = io(server.url + nsp, { forceNew: true, transports: TRANSPORTS[i % 3], ...opts });
    s.got = [];
    s.on('serverMsg', (m) => s.got.push(m));
    list.push(s);
  }
  await Promise.all(list.map((s) => (s.connected ? null : once(s, 'connect', 10000))));
  return list;
}

const closeAll = (list) => list.forEach((s) => s.close());

test('three clients chat through sioc and nobody gets their own message', async () => {
  const [a, b, c] = await clients(sioc, 3);
  a.emit('msg', 'hello from a');
  b.emit('msg', 'hello from b');
  c.emit('msg', 'hello from c');
  await until(() => a.got.length === 2 && b.got.length === 2 && c.got.length === 2, 5000, 'relays');
  await sleep(100); // nothing more arrives
  assert.deepEqual(a.got.sort(), ['hello from b', 'hello from c']);
  assert.deepEqual(b.got.sort(), ['hello from a', 'hello from c']);
  assert.deepEqual(c.got.sort(), ['hello from a', 'hello from b']);
  closeAll([a, b, c]);
});

test('Chinese text, emoji and a 500 KB string cross byte-exact', async () => {
  const [a, b, c] = await clients(sioc, 3);
  const texts = ['服务器已断开，请检查网络....', '👩‍👩‍👧‍👦 🌍 🚀', 'x\u0000y\u2028z', '字'.repeat(170 * 1024)];
  for (const t of texts) a.emit('msg', t);
  await until(() => b.got.length === texts.length && c.got.length === texts.length, 10000, 'relays');
  assert.deepEqual(b.got, texts);
  assert.deepEqual(c.got, texts);
  assert.equal(Buffer.byteLength(texts[3]), 522240);
  closeAll([a, b, c]);
});

test('200 concurrent clients each send one message and each gets exactly the other 199', async () => {
  const list = await clients(sioc, 200);
  list.forEach((s, i) => s.emit('msg', `m${i}`));
  await until(() => list.every((s) => s.got.length >= 199), 30000, 'all relays');
  await sleep(200);
  list.forEach((s, i) => {
    assert.equal(s.got.length, 199, `client ${i}`);
    const expected = list.map((_, k) => `m${k}`).filter((m) => m !== `m${i}`);
    assert.deepEqual([...s.got].sort(), expected.sort());
  });
  closeAll(list);
});

test('acks carry mixed argument types back unchanged', async () => {
  const [s] = await clients(tour, 1);
  const args = ['str', 42, -1.5, true, false, null, { a: [1, { b: 'c' }] }, [], '字🌍'];
  const reply = await s.timeout(5000).emitWithAck('echo', ...args);
  assert.deepEqual(reply, args[0]);
  const all = await new Promise((resolve) => s.emit('echo', ...args, (...r) => resolve(r)));
  assert.deepEqual(all, args);
  closeAll([s]);
});

test('echo without an ack emits the args back, binary included, on every transport', async () => {
  const list = await clients(tour, 3);
  for (const s of list) {
    const payload = ['text', Buffer.from([0, 1, 255]), { nested: [Buffer.from('abc')] }];
    const got = once(s, 'echo');
    s.emit('echo', ...payload);
    const [text, bin, obj] = await new Promise((resolve) => s.once('echo', (...a) => resolve(a)));
    await got;
    assert.equal(text, 'text');
    assert.deepEqual(Buffer.from(bin), Buffer.from([0, 1, 255]));
    assert.deepEqual(Buffer.from(obj.nested[0]), Buffer.from('abc'));
    const acked = await s.timeout(5000).emitWithAck('echo', Buffer.from([9, 9]));
    assert.deepEqual(Buffer.from(acked), Buffer.from([9, 9]));
  }
  closeAll(list);
});

test('namespaces / and /chat are kept apart', async () => {
  const root = await clients(tour, 2, '/');
  const chat = await clients(tour, 2, '/chat');
  root[0].emit('msg', 'to root');
  chat[0].emit('msg', 'to chat');
  await until(() => root[1].got.length === 1 && chat[1].got.length === 1, 5000, 'relays');
  await sleep(100);
  assert.deepEqual(root[1].got, ['to root']);
  assert.deepEqual(chat[1].got, ['to chat']);
  assert.deepEqual(root[0].got, []);
  assert.deepEqual(chat[0].got, []);
  closeAll([...root, ...chat]);
});

test('one connection multiplexes / and /chat', async () => {
  const root = io(tour.url, { forceNew: true });
  const chat = root.io.socket('/chat');
  chat.connect();
  await Promise.all([once(root, 'connect'), once(chat, 'connect')]);
  assert.notEqual(root.id, chat.id);
  assert.deepEqual(await chat.timeout(3000).emitWithAck('echo', 'c'), 'c');
  assert.deepEqual(await root.timeout(3000).emitWithAck('echo', 'r'), 'r');
  chat.close();
  root.close(); // the manager closes with its last socket
});

test('join, leave, to and all', async () => {
  const [a, b, c] = await clients(tour, 3);
  const seen = { a: [], b: [], c: [] };
  for (const [n, s] of Object.entries({ a, b, c })) s.on('news', (...x) => seen[n].push(x));
  assert.equal(await a.timeout(3000).emitWithAck('join', 'room1'), true);
  assert.equal(await b.timeout(3000).emitWithAck('join', 'room1'), true);
  a.emit('to', 'room1', 'news', 'for room1', 1);
  await until(() => seen.b.length === 1, 3000, 'room message');
  await sleep(100);
  assert.deepEqual(seen, { a: [], b: [['for room1', 1]], c: [] });
  assert.equal(await b.timeout(3000).emitWithAck('leave', 'room1'), true);
  c.emit('to', 'room1', 'news', 'again');
  await until(() => seen.a.length === 1, 3000, 'room message');
  await sleep(100);
  assert.equal(seen.b.length, 1);
  c.emit('all', 'news', 'everyone');
  await until(() => seen.a.length === 2 && seen.b.length === 2 && seen.c.length === 1, 3000, 'all');
  closeAll([a, b, c]);
});

test('an unknown namespace gets connect_error Invalid namespace', async () => {
  const s = io(tour.url + '/nope', { forceNew: true });
  const err = await once(s, 'connect_error');
  assert.equal(err.message, 'Invalid namespace');
  s.close();
});

test('a disconnecting client leaves the others chatting', async () => {
  const [a, b, c] = await clients(sioc, 3);
  a.disconnect();
  await sleep(50);
  b.emit('msg', 'still here');
  await until(() => c.got.length === 1, 3000, 'relay');
  await sleep(50);
  assert.deepEqual(a.got, []);
  closeAll([b, c]);
});
