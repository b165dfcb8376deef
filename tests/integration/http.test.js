// The HTTP side of the sioc binary: client bundle with ETag, static files, CORS.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startServer, request, rawRequest, once, sleep, bin, ROOT } = require('./lib');

let server;
let cors;
before(async () => {
  server = await startServer(bin('SIOC_BIN'));
  cors = await startServer(bin('SIOC_BIN'), ['--cors-origin', 'http://a.example', '--cors-origin', 'http://b.example']);
});
after(async () => {
  assert.equal(await server.stop(), 0, 'clean exit (no sanitizer report)');
  assert.equal(await cors.stop(), 0, 'clean exit (no sanitizer report)');
});

const clientDist = path.join(ROOT, 'node_modules', 'socket.io-client', 'dist');
const clientVersion = require('socket.io-client/package.json').version;

test('the client bundle is served with its type and an ETag, and 304 on If-None-Match', async () => {
  const files = {
    'socket.io.js': 'application/javascript; charset=utf-8',
    'socket.io.min.js': 'application/javascript; charset=utf-8',
    'socket.io.esm.min.js': 'application/javascript; charset=utf-8',
    'socket.io.js.map': 'application/json; charset=utf-8',
    'socket.io.min.js.map': 'application/json; charset=utf-8',
    'socket.io.esm.min.js.map': 'application/json; charset=utf-8',
  };
  for (const [name, type] of Object.entries(files)) {
    const res = await request(`${server.url}/socket.io/${name}`);
    assert.equal(res.status, 200, name);
    assert.equal(res.headers['content-type'], type, name);
    assert.equal(res.headers.etag, `"${clientVersion}"`, name);
    assert.equal(res.body, fs.readFileSync(path.join(clientDist, name), 'utf8'), name);
    for (const tag of [`"${clientVersion}"`, `W/"${clientVersion}"`]) {
      const again = await request(`${server.url}/socket.io/${name}`, { headers: { 'if-none-match': tag } });
      assert.equal(again.status, 304, `${name} ${tag}`);
      assert.equal(again.body, '');
    }
    const stale = await request(`${server.url}/socket.io/${name}`, { headers: { 'if-none-match': '"0.0.1"' } });
    assert.equal(stale.status, 200);
  }
});

test('the seed\'s pages are served from public/, index.html for /', async () => {
  const index = await request(`${server.url}/`);
  assert.equal(index.status, 200);
  assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(index.body, fs.readFileSync(path.join(ROOT, 'public', 'index.html'), 'utf8'));
  assert.match(index.body, /id="sendBtn"/);
  const native = await request(`${server.url}/native.html`);
  assert.equal(native.status, 200);
  assert.match(native.body, /new WebSocket\('ws:\/\/localhost:8000'\)/);
  assert.equal((await request(`${server.url}/nope.html`)).status, 404);
});

test('no path outside public/ can be reached', async () => {
  const attempts = [
    '/../package.json',
    '/../../../../etc/passwd',
    '/%2e%2e/package.json',
    '/%2e%2e%2fpackage.json',
    '/..%2fpackage.json',
    '/./../meson.build',
    '//etc/passwd',
    '/public/../../etc/passwd',
  ];
  for (const p of attempts) {
    const res = await rawRequest(server.port, `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.doesNotMatch(res, /root:|"name": "sioc-tests"|project\('sioc'/, p);
    assert.match(res, /^HTTP\/1\.1 (400|403|404) /, p);
  }
});

// The seed's socket.io 2.x server allowed every origin; the binary does too (without credentials),
// says so, and --cors-origin restricts it (the cors server below; the library's own default, no
// CORS at all, is in api.test.js).
test('with no flags the binary allows any origin, without credentials, and says so', async () => {
  const res = await request(`${server.url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: 'http://a.example' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers['access-control-allow-origin'], '*');
  assert.equal(res.headers['access-control-allow-credentials'], undefined);
  assert.match(server.log(), /listening on .*any origin may connect: --cors-origin restricts/);
  assert.doesNotMatch(cors.log(), /any origin/);
});

test('allowed origins are echoed on polling and preflight; others get no CORS headers', async () => {
  const url = `${cors.url}/socket.io/?EIO=4&transport=polling`;
  const ok = await request(url, { headers: { origin: 'http://b.example' } });
  assert.equal(ok.headers['access-control-allow-origin'], 'http://b.example');
  assert.equal(ok.headers.vary, 'Origin');
  const pre = await request(url, {
    method: 'OPTIONS',
    headers: { origin: 'http://a.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers['access-control-allow-origin'], 'http://a.example');
  assert.match(pre.headers['access-control-allow-methods'], /POST/);
  assert.equal(pre.headers['access-control-allow-headers'], 'content-type');
  const no = await request(url, { headers: { origin: 'http://evil.example' } });
  assert.equal(no.status, 200);
  assert.equal(no.headers['access-control-allow-origin'], undefined);
});

test('a wildcard origin allows any origin', async () => {
  const wild = await startServer(bin('SIOC_BIN'), ['--cors-origin', '*']);
  try {
    const res = await request(`${wild.url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: 'http://z.example' } });
    assert.equal(res.headers['access-control-allow-origin'], '*');
  } finally {
    assert.equal(await wild.stop(), 0);
  }
});

test('transports limits what a client may use, as Node\'s option', async () => {
  const wsOnly = await startServer(bin('SIOC_BIN'), ['--transports', 'websocket']);
  try {
    const res = await request(`${wsOnly.url}/socket.io/?EIO=4&transport=polling`);
    assert.equal(res.status, 400);
    assert.deepEqual(JSON.parse(res.body), { code: 0, message: 'Transport unknown' });
    const WebSocket = require('ws');
    const ws = new WebSocket(`ws://localhost:${wsOnly.port}/socket.io/?EIO=4&transport=websocket`);
    const [data] = await once(ws, 'message');
    assert.match(String(data), /^0\{"sid":"[^"]+","upgrades":\[\]/);
    ws.close();
  } finally {
    assert.equal(await wsOnly.stop(), 0);
  }
});

test('the binary answers --help and --version and refuses unknown flags', async () => {
  const { execFileSync, spawnSync } = require('node:child_process');
  assert.match(execFileSync(bin('SIOC_BIN'), ['--version']).toString(), /^sioc \d+\.\d+\.\d+/);
  assert.match(execFileSync(bin('SIOC_BIN'), ['--help']).toString(), /--cors-origin/);
  const bad = spawnSync(bin('SIOC_BIN'), ['--port', 'x']);
  assert.equal(bad.status, 2);
  const unknown = spawnSync(bin('SIOC_BIN'), ['--bogus']);
  assert.equal(unknown.status, 2);
});

test('a port already in use is an error, not a silent start', () => {
  const { spawnSync } = require('node:child_process');
  const busy = spawnSync(bin('SIOC_BIN'), ['--port', String(server.port)], { timeout: 5000 });
  assert.equal(busy.status, 1);
  assert.match(String(busy.stderr), /cannot start: cannot listen/);
});

test('SIGTERM stops the server cleanly', async () => {
  const s = await startServer(bin('SIOC_BIN'));
  assert.equal(await s.stop(), 0);
});

// A raw keep-alive connection: `send(text)` writes a request, `next()` resolves with the next whole
// response (headers and a Content-Length body), `closed` when the server closes it.
function keepAlive(port) {
  const net = require('node:net');
  const sock = net.connect(port, '127.0.0.1');
  let buf = '';
  const waiting = [];
  const take = () => {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0 || !waiting.length) return;
    const len = Number(/content-length: *(\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
    if (buf.length < end + 4 + len) return;
    const res = buf.slice(0, end + 4 + len);
    buf = buf.slice(end + 4 + len);
    waiting.shift()(res);
    take();
  };
  sock.on('data', (d) => { buf += d; take(); });
  const closed = new Promise((resolve) => sock.on('close', () => resolve(Date.now())));
  sock.on('error', () => {});
  return {
    send: (text) => sock.write(text),
    next: () => new Promise((resolve) => { waiting.push(resolve); take(); }),
    closed,
    destroy: () => sock.destroy(),
  };
}

test('keepAliveTimeout: idle keep-alive connections close, busy ones and held GETs stay', async () => {
  const s = await startServer(bin('SIOC_BIN'), ['--keepalive-timeout', '400']);
  try {
    const get = (q) => `GET /socket.io/?EIO=4&transport=polling${q} HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n`;
    // Idle after one request: closed after about 400 ms.
    const a = keepAlive(s.port);
    a.send(get(''));
    const sid = JSON.parse((await a.next()).split('\r\n\r\n')[1].slice(1)).sid;
    const t0 = Date.now();
    const closedAt = await Promise.race([a.closed, sleep(5000).then(() => 0)]);
    assert.ok(closedAt, 'the idle connection was closed');
    assert.ok(closedAt - t0 >= 300 && closedAt - t0 < 3000, `closed after ${closedAt - t0} ms`);
    // Reused every 200 ms for a second: never idle long enough.
    const b = keepAlive(s.port);
    for (let i = 0; i < 5; i++) {
      b.send(get(''));
      assert.match(await b.next(), /^HTTP\/1\.1 200/);
      await sleep(200);
    }
    // A held GET outlives the timeout; answered, its connection goes idle and is closed in turn.
    b.send(get(`&sid=${sid}`));
    let open = true;
    b.closed.then(() => { open = false; });
    await sleep(1000);
    assert.ok(open, 'a held GET is not an idle connection');
    const post = await request(`${s.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: '40' });
    assert.equal(post.body, 'ok');
    assert.match(await b.next(), /\r\n\r\n40\{"sid":/);
    const end = await Promise.race([b.closed, sleep(5000).then(() => 0)]);
    assert.ok(end, 'idle again after its answer: closed');
    a.destroy();
    b.destroy();
  } finally {
    assert.equal(await s.stop(), 0, 'clean exit (no sanitizer report)');
  }
});
