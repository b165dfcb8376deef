// Engine.IO v4 with the real engine.io-client against protocol-test-server's echo endpoint.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Socket } = require('engine.io-client');
const WebSocket = require('ws');
const { startServer, request, rawRequest, once, until, sleep, bin, nextMessage } = require('./lib');

let server;
before(async () => {
  server = await startServer(bin('PROTOCOL_TEST_SERVER'), ['--upgrade-timeout', '500']);
});
after(async () => assert.equal(await server.stop(), 0, 'clean exit (no sanitizer report)'));

const EIO = () => `${server.url}/engine.io/?EIO=4`;

// A polling handshake; resolves with the sid.
async function handshake(base = EIO()) {
  const { body } = await request(`${base}&transport=polling`);
  return JSON.parse(body.slice(1)).sid;
}

function connect(transports, opts = {}) {
  const socket = new Socket(server.url, { path: '/engine.io/', transports, ...opts });
  socket.received = [];
  socket.on('message', (m) => socket.received.push(m));
  return socket;
}

async function echoes(socket, messages, ms = 5000) {
  const start = socket.received.length;
  for (const m of messages) socket.send(m);
  await until(() => socket.received.length >= start + messages.length, ms, 'echoes');
  return socket.received.slice(start);
}

for (const [name, transports] of [['polling only', ['polling']], ['websocket only', ['websocket']]]) {
  test(`${name}: text and binary messages echo, on that transport`, async () => {
    const socket = connect(transports);
    await once(socket, 'open');
    assert.equal(socket.transport.name, transports[0]);
    const bin = Buffer.from([0, 1, 2, 250, 255]);
    const got = await echoes(socket, ['hello', '你好 🌍', bin, new Uint8Array([9, 8, 7])]);
    assert.equal(got[0], 'hello');
    assert.equal(got[1], '你好 🌍');
    assert.deepEqual(Buffer.from(got[2]), bin);
    assert.deepEqual(Buffer.from(got[3]), Buffer.from([9, 8, 7]));
    assert.equal(socket.transport.name, transports[0]);
    socket.close();
  });

  test(`${name}: a 900 KB message makes the round trip intact`, async () => {
    const socket = connect(transports);
    await once(socket, 'open');
    const big = 'x'.repeat(450 * 1024) + 'é'.repeat(225 * 1024); // 900 KiB of UTF-8
    const [got] = await echoes(socket, [big], 15000);
    assert.equal(got.length, big.length);
    assert.equal(got, big);
    socket.close();
  });
}

test('default transports upgrade to websocket without losing, duplicating or reordering', async () => {
  const socket = connect(['polling', 'websocket']);
  await once(socket, 'open');
  assert.equal(socket.transport.name, 'polling');
  const sent = [];
  let i = 0;
  // Keep sending through the whole upgrade, then a while after it.
  const pump = setInterval(() => {
    for (let k = 0; k < 5; k++) {
      const m = `m${i++}`;
      sent.push(m);
      socket.send(m);
    }
  }, 2);
  await once(socket, 'upgrade');
  await sleep(100);
  clearInterval(pump);
  await until(() => socket.received.length >= sent.length, 5000, 'all echoes');
  assert.equal(socket.transport.name, 'websocket');
  assert.deepEqual(socket.received, sent);
  socket.close();
});

test('an oversize message is refused on each transport while another client carries on', async () => {
  const bystander = connect(['websocket']);
  await once(bystander, 'open');
  const tooBig = 'y'.repeat(1000001);

  const ws = connect(['websocket']);
  await once(ws, 'open');
  ws.send(tooBig);
  const [reason] = await once(ws, 'close', 5000);
  assert.match(reason, /transport (close|error)/);

  const poll = connect(['polling']);
  await once(poll, 'open');
  poll.send(tooBig);
  await once(poll, 'close', 5000);

  assert.deepEqual(await echoes(bystander, ['still here']), ['still here']);
  bystander.close();
});

test('a WebSocket message over maxHttpBufferSize closes with 1009', async () => {
  const sid = await handshake();
  const raw = new WebSocket(`ws://localhost:${server.port}/engine.io/?EIO=4&transport=websocket&sid=${sid}`);
  await once(raw, 'open');
  raw.send('2probe');
  assert.equal(await nextMessage(raw), '3probe');
  raw.send('5');
  raw.send('4' + 'z'.repeat(1000001));
  const [code] = await once(raw, 'close', 5000);
  assert.equal(code, 1009);
});

test('fragmented WebSocket messages are reassembled', async () => {
  const raw = new WebSocket(`ws://localhost:${server.port}/engine.io/?EIO=4&transport=websocket`);
  await nextMessage(raw); // the open packet
  raw.send('4hel', { fin: false });
  raw.send('lo wor', { fin: false });
  raw.send('ld', { fin: true });
  assert.equal(await nextMessage(raw), '4hello world');
  raw.close();
});

test('the server pings every pingInterval and the client answers', async () => {
  const socket = connect(['websocket']);
  await once(socket, 'open');
  let pings = 0;
  socket.on('ping', () => pings++);
  await sleep(1000); // pingInterval 300
  assert.ok(pings >= 2 && pings <= 4, `pings: ${pings}`);
  assert.equal(socket.readyState, 'open');
  socket.close();
});

test('a client that never answers pings is closed after pingTimeout (polling)', async () => {
  const sid = await handshake();
  const t0 = Date.now();
  const ping = await request(`${EIO()}&transport=polling&sid=${sid}`);
  assert.equal(ping.body, '2');
  assert.ok(Date.now() - t0 >= 250, 'held until the ping');
  const closed = await request(`${EIO()}&transport=polling&sid=${sid}`);
  assert.equal(closed.body, '1', 'the held GET gets the close packet');
  const gone = await request(`${EIO()}&transport=polling&sid=${sid}`);
  assert.equal(gone.status, 400);
  assert.deepEqual(JSON.parse(gone.body), { code: 1, message: 'Session ID unknown' });
});

test('a client that never answers pings is closed after pingTimeout (websocket)', async () => {
  const raw = new WebSocket(`ws://localhost:${server.port}/engine.io/?EIO=4&transport=websocket`);
  const frames = [];
  raw.on('message', (m) => frames.push(String(m)));
  const [code] = await once(raw, 'close', 3000);
  assert.deepEqual(frames.slice(1), ['2']);
  assert.ok(code === 1000 || code === 1005 || code === 1006, `close code ${code}`);
});

test('unknown sids get 400 Session ID unknown on GET, POST and WebSocket upgrade', async () => {
  const sid = 'AAAAAAAAAAAAAAAAAAAA';
  for (const method of ['GET', 'POST']) {
    const res = await request(`${EIO()}&transport=polling&sid=${sid}`, { method, body: method === 'POST' ? '4x' : undefined });
    assert.equal(res.status, 400, method);
    assert.deepEqual(JSON.parse(res.body), { code: 1, message: 'Session ID unknown' });
  }
  const raw = new WebSocket(`ws://localhost:${server.port}/engine.io/?EIO=4&transport=websocket&sid=${sid}`);
  raw.on('error', () => {});
  const [, res] = await once(raw, 'unexpected-response');
  assert.equal(res.statusCode, 400);
  raw.terminate();
});

test('handshake errors carry Node\'s codes and messages', async () => {
  const cases = [
    [`${server.url}/engine.io/?EIO=4`, 'GET', 0, 'Transport unknown'],
    [`${EIO()}&transport=flash`, 'GET', 0, 'Transport unknown'],
    [`${EIO()}&transport=polling`, 'POST', 2, 'Bad handshake method'],
    [`${EIO()}&transport=websocket`, 'GET', 3, 'Bad request'],
    [`${server.url}/engine.io/?EIO=3&transport=polling`, 'GET', 5, 'Unsupported protocol version'],
    [`${server.url}/engine.io/?transport=polling`, 'GET', 5, 'Unsupported protocol version'],
  ];
  for (const [url, method, code, message] of cases) {
    const res = await request(url, { method, body: method === 'POST' ? '' : undefined });
    assert.equal(res.status, 400, url);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(res.body), { code, message }, url);
  }
});

test('query arguments are found by name in any order, past others whose names begin with theirs', async () => {
  const base = `${server.url}/engine.io/`;
  const hs = await request(`${base}?transportX=websocket&sidx=A&jj=0&EIOx=3&b64x=1&transport=polling&EIO=4`);
  assert.equal(hs.status, 200, hs.body);
  assert.ok(hs.body.startsWith('0{'), hs.body); // no sid taken from sidx, no JSONP from jj
  const { sid } = JSON.parse(hs.body.slice(1));
  const post = await request(`${base}?sidx=nope&EIO=4&sid=${sid}&transport=polling`, { method: 'POST', body: '4hi' });
  assert.equal(post.status, 200, post.body);
  assert.equal(post.body, 'ok');
  const jsonp = await request(`${base}?t=1&j=3&EIO=4&transport=polling`);
  assert.equal(jsonp.status, 200);
  assert.ok(jsonp.body.startsWith('___eio[3]('), jsonp.body);
});

test('a second concurrent GET ends the session as Node does', async () => {
  const sid = await handshake();
  const first = request(`${EIO()}&transport=polling&sid=${sid}`);
  await sleep(50);
  const second = await request(`${EIO()}&transport=polling&sid=${sid}`);
  assert.equal(second.status, 400);
  assert.equal((await first).body, '1');
  const gone = await request(`${EIO()}&transport=polling&sid=${sid}`);
  assert.equal(gone.status, 400);
});

test('a POST body over maxHttpBufferSize gets 413 and a malformed one ends the session', async () => {
  const sid = await handshake();
  // Refused on its Content-Length, before the body is read (so only the headers are sent; the
  // connection then waits for the body, to drop it, and we hang up first).
  const big = await rawRequest(server.port,
    `POST /engine.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000001\r\n\r\n`, 300);
  assert.match(big, /^HTTP\/1\.1 413 /);
  const ok = await request(`${EIO()}&transport=polling&sid=${sid}`, { method: 'POST', body: '4fine' });
  assert.equal(ok.status, 200);
  assert.equal(ok.body, 'ok');
  const echo = await request(`${EIO()}&transport=polling&sid=${sid}`);
  assert.deepEqual(echo.body.split('\x1e').filter((p) => p !== '2'), ['4fine']); // a ping may lead
  const bad = await request(`${EIO()}&transport=polling&sid=${sid}`, { method: 'POST', body: '4a\x1e9zz' });
  assert.equal(bad.status, 400);
  const gone = await request(`${EIO()}&transport=polling&sid=${sid}`);
  assert.equal(gone.status, 400);
});

test('an upgrade that never completes is dropped and polling carries on', async () => {
  // A heartbeat slower than the upgrade timeout, so the raw client need not answer pings.
  const slow = await startServer(bin('PROTOCOL_TEST_SERVER'), ['--upgrade-timeout', '500', '--ping-interval', '10000']);
  try {
    const base = `${slow.url}/engine.io/?EIO=4&transport=polling`;
    const sid = await handshake(`${slow.url}/engine.io/?EIO=4`);
    const raw = new WebSocket(`ws://localhost:${slow.port}/engine.io/?EIO=4&transport=websocket&sid=${sid}`);
    await once(raw, 'open');
    raw.send('2probe');
    assert.equal(await nextMessage(raw), '3probe');
    const t0 = Date.now();
    await once(raw, 'close', 3000);
    assert.ok(Date.now() - t0 >= 400, 'closed by the upgrade timeout');
    const post = await request(`${base}&sid=${sid}`, { method: 'POST', body: '4after' });
    assert.equal(post.body, 'ok');
    const got = await request(`${base}&sid=${sid}`);
    assert.equal(got.body, '4after');
  } finally {
    assert.equal(await slow.stop(), 0);
  }
});

test('session ids are unique and unguessable', async () => {
  const sids = new Set();
  for (let i = 0; i < 50; i++) {
    const { body } = await request(`${EIO()}&transport=polling`);
    const open = JSON.parse(body.slice(1));
    assert.match(open.sid, /^[A-Za-z0-9_-]{20}$/);
    assert.deepEqual(open.upgrades, ['websocket']);
    assert.equal(open.pingInterval, 300);
    assert.equal(open.pingTimeout, 200);
    assert.equal(open.maxPayload, 1000000);
    sids.add(open.sid);
  }
  assert.equal(sids.size, 50);
});

// The scenarios of the public Engine.IO v4 protocol test suite that the tests above do not cover.
test('a handshake with PUT is a bad handshake method', async () => {
  const res = await request(`${EIO()}&transport=polling`, { method: 'PUT', body: '' });
  assert.equal(res.status, 400);
});

test('a cancelled polling request closes the session', async () => {
  const sid = await handshake();
  const controller = new AbortController();
  fetch(`${EIO()}&transport=polling&sid=${sid}`, { signal: controller.signal }).catch(() => {});
  await sleep(20);
  controller.abort();
  await sleep(50);
  assert.equal((await request(`${EIO()}&transport=polling&sid=${sid}`)).status, 400);
});

test('a close packet over polling ends the session and releases the GET with a noop', async () => {
  const sid = await handshake();
  const [poll, post] = await Promise.all([
    request(`${EIO()}&transport=polling&sid=${sid}`),
    sleep(20).then(() => request(`${EIO()}&transport=polling&sid=${sid}`, { method: 'POST', body: '1' })),
  ]);
  assert.equal(post.body, 'ok');
  assert.equal(poll.status, 200);
  assert.equal(poll.body, '6');
  assert.equal((await request(`${EIO()}&transport=polling&sid=${sid}`)).status, 400);
});

// Node takes a new connection a little after it is made, when its request has come: requests on
// new connections are served in the order the connections were made, even when the later one's
// request was written first. The protocol's own suite relies on it ("forcefully closes the
// session": a GET and a POST that closes, each on a new connection).
test('requests on new connections are served in the order the connections were made', async () => {
  const net = require('node:net');
  const rounds = 20;
  let inOrder = 0;
  for (let round = 0; round < rounds; round++) {
    const sid = await handshake();
    const path = `/engine.io/?EIO=4&transport=polling&sid=${sid}`;
    const get = net.connect(server.port, '127.0.0.1');
    await once(get, 'connect');
    const post = net.connect(server.port, '127.0.0.1');
    await once(post, 'connect');
    const got = { get: '', post: '' };
    get.on('data', (d) => { got.get += d; });
    post.on('data', (d) => { got.post += d; });
    post.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\n1`);
    get.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    await Promise.all([once(get, 'close'), once(post, 'close')]);
    assert.match(got.post, /^HTTP\/1\.1 200 /);
    if (/^HTTP\/1\.1 200 [^]*\r\n\r\n6$/.test(got.get)) inOrder++;
  }
  // Served at once instead, the POST (written first) wins nearly every round.
  assert.ok(inOrder >= rounds - 2, `the GET was served first in ${inOrder} of ${rounds} rounds`);
});

test('a close packet over websocket closes it', async () => {
  const raw = new WebSocket(`ws://localhost:${server.port}/engine.io/?EIO=4&transport=websocket`);
  await nextMessage(raw);
  raw.send('1');
  await once(raw, 'close', 2000);
});

test('a malformed websocket packet closes it', async () => {
  const raw = new WebSocket(`ws://localhost:${server.port}/engine.io/?EIO=4&transport=websocket`);
  await nextMessage(raw);
  raw.send('abc');
  await once(raw, 'close', 2000);
});

test('after an upgrade, polling requests and another websocket with the sid are refused', async () => {
  const sid = await handshake();
  const ws = new WebSocket(`ws://localhost:${server.port}/engine.io/?EIO=4&transport=websocket&sid=${sid}`);
  await once(ws, 'open');
  ws.send('2probe');
  assert.equal(await nextMessage(ws), '3probe');
  ws.send('5');
  await sleep(20);
  assert.equal((await request(`${EIO()}&transport=polling&sid=${sid}`)).status, 400);
  // As Node: the second WebSocket is switched to (101), then closed; the session carries on.
  const second = new WebSocket(`ws://localhost:${server.port}/engine.io/?EIO=4&transport=websocket&sid=${sid}`);
  let opened = false;
  second.on('open', () => { opened = true; });
  second.on('unexpected-response', (req, res) => assert.fail(`answered ${res.statusCode}, not 101`));
  await once(second, 'close', 2000);
  assert.ok(opened, 'the second WebSocket was switched to before it was closed');
  ws.send('4hello');
  assert.equal(await nextMessage(ws), '4hello');
  ws.close();
});

test('a second WebSocket during an upgrade is switched to and closed, the probe goes on', async () => {
  const sid = await handshake();
  const url = `ws://localhost:${server.port}/engine.io/?EIO=4&transport=websocket&sid=${sid}`;
  const ws = new WebSocket(url);
  await once(ws, 'open');
  ws.send('2probe');
  assert.equal(await nextMessage(ws), '3probe');
  const second = new WebSocket(url);
  let opened = false;
  second.on('open', () => { opened = true; });
  second.on('error', () => {});
  await once(second, 'close', 2000);
  assert.ok(opened);
  ws.send('5');
  ws.send('4after');
  assert.equal(await nextMessage(ws), '4after');
  ws.close();
});

// What node-fetch does on Node 20: "Connection: close" on every request, through the global agent,
// which keeps sockets alive unless the answer says it closes.
test('an answer after which the connection closes says so; keep-alive clients reuse the rest', async () => {
  const http = require('node:http');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = (path, headers = {}, method = 'GET', body) => new Promise((resolve, reject) => {
    const req = http.request(`${server.url}${path}`, { agent, method, headers }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text, sock: req.socket }));
    });
    req.on('error', reject);
    req.end(body);
  });
  const close = { connection: 'close' };
  const paths = ['/engine.io/?EIO=abc&transport=polling', '/engine.io/?EIO=4&transport=abc',
    '/engine.io/?EIO=4&transport=polling', '/engine.io/?EIO=4&transport=polling&sid=nope', '/nope.html',
    '/socket.io/socket.io.min.js']; // a file, which libwebsockets serves itself
  for (let round = 0; round < 2; round++) {
    for (const p of paths) {
      const res = await get(p, close);
      assert.equal(res.headers.connection, 'close', p);
    }
  }
  // Without the header, HTTP/1.1 keep-alive carries several exchanges, errors included.
  const first = await get('/engine.io/?EIO=4&transport=polling');
  const sid = JSON.parse(first.body.slice(1)).sid;
  assert.notEqual(first.headers.connection, 'close');
  const post = await get(`/engine.io/?EIO=4&transport=polling&sid=${sid}`, {}, 'POST', '4hi');
  assert.equal(post.body, 'ok');
  const bad = await get('/engine.io/?EIO=4&transport=polling&sid=nope');
  assert.equal(bad.status, 400);
  const poll = await get(`/engine.io/?EIO=4&transport=polling&sid=${sid}`);
  assert.equal(poll.body, '4hi');
  assert.equal(poll.sock, first.sock, 'one connection carried them all');
  agent.destroy();
});

test('HTTP/1.0: closed after the answer unless keep-alive was asked, and then told so', async () => {
  const plain = await rawRequest(server.port, 'GET /engine.io/?EIO=4&transport=polling HTTP/1.0\r\n\r\n');
  assert.match(plain, /^HTTP\/1\.[01] 200 /);
  assert.match(plain, /\r\nconnection: close\r\n/i);
  const twice = 'GET /engine.io/?EIO=4&transport=abc HTTP/1.0\r\nConnection: keep-alive\r\n\r\n';
  const res = await rawRequest(server.port, twice + twice, 1000);
  assert.equal(res.match(/HTTP\/1\.[01] 400 /g).length, 2, res);
  assert.match(res, /\r\nconnection: keep-alive\r\n/i);
  const file = 'GET /socket.io/socket.io.min.js HTTP/1.0\r\nConnection: keep-alive\r\n\r\n';
  assert.match(await rawRequest(server.port, file, 1000), /\r\nconnection: keep-alive\r\n/i);
  const closing = await rawRequest(server.port, 'GET /socket.io/socket.io.min.js HTTP/1.0\r\n\r\n', 1000);
  assert.match(closing, /^HTTP\/1\.[01] 200 [^]*\r\nconnection: close\r\n/i);
});

// Node's "fast upgrade" check: every 100 ms after the probe a held GET is released with a noop;
// what is sent meanwhile rides on the GET instead.
test('during an upgrade the held GET carries what is sent, then a noop at Node\'s 100 ms check', async () => {
  const sid = await handshake();
  const url = `${EIO()}&transport=polling&sid=${sid}`;
  const held = request(url);
  await sleep(20);
  const ws = new WebSocket(`ws://localhost:${server.port}/engine.io/?EIO=4&transport=websocket&sid=${sid}`);
  await once(ws, 'open');
  ws.send('2probe');
  assert.equal(await nextMessage(ws), '3probe');
  const probed = Date.now();
  await sleep(20);
  assert.equal((await request(url, { method: 'POST', body: '4meanwhile' })).body, 'ok');
  assert.equal((await held).body, '4meanwhile'); // the echo, not a noop
  const poll = await request(url);
  assert.equal(poll.body, '6');
  const waited = Date.now() - probed;
  assert.ok(waited >= 90 && waited < 1500, `released ${waited} ms after the probe`);
  ws.send('5');
  ws.send('4hello');
  assert.equal(await nextMessage(ws), '4hello');
  ws.close();
});

// Node's timers are exact: a polling session that answers no ping is gone at pingInterval +
// pingTimeout (here 300 + 200 ms), for the very next request; sioc's wheel ticks every 10 ms.
// The client's 500 ms start when the handshake's answer arrives, a fraction of a millisecond
// after the server's started, so a request may come just before the deadline (Node's as much as
// sioc's): 5 ms more, half a tick, still catches a death that waits for the wheel.
test('a polling session that answers no ping is gone at pingInterval + pingTimeout', async () => {
  for (let i = 0; i < 5; i++) {
    const sid = await handshake();
    await sleep(505);
    const res = await request(`${EIO()}&transport=polling&sid=${sid}`, { method: 'POST', body: '4x' });
    assert.equal(res.status, 400, `round ${i}`);
  }
});

