// The seed's unmodified chat page in a real browser (Debian's chromium driven by playwright-core),
// served by sioc. The page itself connects to localhost:8000, so the server runs there.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { io } = require('socket.io-client');
const { startServer, once, until, sleep, bin, ROOT, launchChromium } = require('./lib');

let browser;

before(async () => {
  browser = await launchChromium();
});
after(async () => browser && browser.close());

async function openChat(context, url) {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(url);
  await page.waitForFunction(() => typeof sock !== 'undefined' && sock.connected, null, { timeout: 10000 });
  return page;
}

test('two tabs chat through the seed\'s page, and a stopped server shows #connectStat', async () => {
  const server = await startServer(bin('SIOC_BIN'), ['--port', '8000']);
  let stopped = false;
  try {
    const context = await browser.newContext();
    const [one, two] = [await openChat(context, 'http://localhost:8000/'), await openChat(context, 'http://localhost:8000/')];
    const transport = await one.evaluate(() => sock.io.engine.transport.name);

    await one.fill('#sendText', '你好, two 👋');
    await one.click('#sendBtn');
    await two.waitForSelector('#listText li:has-text("你好, two 👋")', { timeout: 5000 });
    assert.equal(await one.locator('#listText li.myText').textContent(), '你好, two 👋');
    assert.equal(await one.inputValue('#sendText'), '');

    await two.fill('#sendText', 'hi one');
    await two.click('#sendBtn');
    await one.waitForSelector('#listText li:not(.myText):has-text("hi one")', { timeout: 5000 });
    // Each tab lists its own line (myText) and the other's, nothing twice.
    assert.deepEqual(await one.locator('#listText li').allTextContents(), ['你好, two 👋', 'hi one']);
    assert.deepEqual(await two.locator('#listText li').allTextContents(), ['你好, two 👋', 'hi one']);
    assert.equal(await two.locator('#listText li.myText').textContent(), 'hi one');
    await one.screenshot({ path: path.join(process.env.MESON_BUILD_ROOT || '.', 'browser-chat.png') });

    assert.equal(await one.isVisible('#connectStat'), false);
    assert.equal(await server.stop(), 0);
    stopped = true;
    await one.waitForSelector('#connectStat', { state: 'visible', timeout: 10000 });
    await two.waitForSelector('#connectStat', { state: 'visible', timeout: 10000 });
    assert.match(transport, /^(polling|websocket)$/);
    await context.close();
  } finally {
    if (!stopped) await server.stop();
  }
});

test('the seed\'s native WebSocket page reaches the same msg handler as socket.io clients', async () => {
  const server = await startServer(bin('SIOC_BIN'), ['--port', '8000']);
  const listener = io('http://localhost:8000', { forceNew: true });
  try {
    await once(listener, 'connect');
    const got = [];
    listener.on('serverMsg', (m) => got.push(m));
    const context = await browser.newContext();
    const page = await context.newPage();
    const logs = [];
    page.on('console', (m) => logs.push(m.text()));
    await page.goto('http://localhost:8000/native.html');
    // The page sends {"name":"msg","data":[12,5]} on open; the seed's handler relays the first arg.
    await until(() => got.length === 1, 10000, 'the relay of the page\'s message');
    assert.deepEqual(got, [12]);
    await until(() => logs.some((l) => l.includes('连接上了')), 5000, 'the page saw its socket open');
    listener.emit('msg', 'to the page');
    await until(() => logs.some((l) => l.includes('有数据传输')), 5000, 'the page got a frame');
    await context.close();
  } finally {
    listener.close();
    assert.equal(await server.stop(), 0);
  }
});

// The seed's page from elsewhere: its XHR polling to localhost:8000 is cross-origin, so it connects
// only when the chat server allows that origin, as with Node's `cors` option.
async function pageConnects(pageUrl, corsArgs) {
  const chat = await startServer(bin('SIOC_BIN'), ['--port', '8000', ...corsArgs]);
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(pageUrl);
    try {
      await page.waitForFunction(() => typeof sock !== 'undefined' && sock.connected, null, { timeout: 4000 });
    } catch {
      return false;
    }
    // Connected: the chat works too.
    const listener = io('http://localhost:8000', { forceNew: true });
    await once(listener, 'connect');
    const got = new Promise((resolve) => listener.once('serverMsg', resolve));
    await page.fill('#sendText', 'from afar');
    await page.click('#sendBtn');
    assert.equal(await got, 'from afar');
    listener.close();
    return true;
  } finally {
    await context.close();
    assert.equal(await chat.stop(), 0);
  }
}

// As with the seed's server, which allowed any origin: with no flags the page connects from
// anywhere; --cors-origin restricts it to the origins named.
test('the page served from another origin connects, unless --cors-origin leaves it out', async () => {
  const host = await startServer(bin('SIOC_BIN'), ['--public', 'public']);
  try {
    const pageUrl = `http://localhost:${host.port}/`;
    assert.equal(await pageConnects(pageUrl, []), true);
    assert.equal(await pageConnects(pageUrl, ['--cors-origin', `http://localhost:${host.port}`]), true);
    assert.equal(await pageConnects(pageUrl, ['--cors-origin', 'http://elsewhere.example']), false);
  } finally {
    assert.equal(await host.stop(), 0);
  }
});

test('the seed\'s page opened from file:// connects to the binary with no flags', async () => {
  const pageUrl = `file://${ROOT}/public/index.html`;
  assert.equal(await pageConnects(pageUrl, []), true);
  assert.equal(await pageConnects(pageUrl, ['--cors-origin', 'http://elsewhere.example']), false);
});

// socket.io-client 2.x's own browser bundle, on a page of ours: JSONP polling (forced; the
// transport of browsers without XHR2) and the default XHR polling upgraded to WebSocket, both
// chatting with a 4.x client through feature-tour --allow-eio3.
test('socket.io-client 2.x in chromium chats over JSONP polling and over an upgrade', async () => {
  const fs = require('node:fs');
  const os = require('node:os');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sioc-v2-page-'));
  fs.copyFileSync(path.join(ROOT, 'node_modules/socket.io-client-v2/dist/socket.io.js'), path.join(dir, 'v2.js'));
  fs.writeFileSync(path.join(dir, 'index.html'), `<!doctype html><meta charset="utf-8">
<script src="/v2.js"></script>
<script>
  const opts = location.hash === '#jsonp' ? { transports: ['polling'], forceJSONP: true } : {};
  window.got = [];
  window.sock = io(opts);
  sock.on('serverMsg', (m) => got.push(m));
</script>`);
  const server = await startServer(bin('FEATURE_TOUR'), ['--allow-eio3', '--public', dir]);
  const listener = io(server.url, { forceNew: true });
  const context = await browser.newContext();
  try {
    if (!listener.connected) await once(listener, 'connect'); // it may have while the context opened
    const heard = [];
    listener.on('serverMsg', (m) => heard.push(m));
    for (const mode of ['jsonp', 'upgrade']) {
      const page = await context.newPage();
      const urls = [];
      page.on('request', (r) => urls.push(`${r.method()} ${r.url()}`));
      page.on('pageerror', (e) => console.error('page error:', e.message));
      // A held JSONP poll is a script still loading: the load event waits for it, so do not.
      await page.goto(`${server.url}/#${mode}`, { waitUntil: 'domcontentloaded' });
      await page.waitForFunction(() => sock.connected, null, { timeout: 10000 });
      await page.evaluate((m) => sock.emit('msg', `from 2.x over ${m}: 你好`), mode);
      await until(() => heard.includes(`from 2.x over ${mode}: 你好`), 5000, `the ${mode} page's message`);
      listener.emit('msg', `to ${mode} 👋`);
      await page.waitForFunction((m) => got.includes(`to ${m} 👋`), mode, { timeout: 5000 });
      if (mode === 'jsonp') {
        assert.ok(urls.some((u) => /^GET .*EIO=3.*[?&]j=\d/.test(u)), 'script requests with j=');
        assert.ok(urls.some((u) => /^POST .*[?&]j=\d/.test(u)), 'form posts with j=');
        assert.equal(await page.evaluate(() => sock.io.engine.transport.name), 'polling');
      } else {
        await page.waitForFunction(() => sock.io.engine.transport.name === 'websocket', null, { timeout: 5000 });
      }
      await page.close();
    }
  } finally {
    listener.close();
    await context.close();
    assert.equal(await server.stop(), 0);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
