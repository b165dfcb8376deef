// perMessageDeflate (--per-message-deflate): what the 101 agrees to (permessage-deflate without
// context takeover, or nothing), frames read raw off the socket (RSV1 on the server's messages
// of at least the threshold, not on smaller ones), compressed client messages in one frame or
// several, the refusals Node's ws makes (1007 for data that is not deflate, 1009 for a message
// that inflates past maxHttpBufferSize, 1002 for RSV1 where it may not be), the socket.io client
// (ws) and chromium, and the option off as Node's default.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const zlib = require('node:zlib');
const { io } = require('socket.io-client');
const { startServer, once, until, bin, launchChromium } = require('./lib');

let server;
before(async () => {
  server = await startServer(bin('FEATURE_TOUR'), ['--per-message-deflate', '--log-level', 'info']);
});
after(async () => {
  assert.equal(await server.stop(), 0, 'clean exit (no sanitizer report)');
});

// A raw WebSocket client: the 101's headers, then the frames as they come (fin, rsv1, opcode,
// payload), inflated where RSV1 says so.
async function rawClient(port, extensions, path = '/socket.io/?EIO=4&transport=websocket') {
  const sock = net.connect(port, '127.0.0.1');
  await once(sock, 'connect');
  sock.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
    (extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : '') + '\r\n');
  let buf = Buffer.alloc(0);
  const c = { frames: [], headers: null, closed: false };
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    if (!c.headers) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      c.headers = buf.slice(0, end).toString();
      buf = buf.slice(end + 4);
    }
    for (;;) {
      if (buf.length < 2) return;
      let len = buf[1] & 0x7f, at = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); at = 4; }
      else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); at = 10; }
      if (buf.length < at + len) return;
      const f = { fin: !!(buf[0] & 0x80), rsv1: !!(buf[0] & 0x40), opcode: buf[0] & 0x0f, payload: buf.slice(at, at + len) };
      f.data = f.rsv1 ? zlib.inflateRawSync(Buffer.concat([f.payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: zlib.constants.Z_SYNC_FLUSH }) : f.payload;
      c.frames.push(f);
      buf = buf.slice(at + len);
    }
  });
  sock.on('close', () => (c.closed = true));
  // a masked frame: `first` carries the opcode and RSV1 bits as given
  c.send = (first, payload) => {
    payload = Buffer.from(payload);
    const mask = Buffer.from([1, 2, 3, 4]);
    const head = payload.length < 126 ? Buffer.from([first, 0x80 | payload.length])
      : Buffer.from([first, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
    const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
    sock.write(Buffer.concat([head, mask, body]));
  };
  c.text = (s) => c.send(0x81, s);
  c.deflated = (s) => zlib.deflateRawSync(Buffer.from(s), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).slice(0, -4);
  c.next = async (pred) => {
    await until(() => c.frames.some(pred), 5000, 'a frame');
    const i = c.frames.findIndex(pred);
    return c.frames.splice(i, 1)[0];
  };
  c.sock = sock;
  await until(() => c.headers, 5000, 'the 101');
  return c;
}

const closeCode = (f) => f.payload.readUInt16BE(0);

test('the 101 agrees to permessage-deflate without context takeover, or to nothing', async () => {
  const cases = [
    ['permessage-deflate; client_max_window_bits', true],
    ['permessage-deflate', true],
    ['permessage-deflate; server_no_context_takeover; client_max_window_bits=10', true],
    ['permessage-deflate; server_max_window_bits=15', true],
    ['permessage-deflate; server_max_window_bits=10', false], // a smaller window: declined
    ['permessage-deflate; server_max_window_bits=10, permessage-deflate', true], // the next offer
    ['permessage-deflate; unknown_param', false],
    ['permessage-deflate; client_max_window_bits; client_max_window_bits', false],
    ['permessage-deflate; client_max_window_bits=16', false],
    ['x-webkit-deflate-frame', false],
    [undefined, false],
  ];
  for (const [offer, agreed] of cases) {
    const c = await rawClient(server.port, offer);
    const line = /^sec-websocket-extensions: (.*)$/im.exec(c.headers);
    if (agreed) {
      assert.equal(line && line[1], 'permessage-deflate; server_no_context_takeover; client_no_context_takeover', offer);
    } else {
      assert.equal(line, null, `${offer}: nothing agreed`);
    }
    c.sock.destroy();
  }
});

test('the server\'s messages of at least 1024 bytes go compressed, smaller ones as they are', async () => {
  const c = await rawClient(server.port, 'permessage-deflate; client_max_window_bits');
  const open = await c.next((f) => f.data.toString().startsWith('0'));
  assert.equal(open.rsv1, false, 'the open packet is small');
  c.text('40');
  await c.next((f) => f.data.toString().startsWith('40'));
  const big = 'z'.repeat(4000);
  c.text(`42["echo","${big}"]`);
  const echoed = await c.next((f) => f.data.toString().startsWith('42'));
  assert.equal(echoed.rsv1, true);
  assert.ok(echoed.payload.length < 100, `${echoed.payload.length} bytes for ${echoed.data.length}`);
  assert.equal(echoed.data.toString(), `42["echo","${big}"]`);
  c.text('42["echo","small"]');
  const small = await c.next((f) => f.data.toString().startsWith('42'));
  assert.equal(small.rsv1, false);
  // a compressed message from the client: in one frame, then in three (RSV1 on the first only)
  c.send(0xc1, c.deflated(`42["echo","${big}"]`));
  assert.equal((await c.next((f) => f.data.toString().startsWith('42'))).data.toString(), `42["echo","${big}"]`);
  const z = c.deflated('42["echo","in three frames"]');
  c.send(0x41, z.slice(0, 5));
  c.send(0x00, z.slice(5, 10));
  c.send(0x80, z.slice(10));
  assert.equal((await c.next((f) => f.data.toString().startsWith('42'))).data.toString(), '42["echo","in three frames"]');
  c.sock.destroy();
});

test('refusals as Node\'s ws makes them, each logged, the others carrying on', async () => {
  const bystander = io(server.url, { transports: ['websocket'], reconnection: false, forceNew: true });
  await once(bystander, 'connect');
  const expect = async (offer, send, code) => {
    const c = await rawClient(server.port, offer);
    await c.next((f) => f.data.toString().startsWith('0'));
    send(c);
    const close = await c.next((f) => f.opcode === 8);
    assert.equal(closeCode(close), code);
    await until(() => c.closed, 5000, 'the hang-up');
  };
  const pmd = 'permessage-deflate';
  await expect(pmd, (c) => c.send(0xc1, Buffer.from([0xff, 0xff, 0xff, 0x00])), 1007); // not deflate
  await expect(pmd, (c) => c.send(0xc1, c.deflated(Buffer.from([0xc3, 0x28]))), 1007); // not UTF-8
  const bomb = zlib.deflateRawSync(Buffer.alloc(2000000, 0x61), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).slice(0, -4);
  await expect(pmd, (c) => c.send(0xc2, bomb), 1009); // 2 MB inflated, over maxHttpBufferSize
  await expect(pmd, (c) => { c.send(0x01, 'a'); c.send(0xc0, 'b'); }, 1002); // RSV1 on a continuation
  await expect(pmd, (c) => c.send(0xc9, ''), 1002); // RSV1 on a PING
  await expect(undefined, (c) => c.send(0xc1, c.deflated('40')), 1002); // not agreed
  assert.match(server.log(), /inflated message over maxHttpBufferSize/);
  assert.equal(await bystander.timeout(3000).emitWithAck('echo', 'still here'), 'still here');
  bystander.close();
});

test('socket.io-client (ws) and chromium, compressing both ways', async () => {
  const c = io(server.url, { transports: ['websocket'], reconnection: false, forceNew: true });
  await once(c, 'connect');
  assert.ok(c.io.engine.transport.ws._extensions['permessage-deflate'], 'ws agreed');
  const big = { text: 'w'.repeat(10000), bin: Buffer.alloc(5000, 7) };
  const back = await new Promise((resolve) => c.emit('echo', big, (x) => resolve(x)));
  assert.equal(back.text, big.text);
  assert.deepEqual([...back.bin], [...big.bin]);
  c.close();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/socket.io/socket.io.min.js`);
    await page.addScriptTag({ url: `${server.url}/socket.io/socket.io.min.js` });
    const result = await page.evaluate(async () => {
      const s = io({ transports: ['websocket'], reconnection: false });
      await new Promise((resolve) => s.on('connect', resolve));
      const text = 'b'.repeat(20000);
      const back = await new Promise((resolve) => s.emit('echo', text, (x) => resolve(x)));
      const extensions = s.io.engine.transport.ws.extensions;
      s.close();
      return { same: back === text, extensions };
    });
    assert.equal(result.same, true);
    assert.match(result.extensions, /permessage-deflate/);
  } finally {
    await browser.close();
  }
});

test('off by default, as Node\'s: nothing agreed, RSV1 refused', async () => {
  const plain = await startServer(bin('FEATURE_TOUR'));
  try {
    const c = await rawClient(plain.port, 'permessage-deflate; client_max_window_bits');
    assert.doesNotMatch(c.headers, /sec-websocket-extensions/i);
    await c.next((f) => f.data.toString().startsWith('0'));
    c.send(0xc1, c.deflated('40'));
    assert.equal(closeCode(await c.next((f) => f.opcode === 8)), 1002);
    c.sock.destroy();
  } finally {
    assert.equal(await plain.stop(), 0);
  }
});
