// Worker processes: feature-tour --workers 2, joined through a real redis-server. Both workers
// listen on the port (SO_REUSEPORT); every HTTP answer closes its connection, so each polling
// request is a new connection the kernel gives to either worker, and a request for the other
// worker's session must be handed to it (the sid's last character names the owner). Polling and
// WebSocket clients chat across the workers, every message exactly once; upgrades land where they
// land; a worker killed is started again while the other's clients carry on; SIGTERM to the
// primary stops everything with exit 0.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { io } = require('socket.io-client');
const { startServer, once, until, sleep, bin, freePort, stopHelper, startRedis } = require('./lib');

let dir, redis, server;
const clients = [];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sioc-workers-'));
  const started = await startRedis(dir);
  redis = started.proc;
  const redisPort = started.port;
  server = await startServer(bin('FEATURE_TOUR'), ['--workers', '2', '--redis', `redis://127.0.0.1:${redisPort}`,
    '--log-level', 'info']);
  assert.match(server.log(), /2 workers listening/);
  await until(() => (server.log().match(/redis: connected/g) || []).length === 2, 5000, 'both workers on Redis');
});

after(async () => {
  for (const c of clients) c.close();
  assert.equal(await server.stop(), 0, 'the primary exits 0 once its workers have');
  await stopHelper(redis);
  fs.rmSync(dir, { recursive: true, force: true });
});

function client(opts = {}) {
  const c = io(`http://127.0.0.1:${server.port}`, { reconnection: false, ...opts });
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

test('polling clients on both workers: each request reaches its session\'s worker', async () => {
  const cs = Array.from({ length: 16 }, () => client({ transports: ['polling'] }));
  await Promise.all(cs.map((c) => once(c, 'connect', 5000)));
  assert.deepEqual([...new Set(cs.map(ownerOf))].sort(), ['A', 'B'], 'sessions on both workers');
  await chat(cs);
  await sleep(1000); // more polls, half of them accepted by the other worker
  assert.ok(cs.every((c) => c.connected), 'no session lost');
  for (const c of cs) c.close();
});

test('WebSocket clients, and polling clients upgrading, chat across the workers', async () => {
  const ws = Array.from({ length: 6 }, () => client({ transports: ['websocket'] }));
  const up = Array.from({ length: 6 }, () => client());
  const cs = [...ws, ...up];
  await Promise.all(cs.map((c) => once(c, 'connect', 5000)));
  await until(() => up.every((c) => c.io.engine.transport.name === 'websocket'), 5000, 'upgraded');
  assert.deepEqual([...new Set(up.map(ownerOf))].sort(), ['A', 'B']);
  await chat(cs);
  for (const c of cs) c.close();
});

test('a worker killed: started again; the other worker\'s clients never notice', async () => {
  const cs = Array.from({ length: 8 }, () => client({ transports: ['websocket'] }));
  await Promise.all(cs.map((c) => once(c, 'connect', 5000)));
  const pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
    try {
      return fs.readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')[1] === String(server.proc.pid);
    } catch { return false; }
  });
  assert.equal(pids.length, 2, 'two workers');
  const victims = cs.filter((c) => ownerOf(c) === 'A'), others = cs.filter((c) => ownerOf(c) === 'B');
  assert.ok(victims.length && others.length);
  // Worker 0 is the one started first: the lower pid.
  const first = Math.min(...pids.map(Number));
  const dropped = victims.map((c) => once(c, 'disconnect', 5000));
  process.kill(first, 'SIGKILL');
  await Promise.all(dropped);
  await chat(others);
  await until(() => /worker 0 \(pid \d+\) was killed by signal 9; starting it again/.test(server.log()), 5000, 'restart said');
  await sleep(500);
  const again = Array.from({ length: 8 }, () => client({ transports: ['polling'] }));
  await Promise.all(again.map((c) => once(c, 'connect', 5000)));
  assert.deepEqual([...new Set(again.map(ownerOf))].sort(), ['A', 'B'], 'the new worker 0 serves');
  await chat([...others, ...again]);
  for (const c of [...cs, ...again]) c.close();
});

test('--workers without --redis (for now), or with the poll loop, is refused clearly', async () => {
  const refused = async (args, why) => {
    const proc = spawn(bin('FEATURE_TOUR'), ['--port', '0', '--workers', '2', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    proc.stderr.on('data', (d) => { log += d; });
    const [code] = await once(proc, 'exit');
    assert.equal(code, 2);
    assert.match(log, why);
  };
  await refused([], /--workers needs --redis/);
  await refused(['--redis', 'redis://127.0.0.1:9', '--event-loop', 'poll'], /--workers needs the libuv event loop/);
});
