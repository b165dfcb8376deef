// The sharded Redis adapter (Redis 7's SPUBLISH/SSUBSCRIBE, Node's ClusterAdapter messages) in a
// mixed cluster through a real redis-server: two sioc nodes (--redis-adapter sharded) and a Node
// node (socket.io 4.8 + createShardedAdapter of @socket.io/redis-adapter 8.3.0), in the default
// "dynamic" subscription mode (a channel per room). Chat, a room (its own channel), binary,
// fetchSockets, serverSideEmit with acks, broadcasts with acks, socketsJoin and disconnectSockets,
// in both directions; then a pair in "static" mode.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { io } = require('socket.io-client');
const { createClient } = require('redis');
const { startServer, once, until, sleep, bin, freePort, startProcess, stopHelper, startRedis } = require('./lib');
const { ackOf, requestsCross, joinsAndKicksCross } = require('./cluster_checks');

let dir, redis, redisUrl, a, b, peer, peerPort;
const clients = [];
function client(port, opts = {}) {
  const c = io(`http://localhost:${port}`, { transports: ['websocket'], reconnection: false, ...opts });
  clients.push(c);
  return c;
}
const connected = (...cs) => Promise.all(cs.map((c) => (c.connected ? null : once(c, 'connect'))));
function closeAll() {
  for (const c of clients.splice(0)) c.close();
}
const sharded = (mode) => ['--redis-adapter', 'sharded', '--redis-subscription-mode', mode];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sioc-sharded-'));
  const started = await startRedis(dir);
  redis = started.proc;
  redisUrl = `redis://127.0.0.1:${started.port}`;
  a = await startServer(bin('FEATURE_TOUR'), ['--redis', redisUrl, ...sharded('dynamic'), '--log-level', 'info', '--name', 'sioc-a']);
  b = await startServer(bin('FEATURE_TOUR'), ['--redis', redisUrl, ...sharded('dynamic'), '--name', 'sioc-b']);
  peerPort = await freePort();
  peer = await startProcess('node', [path.join(__dirname, 'node_peer.js'), String(peerPort), redisUrl, 'sharded:dynamic'], /listening on port/);
  await until(() => /redis: connected/.test(a.log()), 5000, 'sioc connected to Redis');
});

after(async () => {
  closeAll();
  assert.equal(await a.stop(), 0, 'clean exit (no sanitizer report)');
  assert.equal(await b.stop(), 0, 'clean exit (no sanitizer report)');
  await stopHelper(peer);
  await stopHelper(redis);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('each node subscribes to the namespace channel once: SHARDNUMSUB counts three', async () => {
  const r = createClient({ url: redisUrl });
  await r.connect();
  try {
    const counts = await r.sendCommand(['PUBSUB', 'SHARDNUMSUB', 'socket.io#/#']);
    assert.deepEqual(counts, ['socket.io#/#', 3]);
  } finally {
    await r.quit();
  }
});

test('sioc and Node nodes chat through sharded pub/sub, every message once, binary included', async () => {
  closeAll();
  const cs = [client(a.port), client(b.port), client(peerPort)];
  await connected(...cs);
  await sleep(100);
  const heard = cs.map(() => []);
  cs.forEach((c, i) => c.on('serverMsg', (m) => heard[i].push(Buffer.isBuffer(m) ? [...m].join() : m)));
  cs.forEach((c, i) => c.emit('msg', `m${i}`));
  cs[2].emit('msg', Buffer.from([1, 2, 255]));
  await until(() => heard[0].length === 3 && heard[1].length === 3 && heard[2].length === 2, 5000, 'every message');
  await sleep(200);
  assert.deepEqual(heard[0].sort(), ['1,2,255', 'm1', 'm2']);
  assert.deepEqual(heard[1].sort(), ['1,2,255', 'm0', 'm2']);
  assert.deepEqual(heard[2].sort(), ['m0', 'm1']);
});

test('a room has its own channel; a broadcast to it reaches its members on every node, only them', async () => {
  closeAll();
  const inA = client(a.port), inNode = client(peerPort), outside = client(b.port), sender = client(b.port);
  await connected(inA, inNode, outside, sender);
  assert.equal(await inA.timeout(2000).emitWithAck('join', 'news'), true);
  assert.equal(await inNode.timeout(2000).emitWithAck('join', 'news'), true);
  await sleep(100);
  const r = createClient({ url: redisUrl });
  await r.connect();
  try { // sioc-a and the Node node listen to the room's channel; sioc-b, without members, does not
    assert.deepEqual(await r.sendCommand(['PUBSUB', 'SHARDNUMSUB', 'socket.io#/#news#']), ['socket.io#/#news#', 2]);
  } finally {
    await r.quit();
  }
  const stray = [];
  outside.on('news', (m) => stray.push(m));
  sender.emit('to', 'news', 'news', 'from sioc-b');
  assert.deepEqual(await Promise.all([once(inA, 'news'), once(inNode, 'news')]), ['from sioc-b', 'from sioc-b']);
  inNode.emit('to', 'news', 'news', Buffer.from([7]));
  assert.deepEqual([...(await once(inA, 'news'))], [7]);
  await sleep(200);
  assert.deepEqual(stray, []);
});

test('fetchSockets, serverSideEmit with acks and broadcasts with acks cross in both directions', async () => {
  closeAll();
  const s = client(a.port), t = client(b.port), n = client(peerPort);
  await connected(s, t, n);
  await requestsCross(s, t, n);
});

test('socketsJoin and disconnectSockets from either side act on every node', async () => {
  closeAll();
  const s = client(a.port), n = client(peerPort), kicker = client(b.port);
  await connected(s, n, kicker);
  await joinsAndKicksCross(s, n, kicker);
});

test('static mode: no room channels, and a pair of nodes still chats and answers', async () => {
  closeAll();
  const x = await startServer(bin('FEATURE_TOUR'), ['--redis', redisUrl, '--redis-key', 'st', ...sharded('static')]);
  const y = await startServer(bin('FEATURE_TOUR'), ['--redis', redisUrl, '--redis-key', 'st', ...sharded('static')]);
  try {
    const p = client(x.port), q = client(y.port);
    await connected(p, q);
    assert.equal(await p.timeout(2000).emitWithAck('join', 'room'), true);
    await sleep(100);
    q.emit('to', 'room', 'news', 'static');
    assert.equal(await once(p, 'news'), 'static');
    const r = createClient({ url: redisUrl });
    await r.connect();
    try {
      assert.deepEqual(await r.sendCommand(['PUBSUB', 'SHARDNUMSUB', 'st#/#room#']), ['st#/#room#', 0]);
    } finally {
      await r.quit();
    }
    const [listed] = await ackOf(q, 'fetch', null);
    assert.deepEqual(listed.map((z) => z.id).sort(), [p.id, q.id].sort());
  } finally {
    closeAll();
    assert.equal(await x.stop(), 0);
    assert.equal(await y.stop(), 0);
  }
});

test('garbage on the sharded channels is dropped and said once; the nodes carry on', async () => {
  closeAll();
  const r = createClient({ url: redisUrl });
  await r.connect();
  try {
    for (const junk of ['not json', '{"uid":1}', '\x93\x01']) {
      await r.sendCommand(['SPUBLISH', 'socket.io#/#', junk]);
    }
  } finally {
    await r.quit();
  }
  await sleep(200);
  assert.equal((a.log().match(/socket\.io#\/#: a message dropped/g) || []).length, 1, 'said once');
  const x = client(a.port), y = client(peerPort);
  await connected(x, y);
  await sleep(100);
  x.emit('msg', 'still here');
  assert.equal(await once(y, 'serverMsg'), 'still here');
});

test('--redis-subscription-mode without the sharded adapter is refused clearly', async () => {
  const { spawn } = require('node:child_process');
  const proc = spawn(bin('FEATURE_TOUR'), ['--port', '0', '--redis', redisUrl, '--redis-subscription-mode', 'static'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  const [code] = await once(proc, 'exit');
  assert.equal(code, 2);
  assert.match(log, /--redis-subscription-mode is the sharded adapter's/);
});
