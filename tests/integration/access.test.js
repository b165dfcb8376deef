// Node's access options (access_server.c): cors, allowRequest, cookie, X-Forwarded-For.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const { io } = require('socket.io-client');
const { startServer, request, once, bin } = require('./lib');

let server;
let base;
before(async () => {
  server = await startServer(bin('ACCESS_SERVER'));
  base = `${server.url}/socket.io/?EIO=4&transport=polling`;
});
after(async () => assert.equal(await server.stop(), 0, 'clean exit (no sanitizer report)'));

test('cors: a listed origin, a pattern and a callback are echoed with credentials; others not', async () => {
  for (const origin of ['http://a.example', 'http://x.pattern.example', 'http://team.cb.example']) {
    const res = await request(base, { headers: { origin } });
    assert.equal(res.headers['access-control-allow-origin'], origin, origin);
    assert.equal(res.headers['access-control-allow-credentials'], 'true');
    assert.equal(res.headers.vary, 'Origin');
  }
  for (const origin of ['http://evil.example', 'http://x.pattern.example.evil', 'http://cb.example']) {
    const res = await request(base, { headers: { origin } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['access-control-allow-origin'], undefined, origin);
  }
});

test('cors: a GET held for packets is answered with the headers of its own request', async () => {
  for (const [origin, allowed] of [['http://a.example', 'http://a.example'], ['http://evil.example', undefined]]) {
    const hs = await request(base, { headers: { origin } });
    const sid = JSON.parse(hs.body.slice(1)).sid;
    const held = request(`${base}&sid=${sid}`, { headers: { origin } });
    await new Promise((r) => setTimeout(r, 100)); // held: nothing is queued yet
    const post = await request(`${base}&sid=${sid}`, { method: 'POST', body: '40' });
    assert.equal(post.body, 'ok');
    const res = await held;
    assert.equal(res.status, 200);
    assert.match(res.body, /^40\{"sid":/);
    assert.equal(res.headers['access-control-allow-origin'], allowed, origin);
  }
});

test('cors: preflight answers with the configured methods and reflects the headers asked for', async () => {
  const res = await request(base, {
    method: 'OPTIONS',
    headers: { origin: 'http://a.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-custom, content-type' },
  });
  assert.equal(res.status, 204);
  assert.equal(res.headers['access-control-allow-methods'], 'GET,POST');
  assert.equal(res.headers['access-control-allow-headers'], 'x-custom, content-type');
  assert.equal(res.headers['access-control-allow-origin'], 'http://a.example');
});

test('cors applies to the client bundle too', async () => {
  const res = await request(`${server.url}/socket.io/socket.io.min.js`, { headers: { origin: 'http://a.example' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers['access-control-allow-origin'], 'http://a.example');
});

test('allowRequest refuses with 403 and its reason, on polling and websocket', async () => {
  const res = await request(`${base}&deny=1`);
  assert.equal(res.status, 403);
  assert.deepEqual(JSON.parse(res.body), { code: 4, message: 'denied by test' });
  const ws = new WebSocket(`ws://localhost:${server.port}/socket.io/?EIO=4&transport=websocket&deny=1`);
  ws.on('error', () => {});
  const [, upgrade] = await once(ws, 'unexpected-response');
  assert.equal(upgrade.statusCode, 400);
  const ok = await request(`${base}&deny=0`);
  assert.equal(ok.status, 200);
});

test('the cookie option sets the sid on the handshake only', async () => {
  const res = await request(base);
  const sid = JSON.parse(res.body.slice(1)).sid;
  assert.deepEqual(res.headers['set-cookie'], [`io=${sid}; Path=/; HttpOnly; SameSite=Lax`]);
  const post = await request(`${base}&sid=${sid}`, { method: 'POST', body: '40' });
  assert.equal(post.headers['set-cookie'], undefined);
});

test('a WebSocket-only handshake carries the cookie too, with the sid of its session', async () => {
  const ws = new WebSocket(`ws://localhost:${server.port}/socket.io/?EIO=4&transport=websocket`);
  const [upgrade, [open]] = await Promise.all([once(ws, 'upgrade'), once(ws, 'message')]);
  const sid = JSON.parse(String(open).slice(1)).sid;
  assert.deepEqual(upgrade.headers['set-cookie'], [`io=${sid}; Path=/; HttpOnly; SameSite=Lax`]);
  ws.close();
  // An upgrade of a polling session does not: its cookie came with the polling handshake.
  const res = await request(base);
  const polled = JSON.parse(res.body.slice(1)).sid;
  const probe = new WebSocket(`ws://localhost:${server.port}/socket.io/?EIO=4&transport=websocket&sid=${polled}`);
  const probeUpgrade = await once(probe, 'upgrade');
  assert.equal(probeUpgrade.headers['set-cookie'], undefined);
  probe.close();
});

test('with a trusted proxy the handshake address is the first X-Forwarded-For entry', async () => {
  const s = io(server.url, { forceNew: true, extraHeaders: { 'x-forwarded-for': '203.0.113.7, 10.0.0.1' } });
  await once(s, 'connect');
  assert.equal(await s.timeout(2000).emitWithAck('whoami'), '203.0.113.7');
  s.close();
});
