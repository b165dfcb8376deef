// --tls-cert/--tls-key: https and wss on one port, with a CA and a certificate made at test time
// by Debian's openssl. socket.io-client (trusting that CA) over polling, WebSocket and the upgrade,
// large messages and binary across TLS records; a client that does not trust it refused; a client
// asking for h2 gets HTTP/1.1 (ALPN); a plain HTTP request to the TLS port closed while the
// others carry on, and the connection accepted right after one whose handshake failed unharmed;
// SIGHUP reads a renewed certificate (new connections get it, an established one
// carries on); chromium over https and wss.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const tls = require('node:tls');
const { io } = require('socket.io-client');
const { startServer, once, until, bin, launchChromium } = require('./lib');

let dir, server, ca;
const clients = [];

// A certificate for localhost signed by the test's CA; `serial` tells renewals apart.
function makeCert(name, serial) {
  const key = path.join(dir, `${name}.key`), csr = path.join(dir, `${name}.csr`), crt = path.join(dir, `${name}.pem`);
  execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=localhost'], { stdio: 'ignore' });
  fs.writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', path.join(dir, 'ca.pem'), '-CAkey', path.join(dir, 'ca.key'),
    '-set_serial', String(serial), '-out', crt, '-days', '2', '-extfile', path.join(dir, 'ext.cnf')], { stdio: 'ignore' });
  return { key, crt };
}

function client(opts = {}) {
  const c = io(server.url, { ca, forceNew: true, reconnection: false, ...opts });
  clients.push(c);
  return c;
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sioc-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'ca.key'),
    '-out', path.join(dir, 'ca.pem'), '-days', '2', '-subj', '/CN=sioc test CA'], { stdio: 'ignore' });
  ca = fs.readFileSync(path.join(dir, 'ca.pem'));
  const first = makeCert('server', 1001);
  // The files the server reads, renewed in place later.
  fs.copyFileSync(first.crt, path.join(dir, 'live.pem'));
  fs.copyFileSync(first.key, path.join(dir, 'live.key'));
  server = await startServer(bin('FEATURE_TOUR'), ['--tls-cert', path.join(dir, 'live.pem'), '--tls-key', path.join(dir, 'live.key'), '--log-level', 'info']);
  server.url = `https://localhost:${server.port}`;
});

after(async () => {
  for (const c of clients) c.close();
  assert.equal(await server.stop(), 0, 'clean exit (no sanitizer report)');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the start-up line says https', () => {
  assert.match(server.log(), /listening on https:\/\/localhost:\d+/);
});

for (const transports of [['polling'], ['websocket'], ['polling', 'websocket']]) {
  test(`over TLS, ${transports.join(' then ')}: large messages and binary`, async () => {
    const c = client({ transports });
    await once(c, 'connect');
    if (transports.length === 2) await until(() => c.io.engine.transport.name === 'websocket', 5000, 'the upgrade');
    const big = 'q'.repeat(300000); // many TLS records
    const bytes = Buffer.alloc(70000, 7);
    const back = await new Promise((resolve) => c.emit('echo', big, bytes, (...a) => resolve(a)));
    assert.equal(back[0], big);
    assert.deepEqual(Buffer.compare(back[1], bytes), 0);
    const heard = once(c, 'serverMsg');
    const other = client({ transports: ['websocket'] });
    await once(other, 'connect');
    other.emit('msg', 'relayed over TLS');
    assert.equal(await heard, 'relayed over TLS');
  });
}

test('a client that does not trust the certificate is refused', async () => {
  const c = io(server.url, { forceNew: true, reconnection: false, transports: ['websocket'] });
  clients.push(c);
  await once(c, 'connect_error');
  assert.equal(c.connected, false);
});

test('ALPN: a client asking for h2 gets HTTP/1.1', async () => {
  const s = tls.connect({ port: server.port, host: 'localhost', ca, ALPNProtocols: ['h2', 'http/1.1'] });
  await once(s, 'secureConnect');
  assert.equal(s.alpnProtocol, 'http/1.1');
  s.end();
  const r = spawnSync('curl', ['-s', '--http2', '--cacert', path.join(dir, 'ca.pem'), '-o', '/dev/null', '-w', '%{http_version} %{http_code}',
    `${server.url}/socket.io/?EIO=4&transport=polling`], { encoding: 'utf8' });
  if (r.error) return; // no curl: the ALPN answer above stands
  assert.equal(r.stdout, '1.1 200');
});

test('a plain HTTP request to the TLS port is closed; the others carry on', async () => {
  const c = client({ transports: ['websocket'] });
  await once(c, 'connect');
  const err = await new Promise((resolve) => {
    const req = http.get(`http://localhost:${server.port}/socket.io/?EIO=4&transport=polling`, (res) => resolve(new Error(`answered ${res.statusCode}`)));
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', resolve);
  });
  assert.match(err.message, /socket hang up|ECONNRESET|Parse Error/, err.message);
  assert.equal(await c.timeout(3000).emitWithAck('echo', 'still here'), 'still here');
});

// A connection whose TLS handshake fails while lws adopts it is closed by lws a loop iteration
// later (libuv); the connection accepted next, often given the same descriptor number, must not
// lose its socket to that close.
test('a handshake that fails at once does not take the next connection with it', async () => {
  const c = client({ transports: ['websocket'] });
  await once(c, 'connect');
  const net = require('node:net');
  const rounds = [];
  for (let i = 0; i < 30; i++) {
    const bad = net.connect(server.port, '127.0.0.1', () => bad.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    bad.on('error', () => {});
    const good = new Promise((resolve) => {
      const t = tls.connect({ port: server.port, host: '127.0.0.1', servername: 'localhost', ca }, () => {
        t.write(`GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
      });
      let got = '';
      t.on('data', (d) => { got += d; });
      t.on('close', () => resolve(got.split('\r\n')[0]));
      t.on('error', (e) => resolve(`error ${e.code || e.message}`));
      t.setTimeout(5000, () => t.destroy(new Error('timeout')));
    });
    rounds.push(good.finally(() => bad.destroy()));
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
  const answers = await Promise.all(rounds);
  assert.deepEqual(answers.filter((a) => a !== 'HTTP/1.1 200 OK'), []);
  assert.equal(await c.timeout(3000).emitWithAck('echo', 'still here'), 'still here');
});

test('SIGHUP reads a renewed certificate: new connections get it, an established one carries on', async () => {
  const serialOf = async () => {
    const s = tls.connect({ port: server.port, host: 'localhost', ca });
    await once(s, 'secureConnect');
    const serial = s.getPeerCertificate().serialNumber;
    s.end();
    return parseInt(serial, 16);
  };
  assert.equal(await serialOf(), 1001);
  const c = client({ transports: ['websocket'] });
  await once(c, 'connect');
  const next = makeCert('renewed', 1002);
  fs.copyFileSync(next.crt, path.join(dir, 'live.pem'));
  fs.copyFileSync(next.key, path.join(dir, 'live.key'));
  server.proc.kill('SIGHUP');
  await until(() => /certificate .* read again/.test(server.log()), 5000, 'the reload');
  assert.equal(await serialOf(), 1002);
  assert.equal(await c.timeout(3000).emitWithAck('echo', 'same connection'), 'same connection');
  // a broken renewal is refused and logged; the certificate in use stays
  fs.writeFileSync(path.join(dir, 'live.pem'), 'not a certificate');
  server.proc.kill('SIGHUP');
  await until(() => /certificate in use is kept/.test(server.log()), 5000, 'the refusal');
  assert.equal(await serialOf(), 1002);
  fs.copyFileSync(next.crt, path.join(dir, 'live.pem'));
});

test('chromium over https and wss', async () => {
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await page.goto(`${server.url}/socket.io/socket.io.min.js`);
    await page.addScriptTag({ url: `${server.url}/socket.io/socket.io.min.js` });
    const result = await page.evaluate(async () => {
      const s = io({ reconnection: false });
      await new Promise((resolve) => s.on('connect', resolve));
      for (let i = 0; i < 500 && s.io.engine.transport.name !== 'websocket'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const back = await new Promise((resolve) => s.emit('echo', 'over wss', (x) => resolve(x)));
      const r = { transport: s.io.engine.transport.name, back, protocol: location.protocol };
      s.close();
      return r;
    });
    assert.deepEqual(result, { transport: 'websocket', back: 'over wss', protocol: 'https:' });
  } finally {
    await browser.close();
  }
});

test('--workers with TLS, or a certificate without its key, does not start', async () => {
  const crt = path.join(dir, 'live.pem'), key = path.join(dir, 'live.key');
  await assert.rejects(startServer(bin('FEATURE_TOUR'), ['--workers', '2', '--tls-cert', crt, '--tls-key', key]), /exited with 2[^]*--workers and --tls-cert/);
  await assert.rejects(startServer(bin('FEATURE_TOUR'), ['--tls-cert', crt]), /exited with 2[^]*go together/);
  await assert.rejects(startServer(bin('FEATURE_TOUR'), ['--tls-cert', path.join(dir, 'missing.pem'), '--tls-key', key]), /exited with 1[^]*cannot read the certificate/);
  await assert.rejects(startServer(bin('FEATURE_TOUR'), ['--tls-cert', crt, '--tls-key', path.join(dir, 'ca.key')]), /exited with 1[^]*not the certificate's|cannot read the private key/);
});
