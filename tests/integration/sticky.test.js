// Sticky sessions for real: two sioc nodes joined by a real redis-server, behind Debian's haproxy
// balancing round-robin with cookie stickiness on the sid cookie sioc sets (`--cookie io`, Node's
// `cookie` option; haproxy's `cookie io prefix`), and behind Debian's nginx hashing the client's
// address, as socket.io's documentation configures them (the README's configurations).
// Polling clients (each request must reach the node holding its session), clients upgrading to
// WebSocket through the proxy, and WebSocket-only ones chat across the two nodes; a polling
// client that does not send the cookie back to haproxy loses its session, which is what the
// stickiness is for.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const { io } = require('socket.io-client');
const { startServer, once, until, sleep, bin, freePort, stopHelper, startRedis } = require('./lib');

const accepts = (port) =>
  new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });

// The configuration the README gives, ports filled in.
const haproxyConfig = (port, a, b) => `
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout tunnel 1h

frontend socketio
  bind 127.0.0.1:${port}
  default_backend nodes

backend nodes
  balance roundrobin
  option httpchk GET /
  cookie io prefix indirect nocache
  http-response set-header X-Served-By %[srv_name]
  server a 127.0.0.1:${a} check inter 1s cookie a
  server b 127.0.0.1:${b} check inter 1s cookie b
`;

// nginx: a client's address picks its node (the test's clients come from 127.0.0.2-127.0.0.20).
const nginxConfig = (port, a, b, dir) => `
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir};
  proxy_temp_path ${dir};
  upstream nodes {
    hash $remote_addr consistent;
    server 127.0.0.1:${a};
    server 127.0.0.1:${b};
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header Host $host;
      proxy_pass http://nodes;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      add_header X-Served-By $upstream_addr always;
    }
  }
}
`;

let dir, redis, haproxy, nginx, a, b, port, nginxPort;
const clients = [];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sioc-haproxy-'));
  const started = await startRedis(dir);
  redis = started.proc;
  const redisPort = started.port;
  const url = `redis://127.0.0.1:${redisPort}`;
  a = await startServer(bin('FEATURE_TOUR'), ['--redis', url, '--cookie', 'io', '--name', 'a', '--log-level', 'info']);
  b = await startServer(bin('FEATURE_TOUR'), ['--redis', url, '--cookie', 'io', '--name', 'b', '--log-level', 'info']);
  await until(() => /redis: connected/.test(a.log()) && /redis: connected/.test(b.log()), 5000, 'both nodes on Redis');
  port = await freePort();
  const cfg = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(cfg, haproxyConfig(port, a.port, b.port));
  haproxy = spawn('haproxy', ['-f', cfg, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  haproxy.stderr.on('data', (d) => { log += d; });
  haproxy.on('exit', (code) => { if (code) console.error(`haproxy exited with ${code}: ${log}`); });
  nginxPort = await freePort();
  const ncfg = path.join(dir, 'nginx.conf');
  fs.writeFileSync(ncfg, nginxConfig(nginxPort, a.port, b.port, dir));
  nginx = spawn('nginx', ['-c', ncfg, '-p', dir, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let nlog = '';
  nginx.stderr.on('data', (d) => { nlog += d; });
  nginx.on('exit', (code) => { if (code) console.error(`nginx exited with ${code}: ${nlog}`); });
  await until(() => accepts(port), 5000, 'haproxy listening');
  await until(() => accepts(nginxPort), 5000, 'nginx listening');
  await sleep(1500); // both servers seen up by haproxy's health checks
});

after(async () => {
  for (const c of clients) c.close();
  await stopHelper(haproxy);
  await stopHelper(nginx);
  assert.equal(await a.stop(), 0, 'clean exit (no sanitizer report)');
  assert.equal(await b.stop(), 0, 'clean exit (no sanitizer report)');
  await stopHelper(redis);
  fs.rmSync(dir, { recursive: true, force: true });
});

// withCredentials: the Node client keeps cookies (a jar per connection), as a browser does.
function client(opts = {}) {
  const c = io(`http://127.0.0.1:${port}`, { reconnection: false, withCredentials: true, ...opts });
  clients.push(c);
  return c;
}

// Which node haproxy chose for `c`: its cookie is "<server>~<sid>"; a WebSocket-only client has
// no cookie (the jar is not fed from the 101) and is told by the header haproxy adds.
function nodeOf(c) {
  if (c.servedBy) return c.servedBy;
  const jar = c.io.engine._cookieJar;
  for (const [name, cookie] of jar ? jar.cookies : []) {
    if (name === 'io') return cookie.value.split('~')[0];
  }
  return null;
}

async function chatAcross(cs) {
  await Promise.all(cs.map((c) => (c.connected ? null : once(c, 'connect', 5000))));
  assert.deepEqual([...new Set(cs.map(nodeOf))].sort(), ['a', 'b'], 'both nodes serve clients');
  for (const [i, sender] of cs.entries()) {
    const heard = Promise.all(cs.filter((c) => c !== sender).map((c) => once(c, 'serverMsg', 5000)));
    sender.emit('msg', `from ${i}`);
    assert.deepEqual(await heard, cs.slice(1).map(() => `from ${i}`));
  }
}

test('polling clients stay on their node through haproxy and chat across the nodes', async () => {
  const cs = Array.from({ length: 6 }, () => client({ transports: ['polling'] }));
  await chatAcross(cs);
  await sleep(1000); // more polls, each to the session's node
  assert.ok(cs.every((c) => c.connected && c.io.engine.transport.name === 'polling'));
  for (const c of cs) c.close();
});

test('clients upgrade to WebSocket through haproxy on their node, and chat across', async () => {
  const cs = Array.from({ length: 4 }, () => client());
  await chatAcross(cs);
  await until(() => cs.every((c) => c.io.engine.transport.name === 'websocket'), 5000, 'all upgraded');
  cs[0].emit('msg', 'after the upgrade');
  assert.deepEqual(await Promise.all(cs.slice(1).map((c) => once(c, 'serverMsg', 5000))),
    cs.slice(1).map(() => 'after the upgrade'));
  for (const c of cs) c.close();
});

test('WebSocket-only clients through haproxy chat across the nodes', async () => {
  const cs = Array.from({ length: 4 }, () => {
    const c = client({ transports: ['websocket'] });
    c.io.engine.transport.ws.once('upgrade', (res) => { c.servedBy = res.headers['x-served-by']; });
    return c;
  });
  await chatAcross(cs);
  for (const c of cs) c.close();
});

test('without the cookie sent back, a polling client loses its session (what stickiness is for)', async () => {
  // One client at a time: round robin sends its request after the handshake to the other node,
  // which does not know the session. (Several at once could, by their interleaving, each stay on
  // its own node; another test's client's ping landing in between shifts the rotation once in a
  // great while, hence two of three.)
  let lost = 0;
  for (let i = 0; i < 3; i++) {
    const c = client({ transports: ['polling'], withCredentials: false });
    lost += await new Promise((resolve) => {
      c.on('connect_error', () => resolve(1));
      c.on('disconnect', () => resolve(1));
      setTimeout(() => resolve(0), 4000);
    });
    c.close();
  }
  assert.ok(lost >= 2, `${lost} of 3 clients' second requests reached the other node`);
});

// The node nginx sends `address`'s requests to, by the header it adds.
const nodeFor = (address) =>
  new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: nginxPort, path: '/', localAddress: address }, (res) => {
      res.resume();
      resolve(Number(res.headers['x-served-by'].split(':')[1]) === a.port ? 'a' : 'b');
    }).on('error', reject);
  });

// Clients from addresses nginx sends to each node, `n` per node.
async function nginxClients(n, opts) {
  const picked = { a: [], b: [] };
  for (let i = 2; i <= 20 && (picked.a.length < n || picked.b.length < n); i++) {
    const address = `127.0.0.${i}`;
    const node = await nodeFor(address);
    if (picked[node].length < n) picked[node].push(address);
  }
  assert.ok(picked.a.length === n && picked.b.length === n, JSON.stringify(picked));
  return [...picked.a, ...picked.b].map((address, i) => {
    const c = io(`http://127.0.0.1:${nginxPort}`, {
      reconnection: false, localAddress: address, agent: new http.Agent({ localAddress: address }), ...opts,
    });
    c.servedBy = i < n ? 'a' : 'b';
    clients.push(c);
    return c;
  });
}

test('nginx hashing the client\'s address: polling clients keep their node and chat across', async () => {
  const cs = await nginxClients(3, { transports: ['polling'] });
  await chatAcross(cs);
  await sleep(1000);
  assert.ok(cs.every((c) => c.connected && c.io.engine.transport.name === 'polling'));
  for (const c of cs) c.close();
});

test('nginx: clients upgrade to WebSocket through it and chat across', async () => {
  const cs = await nginxClients(2, {});
  await chatAcross(cs);
  await until(() => cs.every((c) => c.io.engine.transport.name === 'websocket'), 5000, 'all upgraded');
  cs[3].emit('msg', 'upgraded');
  assert.deepEqual(await Promise.all(cs.slice(0, 3).map((c) => once(c, 'serverMsg', 5000))),
    ['upgraded', 'upgraded', 'upgraded']);
  for (const c of cs) c.close();
});
