// Worker processes: feature-tour --workers 2, joined by their own link (and, in one case, through
// a real redis-server instead). Both workers listen on the port (SO_REUSEPORT); every HTTP answer
// closes its connection, so each polling request is a new connection the kernel gives to either
// worker, and a request for the other worker's session must be handed to it (the sid's last
// character names the owner). Polling and WebSocket clients chat across the workers, every
// message exactly once; upgrades land where they land; fetch, server-side emit, broadcasts with
// acks, joins and disconnects reach both workers; a worker killed is started again while the
// other's clients carry on, and what asked it does not wait; SIGTERM to the primary stops
// everything with exit 0.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { io } = require('socket.io-client');
const { startServer, once, until, sleep, bin, freePort, stopHelper, startRedis } = require('./lib');

let dir, redis, redisUrl, server;
const clients = [];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sioc-workers-'));
  const started = await startRedis(dir);
  redis = started.proc;
  const redisPort = started.port;
  redisUrl = `redis://127.0.0.1:${redisPort}`;
  server = await startServer(bin('FEATURE_TOUR'), ['--workers', '2', '--log-level', 'info']);
  assert.match(server.log(), /2 workers listening/);
});

after(async () => {
  for (const c of clients) c.close();
  assert.equal(await server.stop(), 0, 'the primary exits 0 once its workers have');
  await stopHelper(redis);
  fs.rmSync(dir, { recursive: true, force: true });
});

function client(opts = {}, port = server.port) {
  const c = io(`http://127.0.0.1:${port}${opts.nsp || ''}`, { reconnection: false, ...opts });
  clients.push(c);
  return c;
}

// The worker owning a session: its sid's last character (A: 0, B: 1).
const ownerOf = (c) => c.io.engine.id.slice(-1);

// Every client hears every other's message exactly once.
async function chat(cs) {
  const heard = new Map(cs.map((c) => [c, []]));
  for (const c of cs) c.on('serverMsg', (m) => heard.get(c).push(m));
  for (const [i, c] of cs.entries()) c.emit('msg', `m${i}`);
  const want = (c) => cs.filter((x) => x !== c).map((x) => `m${cs.indexOf(x)}`).sort();
  await until(() => cs.every((c) => heard.get(c).length >= cs.length - 1), 10000, 'every message heard');
  await sleep(300);
  for (const c of cs) assert.deepEqual([...heard.get(c)].sort(), want(c), 'each message exactly once');
}

// Every argument of an ack.
const ackOf = (c, ...args) =>
  new Promise((resolve, reject) => c.timeout(5000).emit(...args, (err, ...r) => (err ? reject(err) : resolve(r))));

// `n` clients, more while one worker has fewer than two of them (the kernel picks at random).
async function onBoth(n, opts) {
  const cs = [];
  const on = (w) => cs.filter((c) => ownerOf(c) === w);
  while (cs.length < n || on('A').length < 2 || on('B').length < 2) {
    assert.ok(cs.length < 40, 'the kernel spreads connections over both workers');
    const c = client(opts);
    await once(c, 'connect', 5000);
    cs.push(c);
  }
  return [cs, on('A'), on('B')];
}

// The pids of a primary's workers (children), as numbers.
function workerPids(primary) {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
    try {
      return fs.readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')[1] === String(primary.proc.pid);
    } catch { return false; }
  }).map(Number);
}

// The clients of an earlier test go (one that failed may have left some).
function closeAll() {
  for (const c of clients.splice(0)) c.close();
}



test('polling clients on both workers: each request reaches its session\'s worker', async () => {
  const [cs] = await onBoth(16, { transports: ['polling'] });
  await chat(cs);
  await sleep(1000); // more polls, half of them accepted by the other worker
  assert.ok(cs.every((c) => c.connected), 'no session lost');
  for (const c of cs) c.close();
});

test('WebSocket clients, and polling clients upgrading, chat across the workers', async () => {
  closeAll();
  const ws = Array.from({ length: 6 }, () => client({ transports: ['websocket'] }));
  await Promise.all(ws.map((c) => once(c, 'connect', 5000)));
  const [up] = await onBoth(6, {});
  const cs = [...ws, ...up];
  await until(() => up.every((c) => c.io.engine.transport.name === 'websocket'), 5000, 'upgraded');
  await chat(cs);
  for (const c of cs) c.close();
});

test('fetch, server-side emit and broadcasts with acks reach both workers', async () => {
  closeAll();
  const [cs, a, b] = await onBoth(8, { transports: ['websocket'] });
  const [all] = await ackOf(a[0], 'fetch', null);
  assert.deepEqual(all.map((x) => x.id).sort(), cs.map((c) => c.id).sort());
  const [err, answers] = await ackOf(a[0], 'server-emit', 'hello', 3);
  assert.equal(err, null);
  assert.equal(answers.length, 1, 'the other worker answers');
  assert.equal(answers[0].got, 3);
  for (const c of cs) c.on('question', (ack) => ack(c.id));
  b[0].emit('ask-all', 'question', 3000);
  const [askErr, ids] = await once(b[0], 'ask-all-result', 5000);
  assert.equal(askErr, null);
  assert.deepEqual(ids.sort(), cs.map((c) => c.id).sort());
  for (const c of cs) c.close();
});

test('joins, leaves and disconnects act on both workers\' sockets', async () => {
  closeAll();
  const [cs, a, b] = await onBoth(8, { transports: ['websocket'] });
  const j1 = [a[0], b[0]];
  for (const c of j1) assert.equal(await c.timeout(2000).emitWithAck('join', 'j1'), true);
  assert.equal(await a[1].timeout(2000).emitWithAck('make-join', 'j1', 'j2'), true);
  await sleep(100);
  const heard = Promise.all(j1.map((c) => once(c, 'news', 3000)));
  a[1].emit('to', 'j2', 'news', 'in j2');
  assert.deepEqual(await heard, ['in j2', 'in j2']);
  const gone = Promise.all(j1.map((c) => once(c, 'disconnect', 3000)));
  b[1].emit('kick', 'j2', true);
  await gone;
  assert.ok(cs.filter((c) => !j1.includes(c)).every((c) => c.connected));
  for (const c of cs) c.close();
});

test('a namespace only one worker has: the other answers a fetch with nothing, at once', async () => {
  closeAll();
  const c = client({ transports: ['websocket'], nsp: '/dynamic-7' }); // made on its worker only
  await once(c, 'connect', 5000);
  const asked = Date.now();
  const [listed] = await ackOf(c, 'fetch', null);
  assert.ok(Date.now() - asked < 2000, `answered in ${Date.now() - asked} ms`);
  assert.deepEqual(listed.map((x) => x.id), [c.id]);
  c.close();
});

test('a worker killed: started again; the other worker\'s clients never notice', async () => {
  closeAll();
  const [cs] = await onBoth(8, { transports: ['websocket'] });
  const pids = workerPids(server);
  assert.equal(pids.length, 2, 'two workers');
  const victims = cs.filter((c) => ownerOf(c) === 'A'), others = cs.filter((c) => ownerOf(c) === 'B');
  assert.ok(victims.length && others.length);
  // Worker 0 is the one started first: the lower pid.
  const first = Math.min(...pids);
  const dropped = victims.map((c) => once(c, 'disconnect', 5000));
  process.kill(first, 'SIGKILL');
  await Promise.all(dropped);
  await chat(others);
  const asked = Date.now();
  const [listed] = await ackOf(others[0], 'fetch', null); // the dead worker is not waited for
  assert.ok(Date.now() - asked < 2000, `answered in ${Date.now() - asked} ms`);
  assert.deepEqual(listed.map((x) => x.id).sort(), others.map((c) => c.id).sort());
  await until(() => /worker 0 \(pid \d+\) was killed by signal 9; starting it again/.test(server.log()), 5000, 'restart said');
  await sleep(500);
  const [again] = await onBoth(8, { transports: ['polling'] }); // the new worker 0 serves too
  await chat([...others, ...again]);
  for (const c of [...cs, ...again]) c.close();
});

test('with --redis the workers are nodes of the Redis cluster, and chat across', async () => {
  const other = await startServer(bin('FEATURE_TOUR'), ['--workers', '2', '--redis', redisUrl, '--log-level', 'info']);
  try {
    await until(() => (other.log().match(/redis: connected/g) || []).length === 2, 5000, 'both workers on Redis');
    closeAll();
    const cs = [];
    while (new Set(cs.map(ownerOf)).size < 2 || cs.length < 8) {
      assert.ok(cs.length < 40, 'connections spread over both workers');
      const c = client({ transports: ['polling'] }, other.port);
      await once(c, 'connect', 5000);
      cs.push(c);
    }
    await chat(cs);
    for (const c of cs) c.close();
  } finally {
    assert.equal(await other.stop(), 0);
  }
});

// Connection state recovery across workers: a client whose reconnection reaches the other worker
// gets its socket back from the worker that had it (id, rooms, data, every tick it missed, in
// order). The kernel picks the worker of each new connection: the cut is repeated until the
// client has come back to the other worker at least twice.
test('a client that reconnects to the other worker recovers its session and what it missed', async () => {
  const other = await startServer(bin('FEATURE_TOUR'), ['--workers', '2', '--max-disconnection-duration', '10000']);
  const made = [];
  const connect = (opts = {}) => {
    const s = io(other.url, { forceNew: true, reconnectionDelay: 50, randomizationFactor: 0, ...opts });
    made.push(s);
    return once(s, 'connect', 5000).then(() => s);
  };
  try {
    const receiver = await connect({ transports: ['websocket'] });
    const sender = await connect({ transports: ['websocket'] });
    const id = receiver.id;
    assert.equal(await receiver.timeout(2000).emitWithAck('join', 'news-room'), true);
    assert.equal(await receiver.timeout(2000).emitWithAck('set-data', 'k', 'v'), true);
    const got = [];
    receiver.on('tick', (n, offset) => {
      assert.equal(typeof offset, 'string');
      got.push(n);
    });
    let n = 0;
    const send = () => sender.emit('to', 'news-room', 'tick', n++);
    let moved = 0;
    for (let round = 0; moved < 2; round++) {
      assert.ok(round < 24, 'reconnections reach both workers');
      const before = ownerOf(receiver);
      const back = once(receiver, 'connect', 5000);
      const pump = setInterval(send, 5);
      try {
        await sleep(20);
        receiver.io.engine.close();
        await back;
        await sleep(30);
      } finally {
        clearInterval(pump);
      }
      if (ownerOf(receiver) !== before) moved++;
      const total = n;
      await until(() => got.length >= total, 5000, `every tick (round ${round})`);
      await sleep(50);
      assert.equal(receiver.recovered, true, `recovered (round ${round})`);
      assert.equal(receiver.id, id);
      assert.deepEqual(got, Array.from({ length: total }, (_, i) => i), 'every tick once, in order');
    }
    const [data, recovered] = await new Promise((resolve) => receiver.emit('get-data', (...a) => resolve(a)));
    assert.deepEqual(data, { k: 'v' });
    assert.equal(recovered, true);
    assert.deepEqual(await receiver.timeout(2000).emitWithAck('rooms'), [id, 'news-room']);
  } finally {
    for (const c of made) c.close();
    assert.equal(await other.stop(), 0);
  }
});

// A worker killed with SIGKILL tells nobody anything: its clients come back, to the other worker
// or to the one started again, recovered (id, rooms, data as of their last join, every tick
// sent while they were away, in order), as the other worker's clients carry on.
test('the clients of a worker killed with SIGKILL recover on reconnection', async () => {
  const other = await startServer(bin('FEATURE_TOUR'), ['--workers', '2', '--max-disconnection-duration', '10000']);
  const made = [];
  const connect = async () => {
    const c = io(other.url, { forceNew: true, transports: ['websocket'], reconnectionDelay: 50, randomizationFactor: 0 });
    made.push(c);
    await once(c, 'connect', 5000);
    return c;
  };
  try {
    const cs = [];
    const on = (w) => cs.filter((c) => ownerOf(c) === w);
    while (cs.length < 6 || on('A').length < 2 || on('B').length < 2) {
      assert.ok(cs.length < 40, 'the kernel spreads connections over both workers');
      cs.push(await connect());
    }
    const victims = on('A'), survivors = on('B');
    const got = new Map(cs.map((c) => [c, []]));
    const before = new Map();
    for (const [i, c] of cs.entries()) {
      assert.equal(await c.timeout(2000).emitWithAck('set-data', 'k', i), true);
      assert.equal(await c.timeout(2000).emitWithAck('join', 'news-room'), true);
      c.on('tick', (n) => got.get(c).push(n));
      before.set(c, c.id);
    }
    let sender = await connect(); // not in the room: socket.to() leaves the sender out
    while (ownerOf(sender) !== 'B') sender = await connect();
    let n = 0;
    const send = () => sender.emit('to', 'news-room', 'tick', n++);
    for (let i = 0; i < 5; i++) send();
    await until(() => cs.every((c) => got.get(c).length === 5), 3000, 'the first ticks');

    const pids = workerPids(other);
    assert.equal(pids.length, 2, 'two workers');
    const back = victims.map((c) => new Promise((resolve) => c.once('disconnect', () => c.once('connect', resolve))));
    const pump = setInterval(send, 10);
    try {
      process.kill(Math.min(...pids), 'SIGKILL'); // worker 0, the first started
      await Promise.race([Promise.all(back), sleep(8000).then(() => { throw new Error('victims did not come back'); })]);
      await sleep(100);
    } finally {
      clearInterval(pump);
    }
    const total = n;
    await until(() => cs.every((c) => got.get(c).length >= total), 5000, 'every tick, everywhere');
    await sleep(200);
    for (const [i, c] of cs.entries()) {
      assert.deepEqual(got.get(c), Array.from({ length: total }, (_, k) => k), `client ${i}: every tick once, in order`);
      assert.equal(c.id, before.get(c));
    }
    for (const c of victims) {
      assert.equal(c.recovered, true, 'a victim recovered');
      const [data, recovered] = await new Promise((resolve) => c.emit('get-data', (...a) => resolve(a)));
      assert.deepEqual(data, { k: cs.indexOf(c) });
      assert.equal(recovered, true);
      assert.deepEqual(await c.timeout(2000).emitWithAck('rooms'), [c.id, 'news-room']);
    }
    assert.ok(survivors.every((c) => c.connected && !c.recovered), 'the others never noticed');
  } finally {
    for (const c of made) c.close();
    assert.equal(await other.stop(), 0);
  }
});

// The scale of the issue: 200 polling and 200 WebSocket clients over 2 workers chat (each of the
// 400 messages reaches the 399 others exactly once), a room, acks, a broadcast with acks to all,
// a fetch of all and a server-side emit; every polling request is a new connection, and the
// workers' own counts at exit show requests handed over in both directions.
test('200 polling and 200 WebSocket clients over 2 workers: everything exactly once', async () => {
  const big = await startServer(bin('FEATURE_TOUR'), ['--workers', '2', '--log-level', 'info']);
  const made = [];
  try {
    const open = async (n, transports) => {
      const out = [];
      for (let i = 0; i < n; i += 50) {
        const batch = Array.from({ length: Math.min(50, n - i) }, () => {
          const c = io(big.url, { reconnection: false, forceNew: true, transports });
          made.push(c);
          return c;
        });
        await Promise.all(batch.map((c) => once(c, 'connect', 20000)));
        out.push(...batch);
      }
      return out;
    };
    const polling = await open(200, ['polling']);
    const ws = await open(200, ['websocket']);
    const cs = [...polling, ...ws];
    for (const group of [polling, ws]) {
      const owners = new Set(group.map(ownerOf));
      assert.deepEqual([...owners].sort(), ['A', 'B'], 'both workers own some');
    }
    await chat(cs);

    const half = cs.filter((_, i) => i % 2 === 0);
    const joined = await Promise.all(half.map((c) => c.timeout(10000).emitWithAck('join', 'half')));
    assert.ok(joined.every((x) => x === true), 'every join acked');
    const news = new Map(cs.map((c) => [c, 0]));
    for (const c of cs) c.on('news', () => news.set(c, news.get(c) + 1));
    cs[1].emit('to', 'half', 'news', 'for half');
    await until(() => half.every((c) => news.get(c) === 1), 10000, 'the room hears');
    await sleep(300);
    assert.ok(cs.every((c) => news.get(c) === (half.includes(c) ? 1 : 0)), 'the room only, once');

    const [all] = await ackOf(ws[0], 'fetch', null);
    assert.deepEqual(all.map((x) => x.id).sort(), cs.map((c) => c.id).sort());
    const [err, answers] = await ackOf(polling[0], 'server-emit', 'hello', 1);
    assert.equal(err, null);
    assert.equal(answers.length, 1, 'the other worker answers');
    for (const c of cs) c.on('question', (ack) => ack(c.id));
    polling[1].emit('ask-all', 'question', 10000);
    const [askErr, ids] = await once(polling[1], 'ask-all-result', 15000);
    assert.equal(askErr, null);
    assert.deepEqual(ids.sort(), cs.map((c) => c.id).sort());
    assert.ok(cs.every((c) => c.connected), 'no client lost');
  } finally {
    for (const c of made) c.close();
    assert.equal(await big.stop(), 0);
  }
  const counts = [...big.log().matchAll(/worker (\d) handed (\d+) requests to the others and took (\d+)/g)];
  assert.equal(counts.length, 2, 'both workers said');
  for (const [, w, out, taken] of counts) {
    assert.ok(+out > 0 && +taken > 0, `worker ${w} handed ${out} and took ${taken}`);
  }
});

test('metrics with workers: whichever worker a scrape reaches answers for both', async () => {
  const m = await startServer(bin('FEATURE_TOUR'), ['--workers', '2', '--metrics', '/metrics']);
  const cs = [];
  try {
    for (let i = 0; i < 12; i++) {
      cs.push(io(`http://127.0.0.1:${m.port}`, { forceNew: true, reconnection: false, transports: ['websocket'] }));
    }
    await Promise.all(cs.map((c) => once(c, 'connect')));
    await sleep(1500); // each worker has told the other its figures
    const owners = new Set();
    for (let i = 0; i < 6; i++) { // new connections: the kernel spreads them over the workers
      const r = await fetch(`http://127.0.0.1:${m.port}/metrics`, { headers: { connection: 'close' } });
      const text = await r.text();
      assert.match(text, /^socket_io_connected\{namespace="\/"\} 12$/m);
      assert.match(text, /^sioc_engine_clients\{transport="websocket"\} 12$/m);
      assert.match(text, /^sioc_workers 2$/m);
      assert.equal((text.match(/^# TYPE socket_io_connected /gm) || []).length, 1, 'one TYPE per metric');
    }
    for (const c of cs) owners.add(c.io.engine.id.slice(-1));
    assert.equal(owners.size, 2, 'the clients are on both workers');
  } finally {
    for (const c of cs) c.close();
    assert.equal(await m.stop(), 0);
  }
});

test('--workers with the poll loop is refused clearly', async () => {
  const refused = async (args, why) => {
    const proc = spawn(bin('FEATURE_TOUR'), ['--port', '0', '--workers', '2', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    proc.stderr.on('data', (d) => { log += d; });
    const [code] = await once(proc, 'exit');
    assert.equal(code, 2);
    assert.match(log, why);
  };
  await refused(['--event-loop', 'poll'], /--workers needs the libuv event loop/);
});
