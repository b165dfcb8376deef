// sioc in a cluster through a real redis-server (Debian's, on a free loopback port): two sioc
// nodes, and a sioc node beside a Node node (socket.io 4.8 + @socket.io/redis-adapter 8.3.0),
// broadcasting to each other's sockets — chat, rooms, namespaces, binary — and asking each other
// (fetchSockets, serverSideEmit with acks, broadcasts with acks, socketsJoin/Leave,
// disconnectSockets, allRooms) in both directions; the @socket.io/redis-emitter publishing to
// sioc's; a subscriber that never answers; Redis killed mid-chat and restarted.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { io } = require('socket.io-client');
const { createClient } = require('redis');
const { Emitter } = require('@socket.io/redis-emitter');
const { startServer, once, until, sleep, bin, freePort, startProcess, stopHelper, startRedis: redisOn } = require('./lib');

let redisPort, redisUrl, redis, dir;
async function startRedis() {
  ({ proc: redis, port: redisPort } = await redisOn(dir, redisPort));
}

let a, b, peer, peerPort;
const clients = [];
function client(port, opts = {}) {
  const c = io(`http://localhost:${port}${opts.nsp || ''}`, { transports: ['websocket'], reconnection: false, ...opts });
  clients.push(c);
  return c;
}
// Every argument of an ack (emitWithAck resolves with the first only).
const ackOf = (c, ...args) =>
  new Promise((resolve, reject) => c.timeout(5000).emit(...args, (err, ...r) => (err ? reject(err) : resolve(r))));
const connected = async (...cs) => Promise.all(cs.map((c) => (c.connected ? null : once(c, 'connect'))));

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sioc-redis-'));
  await startRedis(); // a free port now, the same one when it is started again
  redisUrl = `redis://127.0.0.1:${redisPort}`;
  a = await startServer(bin('FEATURE_TOUR'), ['--redis', redisUrl, '--log-level', 'info', '--name', 'sioc-a']);
  b = await startServer(bin('FEATURE_TOUR'), ['--redis', redisUrl, '--name', 'sioc-b']);
  peerPort = await freePort();
  peer = await startProcess('node', [path.join(__dirname, 'node_peer.js'), String(peerPort), redisUrl], /listening on port/);
  await until(() => /redis: connected/.test(a.log()), 5000, 'sioc connected to Redis');
});

after(async () => {
  for (const c of clients) c.close();
  assert.equal(await a.stop(), 0, 'clean exit (no sanitizer report)');
  assert.equal(await b.stop(), 0, 'clean exit (no sanitizer report)');
  await stopHelper(peer);
  await stopHelper(redis);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('two sioc nodes chat through Redis, the sender hearing nothing back', async () => {
  const x = client(a.port), y = client(b.port);
  await connected(x, y);
  await sleep(100);
  const mine = [];
  x.on('serverMsg', (m) => mine.push(m));
  x.emit('msg', 'from a');
  assert.equal(await once(y, 'serverMsg'), 'from a');
  y.emit('msg', 'from b');
  assert.equal(await once(x, 'serverMsg'), 'from b');
  await sleep(100);
  assert.deepEqual(mine, ['from b'], 'its own message did not come back through Redis');
});

test('a sioc node and a Node node chat both ways, binary included', async () => {
  const s = client(a.port), n = client(peerPort);
  await connected(s, n);
  await sleep(100);
  s.emit('msg', 'sioc to node');
  assert.equal(await once(n, 'serverMsg'), 'sioc to node');
  n.emit('msg', 'node to sioc');
  assert.equal(await once(s, 'serverMsg'), 'node to sioc');
  n.emit('msg', Buffer.from([1, 2, 255]));
  assert.deepEqual([...(await once(s, 'serverMsg'))], [1, 2, 255]);
  s.emit('msg', Buffer.from([9, 8]));
  assert.deepEqual([...(await once(n, 'serverMsg'))], [9, 8]);
});

test('rooms and namespaces cross nodes: only the room, only the namespace', async () => {
  const inRoom = client(a.port), outside = client(a.port), chat = client(a.port, { nsp: '/chat' });
  const n = client(peerPort), nInRoom = client(peerPort);
  await connected(inRoom, outside, chat, n, nInRoom);
  assert.equal(await inRoom.timeout(2000).emitWithAck('join', 'r1'), true);
  assert.equal(await nInRoom.timeout(2000).emitWithAck('join', 'r1'), true);
  const heard = [];
  outside.on('news', (m) => heard.push(`outside ${m}`));
  chat.on('news', (m) => heard.push(`chat ${m}`));
  n.emit('to', 'r1', 'news', 'from node');
  assert.equal(await once(inRoom, 'news'), 'from node');
  inRoom.emit('to', 'r1', 'news', 'from sioc'); // to the room but the sender: the Node client
  assert.equal(await once(nInRoom, 'news'), 'from sioc');
  await sleep(200);
  assert.deepEqual(heard, []);
});

test('a dynamic namespace is subscribed to as it comes to exist, on each node', async () => {
  const x = client(a.port, { nsp: '/dynamic-42' }), y = client(b.port, { nsp: '/dynamic-42' });
  await connected(x, y);
  await sleep(100); // the subscriptions made as the namespaces came to exist
  x.emit('msg', 'dynamic');
  assert.equal(await once(y, 'serverMsg'), 'dynamic');
});

// The clients of earlier tests go: a request to every client waits for each.
function closeAll() {
  for (const c of clients.splice(0)) c.close();
}

test('Node\'s fetchSockets lists sioc\'s sockets, with their rooms', async () => {
  closeAll();
  const s = client(a.port), n = client(peerPort);
  await connected(s, n);
  assert.equal(await s.timeout(2000).emitWithAck('join', 'r7'), true);
  const list = await n.timeout(6000).emitWithAck('fetch-all');
  const mine = list.find((x) => x.id === s.id);
  assert.ok(mine, 'the sioc socket is among them');
  assert.deepEqual(mine.rooms.sort(), [s.id, 'r7'].sort());
  assert.ok(list.find((x) => x.id === n.id), 'and the Node one');
});

test('Node\'s serverSideEmit with acks is answered by each sioc node', async () => {
  closeAll();
  const n = client(peerPort);
  await connected(n);
  const [err, responses] = await new Promise((resolve) => n.timeout(8000).emit('sse', 5, (e, ...r) => resolve(r)));
  assert.equal(err, null);
  assert.deepEqual(responses.sort((x, y) => x.node.localeCompare(y.node)),
    [{ node: 'sioc-a', got: 5 }, { node: 'sioc-b', got: 5 }]);
});

test('Node\'s broadcast with acks collects the answers of sioc\'s clients', async () => {
  closeAll();
  const s1 = client(a.port), s2 = client(b.port), n = client(peerPort);
  await connected(s1, s2, n);
  s1.on('question', (ack) => ack('from s1'));
  s2.on('question', (ack) => ack('from s2'));
  n.on('question', (ack) => ack('from n'));
  const [err, responses] = await new Promise((resolve) => n.timeout(8000).emit('ask-all', 3000, (e, ...r) => resolve(r)));
  assert.equal(err, null);
  assert.deepEqual(responses.sort(), ['from n', 'from s1', 'from s2']);
});

test('Node\'s socketsJoin and disconnectSockets act on sioc\'s sockets; allRooms sees theirs', async () => {
  closeAll();
  const s = client(b.port), n = client(peerPort);
  await connected(s, n);
  assert.equal(await s.timeout(2000).emitWithAck('join', 'r9'), true);
  assert.equal(await n.timeout(2000).emitWithAck('make-join', 'r9', 'r10'), true);
  await sleep(200);
  n.emit('to', 'r10', 'news', 'joined');
  assert.equal(await once(s, 'news'), 'joined');
  const rooms = await n.timeout(6000).emitWithAck('all-rooms');
  assert.ok(rooms.includes('r9') && rooms.includes('r10'), JSON.stringify(rooms));
  n.emit('kick', 'r10');
  const gone = await once(s, 'disconnect');
  assert.equal(Array.isArray(gone) ? gone[0] : gone, 'io server disconnect');
});

test('sioc\'s fetch lists the whole cluster\'s sockets, Node\'s included, by room too', async () => {
  closeAll();
  const s = client(a.port), y = client(b.port), n = client(peerPort);
  await connected(s, y, n);
  assert.equal(await n.timeout(2000).emitWithAck('join', 'f1'), true);
  assert.equal(await y.timeout(2000).emitWithAck('join', 'f1'), true);
  const [all] = await ackOf(s, 'fetch', null);
  const ids = all.map((x) => x.id).sort();
  assert.deepEqual(ids, [s.id, y.id, n.id].sort());
  const remote = all.find((x) => x.id === n.id);
  assert.deepEqual(remote.rooms.sort(), [n.id, 'f1'].sort());
  assert.match(remote.address, /127\.0\.0\.1/);
  const [inRoom] = await ackOf(s, 'fetch', 'f1');
  assert.deepEqual(inRoom.map((x) => x.id).sort(), [y.id, n.id].sort());
});

test('sioc\'s serverSideEmit with acks gets one answer per other node, Node\'s included', async () => {
  const s = client(a.port);
  await connected(s);
  const [err, answers] = await ackOf(s, 'server-emit', 'hello', 7);
  assert.equal(err, null);
  assert.deepEqual(answers.sort((x, y) => x.node.localeCompare(y.node)),
    [{ node: 'node', got: 7 }, { node: 'sioc-b', got: 7 }]);
});

test('sioc\'s broadcast with acks collects every client\'s answer across the cluster', async () => {
  closeAll();
  const s = client(a.port), y = client(b.port), n = client(peerPort);
  await connected(s, y, n);
  s.on('question', (ack) => ack('from s'));
  y.on('question', (ack) => ack('from y'));
  n.on('question', (ack) => ack('from n'));
  s.emit('ask-all', 'question', 3000);
  const [err, answers] = await once(s, 'ask-all-result', 5000);
  assert.equal(err, null);
  assert.deepEqual(answers.sort(), ['from n', 'from s', 'from y']);
});

test('sioc\'s socketsJoin, socketsLeave and disconnectSockets act on every node\'s sockets', async () => {
  closeAll();
  const s = client(a.port), y = client(b.port), n = client(peerPort);
  await connected(s, y, n);
  assert.equal(await y.timeout(2000).emitWithAck('join', 'j1'), true);
  assert.equal(await n.timeout(2000).emitWithAck('join', 'j1'), true);
  assert.equal(await s.timeout(2000).emitWithAck('make-join', 'j1', 'j2'), true);
  await sleep(200);
  const heard = Promise.all([once(y, 'news'), once(n, 'news')]);
  s.emit('to', 'j2', 'news', 'to j2');
  assert.deepEqual(await heard, ['to j2', 'to j2']);
  assert.equal(await s.timeout(2000).emitWithAck('make-leave', 'j1', 'j2'), true);
  await sleep(200);
  let leaked = false;
  y.on('news', () => { leaked = true; });
  n.on('news', () => { leaked = true; });
  s.emit('to', 'j2', 'news', 'nobody');
  await sleep(300);
  assert.equal(leaked, false, 'they left j2');
  const gone = Promise.all([once(y, 'disconnect'), once(n, 'disconnect')]);
  s.emit('kick', 'j1', true);
  assert.deepEqual((await gone).map((r) => (Array.isArray(r) ? r[0] : r)),
    ['io server disconnect', 'io server disconnect']);
  assert.equal(s.connected, true, 'the requester was not in j1');
});

test('each node subscribes once to a namespace\'s request channel (the count Node requesters use)', async () => {
  const probe = createClient({ url: redisUrl });
  await probe.connect();
  try {
    const counts = await probe.pubSubNumSub(['socket.io-request#/#', 'socket.io-request#/chat#']);
    assert.deepEqual({ ...counts }, { 'socket.io-request#/#': 3, 'socket.io-request#/chat#': 3 });
  } finally {
    await probe.quit();
  }
});

test('Node\'s RemoteSocket reaches a sioc socket; Node\'s socketsLeave acts on it', async () => {
  closeAll();
  const s = client(a.port), n = client(peerPort);
  await connected(s, n);
  const poked = once(s, 'poke');
  assert.ok(await n.timeout(6000).emitWithAck('poke-all') >= 2);
  assert.equal(await poked, s.id, 'emitted to its id room, on its node');
  assert.equal(await s.timeout(2000).emitWithAck('join', 'l1'), true);
  assert.equal(await n.timeout(2000).emitWithAck('make-leave', 'l1', 'l1'), true);
  await sleep(200);
  const [rooms] = await ackOf(s, 'rooms');
  assert.deepEqual(rooms, [s.id]);
});

test('in /chat too: sioc\'s fetch and serverSideEmit reach the cluster\'s /chat', async () => {
  closeAll();
  const s = client(a.port, { nsp: '/chat' }), y = client(b.port, { nsp: '/chat' });
  const n = client(peerPort, { nsp: '/chat' }), root = client(b.port);
  await connected(s, y, n, root);
  const [all] = await ackOf(s, 'fetch', null);
  assert.deepEqual(all.map((x) => x.id).sort(), [s.id, y.id, n.id].sort(), 'only /chat\'s sockets');
  const [err, answers] = await ackOf(s, 'server-emit', 'hello', 'chat');
  assert.equal(err, null);
  assert.deepEqual(answers.map((x) => x.node).sort(), ['node', 'sioc-b']);
});

test('a node that never answers: sioc\'s serverSideEmit times out with the answers it got', async () => {
  const silent = createClient({ url: redisUrl });
  await silent.connect();
  await silent.subscribe('socket.io-request#/#', () => {}); // counted by NUMSUB, never answers
  try {
    const s = client(a.port);
    await connected(s);
    const started = Date.now();
    const [err, answers] = await ackOf(s, 'server-emit', 'hello', 1);
    assert.match(err, /time/i);
    assert.ok(Date.now() - started >= 1900, 'waited its 2 s');
    assert.equal(answers.length, 2, 'sioc-b\'s and Node\'s answers kept');
  } finally {
    await silent.quit();
  }
});

test('the redis-emitter reaches sioc sockets: everyone, a room, a namespace', async () => {
  const pub = createClient({ url: redisUrl });
  pub.on('error', () => {}); // Redis is killed in a later test
  await pub.connect();
  const emitter = new Emitter(pub);
  const all = client(b.port), room = client(b.port), chat = client(b.port, { nsp: '/chat' });
  await connected(all, room, chat);
  assert.equal(await room.timeout(2000).emitWithAck('join', 'vip'), true);
  const first = Promise.all([once(all, 'news'), once(room, 'news')]);
  emitter.emit('news', 1);
  assert.deepEqual(await first, [1, 1]);
  const vip = once(room, 'news');
  let leaked = false;
  all.on('news', () => { leaked = true; });
  emitter.to('vip').emit('news', 2);
  assert.equal(await vip, 2);
  emitter.of('/chat').emit('news', Buffer.from([7]));
  assert.deepEqual([...(await once(chat, 'news'))], [7]);
  await sleep(100);
  assert.equal(leaked, false, 'the room broadcast stayed in the room');
  emitter.in('vip').socketsJoin('vip2');
  await sleep(200);
  const vip2 = once(room, 'news');
  emitter.to('vip2').emit('news', 3);
  assert.equal(await vip2, 3);
  const kicked = once(room, 'disconnect');
  emitter.in('vip2').disconnectSockets(true);
  const why = await kicked;
  assert.equal(Array.isArray(why) ? why[0] : why, 'io server disconnect');
  assert.equal(all.connected, true, 'only the room was disconnected');
  await pub.quit();
});

test('garbage on the channels is dropped and said once; the nodes carry on', async () => {
  const pub = createClient({ url: redisUrl });
  await pub.connect();
  try {
    const junk = [Buffer.from([0xc1]), Buffer.from('{"type":'), Buffer.from([0x93, 0xa1, 0x78]),
      Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]), Buffer.from('[]'), Buffer.from([0x91, 0xc0])];
    for (const m of junk) {
      await pub.publish('socket.io#/chat#', m);
      await pub.publish('socket.io-request#/chat#', m);
      await pub.publish('socket.io-request#/chat#', JSON.stringify({ type: 5, requestId: 7, opts: 'x' }));
      await pub.publish('socket.io-request#/chat#', JSON.stringify({ type: 7, requestId: 'r', packet: 1 }));
    }
    const x = client(a.port, { nsp: '/chat' }), y = client(b.port, { nsp: '/chat' });
    await connected(x, y);
    await sleep(100);
    x.emit('msg', 'still here');
    assert.equal(await once(y, 'serverMsg'), 'still here');
    const said = a.log().match(/socket\.io#\/chat#: a message dropped/g) || [];
    assert.equal(said.length, 1, 'said once for the namespace');
  } finally {
    await pub.quit();
  }
});

test('Redis killed mid-chat: local chat goes on, cross-node chat comes back with Redis', async () => {
  const x = client(a.port), x2 = client(a.port), y = client(b.port);
  await connected(x, x2, y);
  redis.kill('SIGKILL');
  await once(redis, 'exit');
  await until(() => /unreachable/.test(a.log()), 5000, 'the loss logged');
  x.emit('msg', 'while down');
  assert.equal(await once(x2, 'serverMsg'), 'while down'); // the same node: no Redis needed
  const asked = Date.now();
  const [none, fetchErr] = await ackOf(x, 'fetch', null);
  assert.deepEqual([none, typeof fetchErr], [[], 'string'], 'the fetch failed');
  const [emitErr, answers] = await ackOf(x, 'server-emit', 'hello', 1);
  assert.equal(typeof emitErr, 'string');
  assert.deepEqual(answers, []);
  assert.ok(Date.now() - asked < 1000, 'at once, not after a timeout');
  await startRedis();
  await until(() => /connected to \S+ again/.test(a.log()) && /connected to \S+ again/.test(b.log()),
    8000, 'both links back');
  await sleep(100); // the subscriptions made again
  x.emit('msg', 'after');
  assert.equal(await once(y, 'serverMsg', 8000), 'after');
  assert.equal((a.log().match(/unreachable/g) || []).length, 1, 'the loss said once');
});

test('the poll event loop is refused with Redis, clearly', async () => {
  const proc = spawn(bin('FEATURE_TOUR'), ['--port', '0', '--event-loop', 'poll', '--redis', redisUrl], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  const [code] = await once(proc, 'exit');
  assert.notEqual(code, 0);
  assert.match(log, /needs the libuv event loop/);
});
