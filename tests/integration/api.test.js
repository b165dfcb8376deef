// The C API embedded in a program (api_server.c): port 0, the catch-all, per-socket data, auth,
// server-side disconnects and Node's disconnect reasons.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { io } = require('socket.io-client');
const { startServer, rawSocketIO, once, until, sleep, bin } = require('./lib');

let server;
let lines = [];
before(async () => {
  server = await startServer(bin('API_SERVER'));
  let buf = '';
  server.proc.stdout.on('data', (d) => {
    buf += d;
    const parts = buf.split('\n');
    buf = parts.pop();
    lines.push(...parts);
  });
});
after(async () => {
  if (server.proc.exitCode === null) assert.equal(await server.stop(), 0);
});

const connect = (nsp = '/', opts = {}) => {
  const s = io(server.url + nsp, { forceNew: true, reconnection: false, ...opts });
  return once(s, 'connect').then(() => s);
};
// All of an ack's arguments (emitWithAck resolves with the first only).
const ack = (s, event, ...args) => new Promise((resolve, reject) =>
  s.timeout(3000).emit(event, ...args, (err, ...reply) => (err ? reject(err) : resolve(reply))));
const reasonOf = (s) => once(s, 'disconnect').then((a) => (Array.isArray(a) ? a[0] : a));
const lineFor = (id, prefix) => lines.find((l) => l.startsWith(prefix) && l.includes(id));
// 'disconnect ' with its space: not 'disconnecting'.

// The binary defaults to any origin and Engine.IO v3 (the seed's server did); the library keeps
// Node 4.8's defaults: no CORS headers, v3 refused.
test('the library\'s defaults are Node\'s: no CORS headers, no Engine.IO v3', async () => {
  const http = require('node:http');
  const get = (path) => new Promise((resolve, reject) => {
    http.get(`${server.url}${path}`, { headers: { origin: 'http://a.example' } }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    }).on('error', reject);
  });
  const v4 = await get('/socket.io/?EIO=4&transport=polling');
  assert.equal(v4.status, 200);
  assert.equal(v4.headers['access-control-allow-origin'], undefined);
  const v3 = await get('/socket.io/?EIO=3&transport=polling');
  assert.equal(v3.status, 400);
  assert.deepEqual(JSON.parse(v3.body), { code: 5, message: 'Unsupported protocol version' });
});

test('the socket sees its auth, id, transport, and the catch-all runs before each handler', async () => {
  const s = await connect('/', { auth: { token: 'abc', n: 1 }, transports: ['websocket'] });
  s.emit('first', 1);
  s.emit('second');
  const [id, auth, transport, last, count] = await ack(s, 'whoami');
  assert.equal(id, s.id);
  assert.deepEqual(auth, { token: 'abc', n: 1 });
  assert.equal(transport, 'websocket');
  assert.equal(last, 'whoami');
  assert.equal(count, 3);
  assert.ok(lineFor(id, 'connect / ').endsWith('{"token":"abc","n":1}'));
  s.close();
  await until(() => lineFor(id, 'disconnect '), 3000, 'disconnect line');
  assert.equal(lineFor(id, 'disconnect '), `disconnect ${id} client namespace disconnect`);
});

test('the handshake carries headers, query, address, url, time and auth, as Node\'s', async () => {
  const s = await connect('/', { auth: { k: 'v' }, query: { room: 'lobby', n: '1' }, extraHeaders: { 'x-forwarded-for': '10.1.2.3' } });
  const [hs] = await ack(s, 'handshake');
  assert.equal(hs.address, '127.0.0.1');
  assert.equal(hs.headers.host, `localhost:${server.port}`);
  assert.equal(hs.headers['x-forwarded-for'], '10.1.2.3');
  assert.equal(hs.query.room, 'lobby');
  assert.equal(hs.query.EIO, '4');
  assert.match(hs.url, /^\/socket\.io\/\?.*room=lobby/);
  assert.deepEqual(hs.auth, { k: 'v' });
  assert.equal(hs.secure, false);
  assert.equal(hs.xdomain, false);
  assert.ok(Math.abs(hs.issued - Date.now()) < 5000);
  assert.match(hs.time, /GMT/);
  s.close();
  // Values JSON must escape, and an Origin (xdomain), arrive as they were sent.
  const agent = 'a "quoted" \\ agent\twith a tab';
  const o = await connect('/', { extraHeaders: { 'user-agent': agent, origin: 'http://example.com' }, query: { 'k"ey': 'v\\al' } });
  const [hs2] = await ack(o, 'handshake');
  assert.equal(hs2.headers['user-agent'], agent);
  assert.equal(hs2.headers.origin, 'http://example.com');
  assert.equal(hs2.xdomain, true);
  assert.equal(hs2.query['k"ey'], 'v\\al');
  o.close();
});

test('the handshake address is the peer\'s, with one, two and three digits to an octet', async () => {
  const http = require('node:http');
  for (const localAddress of ['127.45.6.200', '127.0.10.99']) {
    const agent = new http.Agent({ localAddress });
    const s = await connect('/', { agent, transports: ['websocket'] });
    const [hs] = await ack(s, 'handshake');
    assert.equal(hs.address, localAddress);
    s.close();
    agent.destroy();
  }
});

test('rooms list in joining order; disconnecting still sees them, disconnect no longer', async () => {
  const s = await connect('/');
  const id = s.id;
  const [rooms] = await ack(s, 'join', 'a', 'b', 'a');
  assert.deepEqual(rooms, [id, 'a', 'b']);
  s.close();
  await until(() => lineFor(id, 'disconnect '), 3000, 'disconnect line');
  assert.equal(lineFor(id, 'disconnecting'), `disconnecting ${id} client namespace disconnect 3 ${id} a b`);
  assert.equal(lineFor(id, 'rooms-after'), `rooms-after ${id} client namespace disconnect 0`);
});

test('a server-side disconnect reaches the client as "io server disconnect"', async () => {
  const s = await connect('/other');
  const id = s.id; // the client forgets it on disconnect
  const reason = reasonOf(s);
  s.emit('kick', false);
  assert.equal(await reason, 'io server disconnect');
  await until(() => lineFor(id, 'disconnect '), 3000, 'disconnect line');
  assert.equal(lineFor(id, 'disconnect '), `disconnect ${id} server namespace disconnect`);
  assert.ok(lines.includes('emit-after-kick -4'), 'SIOC_ERR_CLOSED after the disconnect');
});

test('disconnect(true) ends every namespace of the connection', async () => {
  const root = io(server.url, { forceNew: true, reconnection: false });
  const other = root.io.socket('/other');
  other.connect();
  await Promise.all([once(root, 'connect'), once(other, 'connect')]);
  const reasons = Promise.all([reasonOf(root), reasonOf(other)]);
  root.emit('kick', true);
  assert.deepEqual(await reasons, ['io server disconnect', 'io server disconnect']);
});

test('a vanished client ends with "transport close", a silent one with "ping timeout"', async () => {
  const [gone, id] = await rawSocketIO(server.port);
  gone.terminate(); // TCP gone without a close packet
  await until(() => lineFor(id, 'disconnect '), 3000, 'disconnect line');
  assert.equal(lineFor(id, 'disconnect '), `disconnect ${id} transport close`);

  const [quiet, qid] = await rawSocketIO(server.port); // reads, but never answers a ping
  await until(() => lineFor(qid, 'disconnect '), 3000, 'disconnect line');
  assert.equal(lineFor(qid, 'disconnect '), `disconnect ${qid} ping timeout`);
  quiet.terminate();
});

test('the other reasons: parse error, forced close, transport error', async () => {
  const [ws, bad] = await rawSocketIO(server.port);
  ws.send('42{"not":"an array"}');
  await until(() => lineFor(bad, 'disconnect '), 3000, 'disconnect line');
  assert.equal(lineFor(bad, 'disconnect '), `disconnect ${bad} parse error`);

  const forced = await connect('/');
  const fid = forced.id;
  forced.emit('conn-close');
  await until(() => lineFor(fid, 'disconnect '), 3000, 'disconnect line');
  assert.equal(lineFor(fid, 'disconnect '), `disconnect ${fid} forced close`);
  forced.close();

  // A polling client whose waiting GET goes away.
  const http = require('node:http');
  const base = `http://127.0.0.1:${server.port}/socket.io/?EIO=4&transport=polling`;
  const { request } = require('./lib');
  const esid = JSON.parse((await request(base)).body.slice(1)).sid;
  await request(`${base}&sid=${esid}`, { method: 'POST', body: '40' });
  const hello = (await request(`${base}&sid=${esid}`)).body;
  const pid = JSON.parse(hello.slice(2)).sid;
  const held = http.get(`${base}&sid=${esid}`, { agent: false });
  held.on('error', () => {});
  await sleep(50);
  held.destroy();
  await until(() => lineFor(pid, 'disconnect '), 3000, 'disconnect line');
  assert.equal(lineFor(pid, 'disconnect '), `disconnect ${pid} transport error`);
});

test('sioc_server_stop from a handler ends the run gracefully and frees everything', async () => {
  const s = await connect('/', { transports: ['websocket'] });
  const p = await connect('/', { transports: ['polling'] });
  const [raw] = await rawSocketIO(server.port);
  const frames = raw.frames;
  const rawClosed = once(raw, 'close', 5000);
  const byes = Promise.all([once(s, 'bye'), once(p, 'bye')]);
  const id = s.id;
  s.emit('stop');
  await byes; // what was queued before the stop still went out, on both transports
  const [code] = await rawClosed;
  assert.equal(code, 1000, 'a clean WebSocket close');
  assert.ok(frames.includes('42["bye"]'));
  await once(server.proc, 'exit', 5000);
  assert.equal(server.proc.exitCode, 0);
  await sleep(50);
  assert.ok(lines.includes('exited 0'));
  assert.ok(lines.some((l) => l === `disconnect ${id} server shutting down`), lines.join('\n'));
  s.close();
  p.close();
});
