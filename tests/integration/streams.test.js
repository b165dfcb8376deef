// The Redis Streams adapter in a mixed cluster through a real redis-server: sioc nodes
// (--redis-adapter streams) beside a Node node (socket.io 4.8 + @socket.io/redis-streams-adapter
// 0.3.1), connection state recovery on everywhere (maxDisconnectionDuration 2 min). Chat, rooms,
// binary, fetchSockets, serverSideEmit and broadcasts with acks, socketsJoin and
// disconnectSockets in both directions; the sessions sioc keeps current in Redis; and failover
// without loss behind Debian's haproxy: a client of a node killed with SIGKILL comes back through
// haproxy on another node (sioc, or Node) with its id, rooms and data and every broadcast it
// missed, in order, exactly once; then the same across a Redis restart.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { io } = require('socket.io-client');
const { decode } = require('@msgpack/msgpack');
const { createClient } = require('redis');
const { startServer, once, until, sleep, bin, freePort, startProcess, stopHelper, startRedis } = require('./lib');
const { ackOf, requestsCross, joinsAndKicksCross } = require('./cluster_checks');

const RECOVERY_MS = 120000;
let dir, redis, redisPort, redisUrl, a, b, peer, peerPort, r;
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
const streamsArgs = () => ['--redis', redisUrl, '--redis-adapter', 'streams', '--max-disconnection-duration', String(RECOVERY_MS)];
const startSioc = (name) => startServer(bin('FEATURE_TOUR'), [...streamsArgs(), '--log-level', 'info', '--name', name]);
const startPeer = async () => {
  const port = await freePort();
  const proc = await startProcess('node', [path.join(__dirname, 'node_peer.js'), String(port), redisUrl, `streams:${RECOVERY_MS}`], /listening on port/);
  return { port, proc };
};
const session = async (pid) => {
  const raw = await r.get(`sio:session:${pid}`);
  return raw && decode(Buffer.from(raw, 'base64'));
};

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sioc-streams-'));
  const started = await startRedis(dir);
  redis = started.proc;
  redisPort = started.port;
  redisUrl = `redis://127.0.0.1:${redisPort}`;
  a = await startSioc('sioc-a');
  b = await startSioc('sioc-b');
  ({ port: peerPort, proc: peer } = await startPeer());
  r = createClient({ url: redisUrl });
  r.on('error', () => {});
  await r.connect();
  await until(() => /redis: connected/.test(a.log()) && /redis: connected/.test(b.log()), 5000, 'sioc connected to Redis');
});

after(async () => {
  closeAll();
  await r.quit().catch(() => {});
  assert.equal(await a.stop(), 0, 'clean exit (no sanitizer report)');
  assert.equal(await b.stop(), 0, 'clean exit (no sanitizer report)');
  await stopHelper(peer);
  await stopHelper(redis);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('every node subscribes to the namespace channel once: NUMSUB counts three', async () => {
  assert.deepEqual(await r.sendCommand(['PUBSUB', 'NUMSUB', 'socket.io#/#']), ['socket.io#/#', 3]);
});

test('sioc and Node nodes chat through the stream, every message once, binary included; entries as Node writes them', async () => {
  closeAll();
  const cs = [client(a.port), client(b.port), client(peerPort)];
  await connected(...cs);
  await sleep(100);
  const heard = cs.map(() => []);
  // With recovery on, each broadcast ends with its offset: the stream entry's id.
  const offsets = [];
  cs.forEach((c, i) => c.on('serverMsg', (m, offset) => {
    heard[i].push(Buffer.isBuffer(m) ? [...m].join() : m);
    offsets.push(offset);
  }));
  cs.forEach((c, i) => c.emit('msg', `m${i}`));
  cs[2].emit('msg', Buffer.from([1, 2, 255]));
  cs[0].emit('msg', Buffer.from([3]));
  await until(() => heard[0].length === 3 && heard[1].length === 4 && heard[2].length === 3, 5000, 'every message');
  await sleep(200);
  assert.deepEqual(heard[0].sort(), ['1,2,255', 'm1', 'm2']);
  assert.deepEqual(heard[1].sort(), ['1,2,255', '3', 'm0', 'm2']);
  assert.deepEqual(heard[2].sort(), ['3', 'm0', 'm1']);
  for (const o of offsets) assert.match(o, /^[0-9]+-[0-9]+$/);
  const entries = await r.xRange('socket.io', '-', '+');
  const byId = new Map(entries.map((e) => [e.id, e.message]));
  const fromSioc = entries.filter((e) => e.message.type === '3' && e.message.data.startsWith('{') && /"m0"/.test(e.message.data));
  assert.equal(fromSioc.length, 1);
  assert.deepEqual(Object.keys(fromSioc[0].message).sort(), ['data', 'nsp', 'type', 'uid']);
  assert.match(fromSioc[0].message.uid, /^[0-9a-f]{16}$/);
  assert.equal(fromSioc[0].message.nsp, '/');
  const binary = entries.find((e) => !e.message.data.startsWith('{') && e.message.type === '3' &&
    decode(Buffer.from(e.message.data, 'base64')).packet.data[1].length === 1);
  assert.ok(binary, 'sioc wrote its binary broadcast as base64 of msgpack');
  assert.deepEqual([...decode(Buffer.from(binary.message.data, 'base64')).packet.data[1]], [3]);
  for (const o of offsets) assert.ok(byId.has(o), `offset ${o} is an entry`);
});

test('a room reaches its members on every node, only them', async () => {
  closeAll();
  const inA = client(a.port), inNode = client(peerPort), outside = client(b.port), sender = client(b.port);
  await connected(inA, inNode, outside, sender);
  assert.equal(await inA.timeout(2000).emitWithAck('join', 'news'), true);
  assert.equal(await inNode.timeout(2000).emitWithAck('join', 'news'), true);
  const stray = [];
  outside.on('news', (m) => stray.push(m));
  sender.emit('to', 'news', 'news', 'from sioc-b');
  assert.deepEqual((await Promise.all([once(inA, 'news'), once(inNode, 'news')])).map((x) => x[0]), ['from sioc-b', 'from sioc-b']);
  inNode.emit('to', 'news', 'news', Buffer.from([7]));
  assert.deepEqual([...(await once(inA, 'news'))[0]], [7]);
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

test('a connected socket\'s session is in Redis, current, in the format Node reads; it goes when the client leaves', async () => {
  closeAll();
  const c = client(a.port);
  await connected(c);
  await sleep(100);
  let s = await session(c._pid);
  assert.deepEqual(s, { sid: c.id, pid: c._pid, rooms: [c.id], data: {} });
  const ttl = await r.pTTL(`sio:session:${c._pid}`);
  assert.ok(ttl > RECOVERY_MS && ttl <= RECOVERY_MS + 60000, `a live record outlasts maxDisconnectionDuration (${ttl})`);
  assert.equal(await c.timeout(2000).emitWithAck('join', 'blue'), true);
  assert.equal(await c.timeout(2000).emitWithAck('set-data', 'team', 'red'), true);
  await sleep(100);
  s = await session(c._pid);
  assert.deepEqual(s.rooms.sort(), [c.id, 'blue'].sort());
  assert.deepEqual(s.data, { team: 'red' });
  c.disconnect(); // the client's choice: nothing to recover
  await sleep(200);
  assert.equal(await r.exists(`sio:session:${c._pid}`), 0);
});

test('a transport close leaves the record for exactly maxDisconnectionDuration', async () => {
  closeAll();
  const c = client(a.port);
  await connected(c);
  const pid = c._pid;
  c.io.engine.close(); // as a lost connection: recoverable
  await sleep(300);
  const ttl = await r.pTTL(`sio:session:${pid}`);
  assert.ok(ttl > RECOVERY_MS - 5000 && ttl <= RECOVERY_MS, `the record's expiry (${ttl})`);
});

test('a session taken back elsewhere is not written again by its old node', async () => {
  closeAll();
  const c = client(a.port);
  await connected(c);
  await sleep(100);
  const key = `sio:session:${c._pid}`;
  assert.ok(await r.getDel(key), 'the record was there'); // as another node's restore does
  assert.equal(await c.timeout(2000).emitWithAck('join', 'after'), true);
  await sleep(200);
  assert.equal(await r.exists(key), 0, 'the old node\'s change did not write it back');
  await until(() => /was taken back elsewhere/.test(a.log()), 2000, 'said in the log');
});

test('useShardedPubSub: requests and answers over SPUBLISH, both directions', async () => {
  closeAll();
  const args = ['--redis', redisUrl, '--redis-adapter', 'streams', '--redis-sharded-pubsub', '--redis-stream-name', 'sh'];
  const x = await startServer(bin('FEATURE_TOUR'), [...args, '--log-level', 'info', '--name', 'sioc-x']);
  const port = await freePort();
  const np = await startProcess('node', [path.join(__dirname, 'node_peer.js'), String(port), redisUrl, 'streams-sharded'], /listening on port/);
  try {
    await until(() => /redis: connected/.test(x.log()), 5000, 'connected');
    let count;
    for (let i = 0; i < 50 && (count = (await r.sendCommand(['PUBSUB', 'SHARDNUMSUB', 'socket.io#/#']))[1]) !== 2; i++) {
      await sleep(100); // both nodes subscribe once connected
    }
    assert.equal(count, 2);
    const s = client(x.port), n = client(port);
    await connected(s, n);
    const [fromSioc] = await ackOf(s, 'fetch', null);
    assert.deepEqual(fromSioc.map((v) => v.id).sort(), [s.id, n.id].sort());
    const [err, answers] = await ackOf(n, 'sse', 1);
    assert.equal(err, null);
    assert.deepEqual(answers, [{ node: 'sioc-x', got: 1 }]);
    const heard = once(n, 'serverMsg');
    s.emit('msg', 'through stream "sh"');
    assert.equal(await heard, 'through stream "sh"'); // no recovery on these nodes: no offset
    assert.ok((await r.xLen('sh')) > 0);
  } finally {
    closeAll();
    assert.equal(await x.stop(), 0, 'clean exit (no sanitizer report)');
    await stopHelper(np);
  }
});

// ---- failover without loss, behind haproxy ----

const accepts = (port) =>
  new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });

// `primary` takes every client while it is up; `backup` once haproxy has seen it die.
async function startHaproxy(primary, backup) {
  const port = await freePort();
  const cfg = path.join(dir, `haproxy-${port}.cfg`);
  fs.writeFileSync(cfg, `
defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout tunnel 1h
  retries 3
  option redispatch

frontend socketio
  bind 127.0.0.1:${port}
  default_backend nodes

backend nodes
  option httpchk GET /socket.io/?EIO=4&transport=polling
  server primary 127.0.0.1:${primary} check inter 200ms fall 1 rise 1
  server backup 127.0.0.1:${backup} check inter 200ms backup
`);
  const proc = spawn('haproxy', ['-f', cfg, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  proc.on('exit', (code) => { if (code) console.error(`haproxy exited with ${code}: ${log}`); });
  for (let i = 0; !(await accepts(port)); i++) {
    if (i === 50) throw new Error(`haproxy not listening: ${log}`);
    await sleep(100);
  }
  await sleep(500); // both servers seen up
  return { port, proc };
}

// A client through haproxy (on `victim`) in room "feed" with data, hearing numbers a producer on
// the node at `producerPort` sends the room every 5 ms; `victim` is killed with SIGKILL while they
// flow, and the client must come back through haproxy on the producer's node; then `check(c)`.
// With `pauseWhileRestoring`, the producer stops from the moment the client has reconnected
// until it is back in its rooms: Node's adapter has a window there (between its last XRANGE and
// the socket joining its rooms, a broadcast reaches neither), which sioc's has not.
async function failover(victim, producerPort, check, pauseWhileRestoring = false) {
  const ha = await startHaproxy(victim.port, producerPort);
  let timer;
  try {
    const c = client(ha.port, { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 300 });
    await connected(c);
    const firstId = c.id;
    assert.equal(await c.timeout(2000).emitWithAck('join', 'feed'), true);
    assert.equal(await c.timeout(2000).emitWithAck('set-data', 'who', 'me'), true);
    const got = [];
    c.on('num', (n) => got.push(n));
    const producer = client(producerPort);
    await connected(producer);
    await sleep(200);
    let sent = 0;
    let paused = false;
    timer = setInterval(() => paused || producer.emit('to', 'feed', 'num', sent++), 5);
    await until(() => got.length >= 50, 5000, 'numbers before the kill');
    victim.proc.kill('SIGKILL');
    await once(c, 'disconnect');
    if (pauseWhileRestoring) {
      c.io.once('open', () => { paused = true; }); // the Engine.IO connection, before the CONNECT
      await once(c, 'connect', 10000);
      await sleep(100);
      paused = false;
    } else {
      await once(c, 'connect', 10000);
    }
    const recovered = c.recovered;
    await sleep(300);
    clearInterval(timer);
    await until(() => got.length >= sent, 5000, 'every number').catch(() => {});
    await sleep(200);
    assert.equal(recovered, true, 'recovered');
    assert.equal(c.id, firstId, 'the same socket id');
    assert.deepEqual(got, [...Array(sent).keys()], `every number once, in order (sent ${sent}, got ${got.length})`);
    await check(c);
  } finally {
    clearInterval(timer);
    await stopHelper(ha.proc);
    await stopHelper(victim.proc);
  }
}

test('failover: node A killed outright, its client comes back on sioc B with everything it missed', async () => {
  closeAll();
  const victim = await startSioc('sioc-victim');
  await until(() => /redis: connected/.test(victim.log()), 5000, 'victim connected');
  await failover(victim, b.port, async (c) => {
    const [data, recovered] = await ackOf(c, 'get-data');
    assert.deepEqual(data, { who: 'me' });
    assert.equal(recovered, true);
    assert.deepEqual((await c.timeout(2000).emitWithAck('rooms')).sort(), [c.id, 'feed'].sort());
  });
});

test('failover: the same client recovered by a Node node', async () => {
  closeAll();
  const victim = await startSioc('sioc-victim-2');
  await until(() => /redis: connected/.test(victim.log()), 5000, 'victim connected');
  await failover(victim, peerPort, async (c) => {
    const me = await c.timeout(2000).emitWithAck('whoami');
    assert.equal(me.recovered, true);
    assert.deepEqual(me.rooms.sort(), [c.id, 'feed'].sort());
    assert.deepEqual(me.data, { who: 'me' });
  }, true);
});

test('Redis restarts mid-stream: no crash, the nodes come back, and what can be recovered is', async () => {
  closeAll();
  const s = client(a.port), t = client(b.port), n = client(peerPort);
  await connected(s, t, n);
  const heard = [];
  s.on('num', (x) => heard.push(x));
  assert.equal(await s.timeout(2000).emitWithAck('join', 'live'), true);
  let sent = 0;
  const timer = setInterval(() => t.emit('to', 'live', 'num', sent++), 5);
  try {
    await sleep(200);
    redis.kill('SIGKILL');
    await sleep(500);
    redis = (await startRedis(dir, redisPort)).proc;
    await until(() => /connected to .* again/.test(a.log()) && /connected to .* again/.test(b.log()), 10000, 'sioc back on Redis');
    await sleep(500);
  } finally {
    clearInterval(timer);
  }
  const before = heard.length;
  assert.ok(before > 0);
  // The cluster works again: a broadcast from each kind of node reaches the others.
  const got = [];
  s.on('serverMsg', (m) => got.push(m));
  await sleep(1000); // the Node node's client reconnects to Redis too
  t.emit('msg', 'from b');
  n.emit('msg', 'from node');
  await until(() => got.length === 2, 5000, 'chat after the restart');
  // The sessions were written again: a client of a node killed now comes back on another.
  const victim = await startSioc('sioc-victim-3');
  await until(() => /redis: connected/.test(victim.log()), 5000, 'victim connected');
  await failover(victim, b.port, async (c) => assert.equal(c.recovered, true));
});
