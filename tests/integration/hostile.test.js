// Hostile network input against feature-tour: each offender gets Node's error or close, while two
// bystanders keep chatting, and the server's memory comes back to where it was.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { io } = require('socket.io-client');
const { startServer, request, rawRequest, rawSocketIO, once, until, sleep, bin } = require('./lib');

let tour;
let a;
let b;
let n = 0;
before(async () => {
  tour = await startServer(bin('FEATURE_TOUR'));
  a = io(tour.url, { forceNew: true, transports: ['websocket'] });
  b = io(tour.url, { forceNew: true });
  await Promise.all([once(a, 'connect'), once(b, 'connect')]);
});
after(async () => {
  a.close();
  b.close();
  assert.equal(await tour.stop(), 0, 'clean exit (no sanitizer report)');
});

// The bystanders still chat: a message each way arrives.
async function bystandersChat() {
  const tag = `still chatting ${n++}`;
  const got = Promise.all([
    new Promise((r) => b.once('serverMsg', r)),
    new Promise((r) => a.once('serverMsg', r)),
  ]);
  a.emit('msg', tag);
  await sleep(20);
  b.emit('msg', tag);
  assert.deepEqual(await got, [tag, tag]);
}

async function closedAfter(send) {
  const [ws] = await rawSocketIO(tour.port);
  const closed = once(ws, 'close', 5000);
  send(ws);
  const [code] = await closed;
  await bystandersChat();
  return code;
}

test('malformed Socket.IO packets of every kind close the offender only', async () => {
  const packets = ['4abc', '42{}', '42abc[1]', '47["x"]', '42["connect"]', '40[]', '41{}', '43{}',
    '44[]', '45["x"]', '4511-["x"]', '42["x"', '4' + '9'.repeat(30), '42/admin,["x"]garbage'];
  for (const p of packets) {
    await closedAfter((ws) => ws.send(p));
  }
});

test('malformed Engine.IO packets close the offender only', async () => {
  for (const p of ['', '9', 'x', '2', '4'.repeat(0) + 'b@@@@']) {
    await closedAfter((ws) => ws.send(p));
  }
});

test('invalid UTF-8 in a text frame closes with 1007', async () => {
  const code = await closedAfter((ws) => ws._socket.write(Buffer.from([0x81, 0x83, 0, 0, 0, 0, 0x34, 0xc3, 0x28])));
  assert.equal(code, 1007);
});

test('lying placeholders and attachment counts in the millions are refused', async () => {
  await closedAfter((ws) => {
    ws.send('451-["x",{"_placeholder":true,"num":7}]');
    ws.send(Buffer.from([1]));
  });
  await closedAfter((ws) => ws.send('452000000-["x",{"_placeholder":true,"num":0}]'));
  await closedAfter((ws) => ws.send(Buffer.from([1, 2, 3]))); // binary nobody announced
});

test('JSON nested 100k deep is refused without harm', async () => {
  const deep = '['.repeat(100000) + ']'.repeat(100000);
  await closedAfter((ws) => ws.send(`42["x",${deep}]`));
  const post = JSON.parse((await request(`${tour.url}/socket.io/?EIO=4&transport=polling`)).body.slice(1)).sid;
  const res = await request(`${tour.url}/socket.io/?EIO=4&transport=polling&sid=${post}`, { method: 'POST', body: `40\x1e42["x",${deep}]` });
  assert.equal(res.status, 200); // Engine.IO accepted the payload; Socket.IO then refused the packet
  await bystandersChat();
});

test('a POST without Content-Length gets 411, one that lies about it is cut off', async () => {
  const sid = JSON.parse((await request(`${tour.url}/socket.io/?EIO=4&transport=polling`)).body.slice(1)).sid;
  const path = `/socket.io/?EIO=4&transport=polling&sid=${sid}`;
  const chunked = await rawRequest(tour.port, `POST ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n40\x1e\r\n0\r\n\r\n`);
  assert.match(chunked, /^HTTP\/1\.1 411 /);
  const short = await rawRequest(tour.port, `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n40`, 1500);
  assert.doesNotMatch(short, /^HTTP\/1\.1 200/); // still waiting for the rest when we give up
  await bystandersChat();
});

test('bodies and messages over maxHttpBufferSize get 413 and 1009, the offender only', async () => {
  const sid = JSON.parse((await request(`${tour.url}/socket.io/?EIO=4&transport=polling`)).body.slice(1)).sid;
  const big = `4${'x'.repeat(1000001)}`;
  const res = await request(`${tour.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: big });
  assert.equal(res.status, 413); // read to its end first: the client is not cut off mid-write
  // A body declared far past the limit is not waited for: 413 at once, and the connection closes.
  const huge = await rawRequest(tour.port, `POST /socket.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n40`, 2000);
  assert.match(huge, /^HTTP\/1\.1 413 /);
  assert.match(huge, /connection: close/i);
  assert.equal(await closedAfter((ws) => ws.send(`42["msg","${'y'.repeat(1000001)}"]`)), 1009);
});

test('unknown sids and two concurrent GETs get Node\'s errors, the offender only', async () => {
  for (const method of ['GET', 'POST']) {
    const res = await request(`${tour.url}/socket.io/?EIO=4&transport=polling&sid=nosuchsid`, { method, body: method === 'POST' ? '40' : undefined });
    assert.equal(res.status, 400);
    assert.deepEqual(JSON.parse(res.body), { code: 1, message: 'Session ID unknown' });
  }
  const sid = JSON.parse((await request(`${tour.url}/socket.io/?EIO=4&transport=polling`)).body.slice(1)).sid;
  const url = `${tour.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`;
  const held = request(url); // held: nothing is due
  await sleep(100);
  const second = await request(url);
  assert.equal(second.status, 400); // Node: "overlap from client" ends the session
  assert.equal((await held).body, '1'); // the held GET learns of the end with a close packet
  assert.equal((await request(url)).status, 400, 'the session is gone');
  await bystandersChat();
});

// RFC 9112 §6.3: a body whose length is ambiguous is refused, and none of it is read, neither as
// a payload nor as a further request.
test('ambiguous Content-Length is refused with 400 and close, nothing of the body delivered', async () => {
  let smuggled = 0;
  const spy = (m) => { if (String(m).startsWith('smuggled')) smuggled++; };
  a.on('serverMsg', spy);
  try {
    const heads = [
      (n) => `Content-Length: 1 ${n}`,
      (n) => `Content-Length: ${n}\r\nContent-Length: ${n + 30}`,
      (n) => `Content-Length: ${n}\r\nTransfer-Encoding: chunked`,
      (n) => `Transfer-Encoding: chunked\r\nContent-Length: ${n}`,
      (n) => `Content-Length: +${n}`,
      (n) => `Content-Length: ${n}x`,
    ];
    for (const head of heads) {
      const { body } = await request(`${tour.url}/socket.io/?EIO=4&transport=polling`);
      const sid = JSON.parse(body.slice(1)).sid;
      const path = `/socket.io/?EIO=4&transport=polling&sid=${sid}`;
      await request(`${tour.url}${path}`, { method: 'POST', body: '40' });
      const payload = '42["msg","smuggled"]';
      const next = 'GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n';
      const res = await rawRequest(tour.port, `POST ${path} HTTP/1.1\r\nHost: x\r\n${head(payload.length)}\r\n\r\n${payload}${next}`, 1000);
      assert.match(res, /^HTTP\/1\.1 400 /, head(payload.length));
      assert.match(res, /\r\nconnection: close\r\n/i);
      assert.equal(res.match(/HTTP\/1\.1 /g).length, 1, 'one answer: the rest was not read as a request');
    }
    await sleep(100);
    assert.equal(smuggled, 0, 'no smuggled payload reached anyone');
    // The same request framed plainly goes through.
    const { body } = await request(`${tour.url}/socket.io/?EIO=4&transport=polling`);
    const sid = JSON.parse(body.slice(1)).sid;
    const path = `/socket.io/?EIO=4&transport=polling&sid=${sid}`;
    await request(`${tour.url}${path}`, { method: 'POST', body: '40' });
    await sleep(50);
    const ok = await request(`${tour.url}${path}`, { method: 'POST', body: '42["msg","smuggled?"]' });
    assert.equal(ok.status, 200);
    await until(() => smuggled === 1, 2000, 'the plain message');
  } finally {
    a.off('serverMsg', spy);
  }
  await bystandersChat();
});

// As Node's HTTP server: an HTTP version it does not speak gets 400, and the request line and
// headers may take up to 16 KiB (a 4 KiB sid is an unknown sid, not a dropped connection).
test('unknown HTTP versions get 400; a 4 KiB sid is Session ID unknown', async () => {
  for (const version of ['HTTP/9.9', 'HTTP/1.1x', 'HTTP/2.0', 'HTTPS/1.1']) {
    const res = await rawRequest(tour.port, `GET /socket.io/?EIO=4&transport=polling ${version}\r\nHost: x\r\n\r\n`, 1000);
    assert.match(res, /^HTTP\/1\.[01] 400 /, version);
  }
  const noVersion = await rawRequest(tour.port, 'GET /HTTP/1.1\r\nHost: x\r\n\r\n', 1000);
  assert.match(noVersion, /^HTTP\/1\.[01] 400 /, 'a request line without a version');
  const sid = 's'.repeat(4096);
  const res = await rawRequest(tour.port, `GET /socket.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 2000);
  assert.match(res, /^HTTP\/1\.1 400 /);
  assert.match(res, /"Session ID unknown"/);
  const cookie = await rawRequest(tour.port, `GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nCookie: c=${'x'.repeat(12000)}\r\nConnection: close\r\n\r\n`, 2000);
  assert.match(cookie, /^HTTP\/1\.1 200 /, 'a 12 KB cookie is within Node\'s 16 KiB');
  await bystandersChat();
});

// Node's own answers to heads its parser refuses, byte for byte.
const BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n';
const TOO_LARGE = 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n';

test('malformed or oversize request heads get 400 or 431 at once, as Node\'s HTTP server answers', async () => {
  const poll = '/socket.io/?EIO=4&transport=polling';
  const cases = [
    [`GET /\0x HTTP/1.1\r\nHost: x\r\n\r\n`, BAD_REQUEST, 'a NUL in the URL'],
    [`GET ${poll}&x=%00 HTTP/1.1\r\nHost: x\r\n\r\n`, BAD_REQUEST, '%00 in the query'],
    [`GET ${poll}&x=%zz HTTP/1.1\r\nHost: x\r\n\r\n`, BAD_REQUEST, 'a malformed %-escape'],
    [`GET ${poll} HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n`, BAD_REQUEST, 'a NUL in a header value'],
    [`GET ${poll} HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n`, BAD_REQUEST, 'a header line without a colon'],
    [`GET ${poll} HTTP/1.1\r\nHost : x\r\n\r\n`, BAD_REQUEST, 'a space before the colon'],
    [`GET ${poll} HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n`, BAD_REQUEST, 'a folded header line'],
    [`FOO ${poll} HTTP/1.1\r\nHost: x\r\n\r\n`, BAD_REQUEST, 'an unknown method'],
    [`GET /${'a'.repeat(100000)} HTTP/1.1\r\nHost: x\r\n\r\n`, TOO_LARGE, 'a 100 KB URL'],
    [`GET ${poll} HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100000)}\r\n\r\n`, TOO_LARGE, 'a 100 KB header'],
    [`GET ${poll} HTTP/1.1\r\n${'X-A: b\r\n'.repeat(5000)}\r\n`, TOO_LARGE, '5000 headers'],
    [`GET ${poll}${'&a=1'.repeat(200)} HTTP/1.1\r\nHost: x\r\n\r\n`, TOO_LARGE, '200 query parameters'],
  ];
  for (const [text, answer, what] of cases) {
    const t0 = Date.now();
    const res = await rawRequest(tour.port, text, 2000);
    assert.equal(res, answer, what);
    assert.ok(Date.now() - t0 < 1000, `${what}: answered and closed after ${Date.now() - t0} ms`);
  }
  // What Node takes, sioc takes: bare LF line ends, 60 headers, a 12 KB head.
  const ok = [
    `GET ${poll} HTTP/1.1\nHost: x\nConnection: close\n\n`,
    `GET ${poll} HTTP/1.1\r\n${'Accept: b\r\n'.repeat(60)}Connection: close\r\n\r\n`,
    `GET ${poll}&pad=${'p'.repeat(12000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
  ];
  for (const text of ok) {
    assert.match(await rawRequest(tour.port, text, 2000), /^HTTP\/1\.1 200 /, text.slice(0, 60));
  }
  await bystandersChat();
});

test('a head that arrives in pieces is judged once it is whole, or as soon as it goes wrong', async () => {
  const net = require('node:net');
  const piecewise = (pieces) => new Promise((resolve) => {
    const sock = net.connect(tour.port, '127.0.0.1');
    let got = '';
    sock.on('data', (d) => { got += d; });
    sock.on('error', () => {});
    sock.on('close', () => resolve(got));
    sock.on('connect', async () => {
      for (const p of pieces) {
        if (sock.destroyed) break;
        sock.write(p);
        await sleep(50);
      }
    });
    setTimeout(() => sock.destroy(), 3000);
  });
  const good = await piecewise(['GET /socket.io/?EIO=4&tr', 'ansport=polling HTTP/1.1\r\nHo', 'st: x\r\nConnection: close\r\n', '\r\n']);
  assert.match(good, /^HTTP\/1\.1 200 [^]*"sid"/);
  // A client silent at first (a browser's preconnect) is served once it asks.
  const sock = net.connect(tour.port, '127.0.0.1');
  let late = '';
  sock.on('data', (d) => { late += d; });
  await sleep(1500);
  sock.write('GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  await once(sock, 'close', 2000);
  assert.match(late, /^HTTP\/1\.1 200 [^]*"sid"/);
  const t0 = Date.now();
  const bad = await piecewise(['GET /socket.io/?EIO=4 HTTP/1.1\r\nHost: x\r\n', 'X-A: \0', 'never sent: the answer came first'.split('')].flat());
  assert.equal(bad, BAD_REQUEST);
  assert.ok(Date.now() - t0 < 1000, `answered after ${Date.now() - t0} ms`);
  await bystandersChat();
});

// A WebSocket on a bare TCP socket, for frames no client library would send. Resolves with the
// socket once the 101 and the open packet are in; `sock.rx` collects what follows.
function rawWebSocket(port) {
  const net = require('node:net');
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(
      'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n' +
      'Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'));
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => reject(new Error('no handshake')), 3000);
    sock.on('error', () => {});
    sock.gone = new Promise((r) => sock.on('close', r)); // the server hung up
    sock.on('data', (d) => {
      got = Buffer.concat([got, d]);
      if (sock.rx) { sock.rx = Buffer.concat([sock.rx, d]); return; }
      const end = got.indexOf('\r\n\r\n');
      if (end >= 0 && got.length > end + 4 + 2) { // the open packet's frame has begun
        clearTimeout(timer);
        sock.rx = Buffer.alloc(0);
        resolve(sock);
      }
    });
  });
}

// The close frame's status in what the server sent, or null.
function closeStatus(buf) {
  for (let i = 0; i + 3 < buf.length; i++) {
    if (buf[i] === 0x88 && buf[i + 1] >= 2) return buf.readUInt16BE(i + 2);
  }
  return null;
}

test('a frame that declares more than maxHttpBufferSize is closed with 1009 at its header', async () => {
  for (const declared of [1100000, 2 ** 40]) {
    for (const payload of ['42["msg","', '']) { // the header alone must be enough
      const sock = await rawWebSocket(tour.port);
      const head = Buffer.alloc(14);
      head[0] = 0x81; // FIN, text
      head[1] = 0x80 | 127; // masked, 64-bit length
      head.writeBigUInt64BE(BigInt(declared), 2);
      head.writeUInt32BE(0x01020304, 10); // mask key
      const t0 = Date.now();
      sock.write(Buffer.concat([head, Buffer.from(payload)]));
      await until(() => closeStatus(sock.rx) !== null, 1000, `the close of a ${declared}-byte frame`);
      assert.equal(closeStatus(sock.rx), 1009);
      assert.ok(Date.now() - t0 < 1000);
      await sock.gone; // and the server hangs up
      sock.destroy();
    }
  }
  await bystandersChat();
});

// A client frame: masked with `key` unless it is null.
function clientFrame(opcode, payload, { fin = true, key = [1, 2, 3, 4], rsv = 0 } = {}) {
  const data = Buffer.from(payload);
  const len = data.length < 126 ? [data.length] : [126, data.length >> 8, data.length & 0xff];
  const head = Buffer.from([(fin ? 0x80 : 0) | rsv | opcode, (key ? 0x80 : 0) | len[0], ...len.slice(1)]);
  if (!key) return Buffer.concat([head, data]);
  return Buffer.concat([head, Buffer.from(key), data.map((c, i) => c ^ key[i % 4])]);
}

// RFC 6455 §5.1, §5.2, §5.5, as Node's ws answers: the offender is closed with the status, and
// nothing it sent after the error reaches anyone.
test('unmasked frames and other protocol errors close with 1002, relaying nothing', async () => {
  const offences = {
    'unmasked text': clientFrame(1, '42["msg","unmasked"]', { key: null }),
    'reserved bit': clientFrame(1, '42["msg","rsv"]', { rsv: 0x40 }),
    'unknown opcode': clientFrame(3, 'x'),
    'continuation first': clientFrame(0, '42["msg","cont"]'),
    'fragmented ping': clientFrame(9, 'p', { fin: false }),
    'one-byte close': clientFrame(8, 'x'),
    'close status 1005': clientFrame(8, Buffer.from([0x03, 0xed])),
  };
  const relayed = [];
  const listen = (m) => relayed.push(m);
  b.on('serverMsg', listen);
  for (const [what, frame] of Object.entries(offences)) {
    const sock = await rawWebSocket(tour.port);
    sock.write(frame);
    await until(() => closeStatus(sock.rx) !== null, 1000, what);
    assert.equal(closeStatus(sock.rx), 1002, what);
    await sock.gone;
  }
  await bystandersChat();
  b.off('serverMsg', listen);
  assert.deepEqual(relayed.filter((m) => !m.startsWith('still chatting')), []);
});

test('fragments are reassembled around control frames; PING is answered, CLOSE echoed', async () => {
  const sock = await rawWebSocket(tour.port);
  const got = new Promise((r) => b.once('serverMsg', r));
  sock.write(clientFrame(1, '40', {})); // join "/"
  await sleep(50);
  const text = '42["msg","in three pieces, ünïcödé split"]';
  const bytes = Buffer.from(text);
  const cut = [0, 7, bytes.indexOf(0xc3) + 1, bytes.length]; // the second cut splits a character
  sock.write(Buffer.concat([
    clientFrame(1, bytes.subarray(cut[0], cut[1]), { fin: false }),
    clientFrame(9, 'are you there'),
    clientFrame(0, bytes.subarray(cut[1], cut[2]), { fin: false }),
  ]));
  await sleep(30); // the last piece in a later segment, split inside its header
  const last = clientFrame(0, bytes.subarray(cut[2], cut[3]), { fin: true });
  sock.write(last.subarray(0, 3));
  await sleep(30);
  sock.write(last.subarray(3));
  assert.equal(await got, 'in three pieces, ünïcödé split');
  const pong = Buffer.from([0x8a, 13, ...Buffer.from('are you there')]);
  assert.ok(sock.rx.indexOf(pong) >= 0, 'the PING is answered with its payload');
  sock.write(clientFrame(8, Buffer.from([0x0f, 0xa0, ...Buffer.from('bye')]))); // 4000 "bye"
  await sock.gone;
  assert.equal(closeStatus(sock.rx), 4000);
  await bystandersChat();
});

// RFC 6455 §4.2.1 and §4.4, as Node's ws answers them.
test('WebSocket handshakes of another version or with a malformed key are refused', async () => {
  const upgrade = (path, version, key) => rawRequest(tour.port, `GET ${path} HTTP/1.1\r\nHost: x\r\n` +
    `Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: ${version}\r\n` +
    `Sec-WebSocket-Key: ${key}\r\n\r\n`, 1000);
  const good = 'dGhlIHNhbXBsZSBub25jZQ==';
  for (const path of ['/socket.io/?EIO=4&transport=websocket', '/']) {
    assert.match(await upgrade(path, '13', good), /^HTTP\/1\.1 101 /, path);
    for (const version of ['12', '99', '8', '']) {
      const res = await upgrade(path, version, good);
      assert.match(res, /^HTTP\/1\.[01] 426 /, `${path} version ${version}`);
      assert.match(res, /\r\nsec-websocket-version: 13\r\n/i);
    }
    for (const key of ['abcde', 'dGhlIHNhbXBsZSBub25jZQ', 'dGhlIHNhbXBsZSBub25jZQ=', `${good}x`, '!GhlIHNhbXBsZSBub25jZQ==']) {
      assert.match(await upgrade(path, '13', key), /^HTTP\/1\.[01] 400 /, `${path} key ${key}`);
    }
  }
  await bystandersChat();
});

test('no upgrade but WebSocket is switched to (h2c included)', async () => {
  for (const path of ['/', '/socket.io/?EIO=4&transport=polling']) {
    const res = await rawRequest(tour.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n` +
      'Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n', 1000);
    assert.match(res, /^HTTP\/1\.[01] 400 /, path);
    assert.doesNotMatch(res, /101 Switching/);
  }
  const other = await rawRequest(tour.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n', 1000);
  assert.match(other, /^HTTP\/1\.[01] 4\d\d /);
  await bystandersChat();
});

test('half-open connections and idle sockets do not disturb anyone', async () => {
  const net = require('node:net');
  const idle = [];
  for (let i = 0; i < 50; i++) {
    const s = net.connect(tour.port, '127.0.0.1');
    s.on('error', () => {});
    idle.push(s);
  }
  const partial = net.connect(tour.port, '127.0.0.1', () => partial.write('GET /socket.io/?EIO=4&transp'));
  partial.on('error', () => {});
  await sleep(100);
  await bystandersChat();
  idle.forEach((s) => s.destroy());
  partial.destroy();
});

test('headers sent one byte a second are cut off, and nobody else waits meanwhile', async () => {
  const net = require('node:net');
  const request = Buffer.from(`GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(100)}\r\n\r\n`);
  const start = Date.now();
  const slow = [];
  for (let i = 0; i < 50; i++) {
    const s = net.connect(tour.port, '127.0.0.1');
    s.sent = 0;
    s.closedAt = null;
    s.on('error', () => {});
    s.on('close', () => { s.closedAt = Date.now() - start; });
    s.answer = '';
    s.on('data', (d) => { s.answer += d; });
    s.timer = setInterval(() => { if (!s.destroyed) s.write(request.subarray(s.sent, ++s.sent)); }, 1000);
    slow.push(s);
  }
  try {
    // Meanwhile the bystanders chat without delay.
    for (let i = 0; i < 5; i++) {
      const t0 = Date.now();
      await bystandersChat();
      assert.ok(Date.now() - t0 < 500, `a chat round took ${Date.now() - t0} ms`);
      await sleep(1000);
    }
    await until(() => slow.every((s) => s.closedAt !== null), 15000, 'the slow connections to be closed');
  } finally {
    slow.forEach((s) => { clearInterval(s.timer); s.destroy(); });
  }
  // A request has 10 s to complete its head (Node: headersTimeout, 60 s), then 408 as Node says.
  const last = Math.max(...slow.map((s) => s.closedAt));
  assert.ok(last < 14000, `the last one was closed after ${last} ms`);
  for (const s of slow) {
    assert.equal(s.answer, 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
    assert.ok(s.sent < request.length);
  }
  await bystandersChat();
});

// Under valgrind the limit the server sees is valgrind's (it keeps descriptors of its own).
test('past the file-descriptor limit new connections are refused, logged once, and come back',
  { skip: process.env.SIOC_VALGRIND ? 'valgrind changes the descriptor limit' : false }, async () => {
  const net = require('node:net');
  const small = await startServer(bin('FEATURE_TOUR'), ['--log-level', 'info'], ['prlimit', '--nofile=64:64']);
  const conns = [];
  try {
    for (let i = 0; i < 60; i++) {
      const s = net.connect(small.port, '127.0.0.1');
      s.refused = false;
      s.on('error', () => {});
      s.on('close', () => { s.refused = true; });
      conns.push(s);
    }
    await sleep(500);
    const refused = conns.filter((s) => s.refused).length;
    assert.ok(refused >= 5 && refused <= 40, `${refused} of 60 refused`);
    assert.equal(small.log().match(/connection limit reached/g).length, 1, 'logged once');
    assert.match(small.log(), /up to 48 connections \(RLIMIT_NOFILE 64/);
    // Once some close, new clients get in and chat.
    conns.forEach((s) => s.destroy());
    await sleep(100);
    const [x, y] = [io(small.url, { forceNew: true }), io(small.url, { forceNew: true })];
    await Promise.all([once(x, 'connect'), once(y, 'connect')]);
    const got = once(y, 'serverMsg');
    x.emit('msg', 'back in');
    assert.equal(await got, 'back in');
    x.close();
    y.close();
  } finally {
    conns.forEach((s) => s.destroy());
    assert.equal(await small.stop(), 0);
  }
});

test('after all that, memory is back near where it started', async () => {
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${tour.proc.pid}/status`, 'utf8'))[1]);
  const start = rss();
  for (let round = 0; round < 3; round++) {
    await closedAfter((ws) => ws.send('42{}'));
    await closedAfter((ws) => {
      ws.send('451-["x",{"_placeholder":true,"num":7}]');
      ws.send(Buffer.from([1]));
    });
  }
  await sleep(200);
  if (!process.env.SIOC_SANITIZED) {
    assert.ok(rss() - start < 2048, `RSS grew by ${rss() - start} KiB`);
  }
});
