// Old clients (Node's allowEIO3): socket.io-client 2.x speaks Engine.IO v3 and Socket.IO protocol
// v4; with --allow-eio3 it chats with 3.x and 4.x clients in the same namespaces and rooms, on
// every transport. Raw requests check the v3 wire formats the clients rely on.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const io2 = require('socket.io-client-v2');
const io3 = require('socket.io-client-v3');
const { io: io4 } = require('socket.io-client');
const { startServer, request, once, until, sleep, bin } = require('./lib');

let tour; // feature-tour --allow-eio3, short heartbeat
let strict; // sioc --no-allow-eio3
let seed; // sioc with no flags: the seed's server, which took 2.x clients
before(async () => {
  tour = await startServer(bin('FEATURE_TOUR'), ['--allow-eio3', '--ping-interval', '300',
    '--ping-timeout', '200']);
  strict = await startServer(bin('SIOC_BIN'), ['--no-allow-eio3']);
  seed = await startServer(bin('SIOC_BIN'));
});
after(async () => {
  assert.equal(await tour.stop(), 0, 'clean exit (no sanitizer report)');
  assert.equal(await strict.stop(), 0, 'clean exit (no sanitizer report)');
  assert.equal(await seed.stop(), 0, 'clean exit (no sanitizer report)');
});

// socket.io-client 2.x transport choices: upgrade, websocket only, polling only (binary
// payloads), and polling without binary support (base64).
const V2_OPTIONS = {
  upgrade: {},
  websocket: { transports: ['websocket'] },
  polling: { transports: ['polling'] },
  base64: { transports: ['polling'], forceBase64: true },
  'websocket base64': { transports: ['websocket'], forceBase64: true },
};

async function connected(list) {
  await Promise.all(list.map((s) => (s.connected ? null : once(s, 'connect', 10000))));
  for (const s of list) {
    s.got = [];
    s.on('serverMsg', (m) => s.got.push(m));
  }
  return list;
}

const v2 = (nsp, opts = {}) => io2(tour.url + nsp, { forceNew: true, reconnection: false, ...opts });

// A raw HTTP exchange whose body is kept as bytes.
function raw(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    if (body !== undefined) headers = { ...headers, 'content-length': Buffer.byteLength(body) };
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.setTimeout(10000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// A v3 text payload: each packet after its length in UTF-16 units (JavaScript's string length).
const frame = (...packets) => packets.map((p) => `${p.length}:${p}`).join('');

// Opens a raw v3 polling session; returns its sid and a poll URL maker.
async function rawSession(server, query = '') {
  const res = await raw(`${server.url}/socket.io/?EIO=3&transport=polling${query}`);
  assert.equal(res.status, 200);
  const first = res.body.toString();
  // JSONP wraps the payload in a script: ___eio[j]("payload");
  const text = first.startsWith('___eio[') ? JSON.parse(first.slice(first.indexOf('(') + 1, -2)) : first;
  const m = /^(\d+):0(\{.*?\})(\d+:40)?$/.exec(text);
  assert.ok(m, `v3 handshake payload: ${text}`);
  const open = JSON.parse(m[2]);
  assert.equal(Number(m[1]), m[2].length + 1, 'the length counts the whole open packet');
  const url = `${server.url}/socket.io/?EIO=3&transport=polling&sid=${open.sid}${query}`;
  return { open, url, first };
}

test('with --no-allow-eio3 an EIO=3 client gets "Unsupported protocol version"', async () => {
  const res = await request(`${strict.url}/socket.io/?EIO=3&transport=polling`);
  assert.equal(res.status, 400);
  assert.deepEqual(JSON.parse(res.body), { code: 5, message: 'Unsupported protocol version' });
  const s = io2(strict.url, { forceNew: true, reconnection: false, transports: ['polling'] });
  const err = await once(s, 'connect_error');
  assert.ok(err, 'socket.io-client 2.x cannot connect');
  s.close();
});

test('the sioc binary takes socket.io-client 2.x by default, and says so when it starts', async () => {
  assert.match(seed.log(), /listening on .*socket\.io-client 2\.x accepted/);
  assert.doesNotMatch(strict.log(), /2\.x accepted/);
  const s = io2(seed.url, { forceNew: true, reconnection: false });
  await once(s, 'connect');
  s.close();
});

for (const [name, opts] of Object.entries(V2_OPTIONS)) {
  test(`socket.io-client 2.x (${name}) chats with 3.x and 4.x clients`, async () => {
    const [a, b, c] = await connected([v2('/', opts), io3(tour.url, { forceNew: true }),
      io4(tour.url, { forceNew: true })]);
    a.emit('msg', 'from 2.x: 你好 😀');
    b.emit('msg', 'from 3.x');
    c.emit('msg', 'from 4.x');
    await until(() => a.got.length === 2 && b.got.length === 2 && c.got.length === 2, 5000, 'relays');
    assert.deepEqual(a.got.sort(), ['from 3.x', 'from 4.x']);
    assert.deepEqual(b.got.sort(), ['from 2.x: 你好 😀', 'from 4.x']);
    assert.deepEqual(c.got.sort(), ['from 2.x: 你好 😀', 'from 3.x']);
    // Binary both ways, inside an ack and as an event.
    const [bytes, text] = await new Promise((resolve) =>
      a.emit('echo', Buffer.from([0, 1, 255]), 'é', (...r) => resolve(r)));
    assert.deepEqual([...bytes], [0, 1, 255]);
    assert.equal(text, 'é');
    const echoed = once(a, 'echo');
    a.emit('echo', { nested: Buffer.from('bin') });
    assert.equal(Buffer.from((await echoed).nested).toString(), 'bin');
    // Rooms mix generations: the 4.x client reaches the 2.x one in a room.
    await new Promise((resolve) => a.emit('join', 'mixed', resolve));
    const inRoom = once(a, 'hello');
    c.emit('to', 'mixed', 'hello', 'room message');
    assert.equal(await inRoom, 'room message');
    if (name === 'upgrade') await until(() => a.io.engine.transport.name === 'websocket', 5000, 'upgrade');
    [a, b, c].forEach((s) => s.close());
  });
}

test('2.x socket ids are as the client computes them, in "/" and in other namespaces', async () => {
  const [root, chat] = await connected([v2('/'), v2('/chat')]);
  assert.equal(root.id, root.io.engine.id);
  assert.equal(chat.id, `/chat#${chat.io.engine.id}`);
  const ids = await new Promise((resolve) => chat.emit('fetch', null, resolve));
  assert.ok(ids.some((s) => s.id === chat.id), `server side ids: ${JSON.stringify(ids)}`);
  const rooms = await new Promise((resolve) => chat.emit('rooms', resolve));
  assert.ok(rooms.includes(chat.id), 'every socket is in the room named by its id');
  root.close();
  chat.close();
});

test('a namespace query is its auth, a refusal reaches 2.x as an error, an unknown namespace too', async () => {
  const ok = v2('/private', { query: { token: 'secret' } });
  await once(ok, 'connect');
  const bad = v2('/private', { query: { token: 'wrong' } });
  // Protocol v4's ERROR carries the middleware's data (else its message).
  assert.deepEqual(await once(bad, 'error'), { reason: 'bad token' });
  const none = v2('/nowhere');
  assert.deepEqual(await once(none, 'error'), { message: 'Invalid namespace' });
  [ok, bad, none].forEach((s) => s.close());
});

test('2.x clients keep their sessions with client pings across many heartbeats', async () => {
  const [a, b] = await connected([v2('/', V2_OPTIONS.polling), v2('/', V2_OPTIONS.websocket)]);
  let closed = 0;
  a.on('disconnect', () => closed++);
  b.on('disconnect', () => closed++);
  await sleep(1600); // more than three pingInterval + pingTimeout windows
  assert.equal(closed, 0);
  a.emit('msg', 'still here');
  await until(() => b.got.length === 1, 3000, 'relay');
  a.close();
  b.close();
});

test('raw v3 polling: length framing, client ping → pong, ping timeout', async () => {
  const { open, url, first } = await rawSession(tour);
  assert.deepEqual(open.upgrades, ['websocket']);
  assert.equal(open.pingInterval, 300);
  assert.ok(first.endsWith('2:40'), 'protocol v4 connects "/" on its own, in the same payload');
  let res = await raw(url, { method: 'POST', body: frame('2') });
  assert.equal(res.body.toString(), 'ok');
  res = await raw(url);
  assert.equal(res.body.toString(), '1:3');
  // Text with characters outside the BMP: lengths count UTF-16 units, as JavaScript does.
  res = await raw(url, { method: 'POST', body: frame('42["echo","😀é"]') });
  assert.equal(res.status, 200);
  res = await raw(url);
  assert.equal(res.headers['content-type'], 'text/plain; charset=UTF-8');
  assert.equal(res.body.toString(), frame('42["echo","😀é"]'));
  assert.equal(res.body.toString().split(':')[0], '16');
  // A payload whose length lies is a parse error.
  res = await raw(url, { method: 'POST', body: '9:42' });
  assert.equal(res.status, 400);
  res = await raw(url);
  assert.equal(res.status, 400, 'the session is gone');
  // A session that sends no ping is closed after pingInterval + pingTimeout.
  const quiet = await rawSession(tour);
  const start = Date.now();
  res = await raw(quiet.url); // held until the close
  assert.equal(res.body.toString(), '1:1');
  const waited = Date.now() - start;
  assert.ok(waited >= 400 && waited < 2500, `closed after ${waited} ms`);
});

test('raw v3 polling: binary payloads without b64, base64 with it, binary POSTs', async () => {
  const event = '451-["echo",{"_placeholder":true,"num":0}]'; // an Engine.IO message
  const binaryPayload = Buffer.concat([
    Buffer.from([0, ...String(event.length).split('').map(Number), 255]), Buffer.from(event),
    Buffer.from([1, 4, 255, 4, 1, 2, 3]),
  ]);
  const { url } = await rawSession(tour);
  let res = await raw(url, { method: 'POST', body: binaryPayload,
    headers: { 'content-type': 'application/octet-stream' } });
  assert.equal(res.status, 200);
  res = await raw(url);
  assert.equal(res.headers['content-type'], 'application/octet-stream');
  assert.deepEqual(res.body, binaryPayload, 'the echo comes back in the same binary form');

  const b64 = await rawSession(tour, '&b64=1');
  res = await raw(b64.url, { method: 'POST', body: frame(event, 'b4AQID') });
  assert.equal(res.status, 200);
  res = await raw(b64.url);
  assert.equal(res.headers['content-type'], 'text/plain; charset=UTF-8');
  assert.equal(res.body.toString(), frame(event, 'b4AQID'));
});

test('raw v3 JSONP polling: scripts out, form fields in', async () => {
  const { url, first } = await rawSession(tour, '&j=3');
  assert.ok(first.startsWith('___eio[3]("') && first.endsWith('");'), first);
  const payload = JSON.parse(first.slice('___eio[3]('.length, -2));
  assert.match(payload, /^\d+:0\{"sid":/);
  // The client escapes newlines; a line break and a literal backslash-n both survive.
  const packet = '42["echo","a\\nb\u2028"]';
  const form = `d=${encodeURIComponent(frame(packet).replace(/\\n/g, '\\\\n'))}`;
  let res = await raw(url, { method: 'POST', body: form,
    headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(res.status, 200);
  res = await raw(url);
  const script = res.body.toString();
  assert.ok(script.startsWith('___eio[3]("'), script);
  assert.ok(script.includes('\\u2028'), 'U+2028 is escaped for old JavaScript');
  assert.equal(JSON.parse(script.slice('___eio[3]('.length, -2)), frame(packet));
});

// Node's heartbeat timers are exact; sioc's wheel turns every 10 ms, so a request that names a
// session lets the due timers fire first: at pingInterval + pingTimeout the session is gone.
test('a v3 session silent for pingInterval + pingTimeout is gone for the very next request', async () => {
  for (let i = 0; i < 5; i++) {
    const { body } = await request(`${tour.url}/socket.io/?EIO=3&transport=polling`);
    const sid = JSON.parse(body.slice(body.indexOf('{'), body.lastIndexOf('}') + 1)).sid;
    await sleep(500);
    const res = await request(`${tour.url}/socket.io/?EIO=3&transport=polling&sid=${sid}`, { method: 'POST', body: '1:2' });
    assert.equal(res.status, 400, `round ${i}`);
  }
});

