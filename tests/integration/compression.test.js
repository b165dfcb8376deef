// httpCompression as Node's: polling answers of at least the threshold (1024 bytes by default)
// go compressed with the coding the request accepts (gzip, else deflate); smaller ones, requests
// that accept neither, and servers started with --no-http-compression send them as they are; a
// held GET is compressed by what its own request said. The client bundle is served compressed
// (Vary: Accept-Encoding, the same ETag and 304). In chromium, a polling client gets its big
// messages gzipped and reads them.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const zlib = require('node:zlib');
const { startServer, bin, launchChromium } = require('./lib');

let server;
before(async () => {
  server = await startServer(bin('FEATURE_TOUR'));
});
after(async () => {
  assert.equal(await server.stop(), 0, 'clean exit (no sanitizer report)');
});

// A request whose body is kept as bytes.
function fetchRaw(url, { method = 'GET', headers = {}, body } = {}) {
  if (body !== undefined) headers = { ...headers, 'content-length': Buffer.byteLength(body) };
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const inflate = (r) => {
  const coding = r.headers['content-encoding'];
  return coding === 'gzip' ? zlib.gunzipSync(r.body) : coding === 'deflate' ? zlib.inflateSync(r.body) : r.body;
};

// A polling session joined to "/"; `poll(headers)` is its next GET.
async function session(base) {
  const open = await fetchRaw(`${base}/socket.io/?EIO=4&transport=polling`);
  const sid = JSON.parse(open.body.toString().slice(1)).sid;
  const url = `${base}/socket.io/?EIO=4&transport=polling&sid=${sid}`;
  const post = (text) => fetchRaw(url, { method: 'POST', body: text, headers: { 'content-type': 'text/plain' } });
  await post('40');
  const poll = (headers = {}) => fetchRaw(url, { headers });
  assert.match((await poll()).body.toString(), /^40/);
  return { post, poll };
}

const big = 'x'.repeat(3000);

test('a big answer goes gzipped or deflated as the request accepts; small ones as they are', async () => {
  const s = await session(server.url);
  for (const [accept, coding] of [['gzip, deflate', 'gzip'], ['deflate', 'deflate'], ['br', undefined], [undefined, undefined]]) {
    await s.post(`42["echo","${big}"]`);
    const r = await s.poll(accept ? { 'accept-encoding': accept } : {});
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-encoding'], coding, `Accept-Encoding: ${accept}`);
    assert.equal(Number(r.headers['content-length']), r.body.length);
    assert.equal(inflate(r).toString(), `42["echo","${big}"]`);
    if (coding) assert.ok(r.body.length < 200, 'compressed');
  }
  await s.post('42["echo","small"]');
  const small = await s.poll({ 'accept-encoding': 'gzip' });
  assert.equal(small.headers['content-encoding'], undefined, 'under the threshold');
  assert.equal(small.body.toString(), '42["echo","small"]');
});

test('a held GET is answered compressed as its own request asked', async () => {
  const s = await session(server.url);
  const held = s.poll({ 'accept-encoding': 'gzip' }); // nothing due yet: held
  await new Promise((r) => setTimeout(r, 100));
  await s.post(`42["echo","${big}"]`);
  const r = await held;
  assert.equal(r.headers['content-encoding'], 'gzip');
  assert.equal(inflate(r).toString(), `42["echo","${big}"]`);
});

test('--http-compression-threshold and --no-http-compression', async () => {
  const low = await startServer(bin('FEATURE_TOUR'), ['--http-compression-threshold', '10']);
  const off = await startServer(bin('FEATURE_TOUR'), ['--no-http-compression']);
  try {
    const a = await session(low.url);
    await a.post('42["echo","just over ten"]');
    assert.equal((await a.poll({ 'accept-encoding': 'gzip' })).headers['content-encoding'], 'gzip');
    const b = await session(off.url);
    await b.post(`42["echo","${big}"]`);
    const r = await b.poll({ 'accept-encoding': 'gzip' });
    assert.equal(r.headers['content-encoding'], undefined);
    assert.equal(r.body.toString(), `42["echo","${big}"]`);
    const bundle = await fetchRaw(`${off.url}/socket.io/socket.io.min.js`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(bundle.headers['content-encoding'], undefined);
  } finally {
    assert.equal(await low.stop(), 0);
    assert.equal(await off.stop(), 0);
  }
});

test('the client bundle is served compressed, with Vary, its ETag and 304 unchanged', async () => {
  const plain = await fetchRaw(`${server.url}/socket.io/socket.io.js`);
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(plain.headers.vary, 'Accept-Encoding');
  for (const coding of ['gzip', 'deflate']) {
    for (const file of ['socket.io.js', 'socket.io.msgpack.min.js.map']) {
      const r = await fetchRaw(`${server.url}/socket.io/${file}`, { headers: { 'accept-encoding': coding } });
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-encoding'], coding);
      assert.equal(r.headers.vary, 'Accept-Encoding');
      assert.equal(r.headers.etag, plain.headers.etag);
      if (file === 'socket.io.js') assert.deepEqual(inflate(r), plain.body);
      assert.ok(r.body.length < inflate(r).length / 2);
    }
  }
  const again = await fetchRaw(`${server.url}/socket.io/socket.io.js`, {
    headers: { 'accept-encoding': 'gzip', 'if-none-match': plain.headers.etag },
  });
  assert.equal(again.status, 304);
  assert.equal(again.body.length, 0);
});

test('chromium: a polling client gets its big messages gzipped, and reads them', async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const codings = [];
    page.on('response', (r) => {
      if (r.url().includes('transport=polling') && r.request().method() === 'GET') {
        codings.push(r.headers()['content-encoding'] || 'none');
      }
    });
    await page.goto(`${server.url}/socket.io/socket.io.min.js`);
    await page.addScriptTag({ url: `${server.url}/socket.io/socket.io.min.js` });
    const got = await page.evaluate(async (text) => {
      const s = io({ transports: ['polling'], reconnection: false });
      await new Promise((resolve) => s.on('connect', resolve));
      const back = new Promise((resolve) => s.on('echo', resolve));
      s.emit('echo', text);
      const x = await back;
      s.close();
      return x;
    }, big);
    assert.equal(got, big);
    assert.ok(codings.includes('gzip'), `the polling answers: ${codings.join(', ')}`);
  } finally {
    await browser.close();
  }
});
