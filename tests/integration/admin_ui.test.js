// The Admin UI's own dashboard (@socket.io/admin-ui 0.5.1's ui/dist, served by sioc at /admin/)
// in Debian's chromium, against feature-tour --admin-ui: a wrong password is refused, the right
// one logs in; the sockets page lists a socket.io client with its transport and rooms; an event
// it sends shows on the events page; the dashboard makes it join a room (a broadcast to the room
// then reaches it), leave it, and disconnects it — each seen by the client. (The 0.5.1 dashboard
// has no control that emits; the `emit` command is tested in admin.test.js.) Pages from the
// internet (fonts, icons) are cut off, as on a machine without access.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { io } = require('socket.io-client');
const { startServer, once, bin, launchChromium } = require('./lib');

const HASH = '$2b$10$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS'; // "changeit"
let browser, server;
const clients = [];

before(async () => {
  browser = await launchChromium();
  server = await startServer(bin('FEATURE_TOUR'), ['--admin-ui', '--admin-auth', `admin:${HASH}`]);
});

after(async () => {
  for (const c of clients) c.close();
  if (browser) await browser.close();
  assert.equal(await server.stop(), 0, 'clean exit (no sanitizer report)');
});

function client(opts = {}) {
  const c = io(server.url, { forceNew: true, reconnection: false, ...opts });
  clients.push(c);
  return c;
}

async function logIn(page, password) {
  await page.getByLabel('Server URL').fill(server.url);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Connect' }).click();
}

test('log in, watch a client, and make it join, leave and disconnect from the dashboard', async () => {
  const user = client({ transports: ['websocket'] });
  const other = client({ transports: ['polling'] });
  await Promise.all([once(user, 'connect'), once(other, 'connect')]);
  const userId = user.id;

  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.route(/^https?:\/\/(?!localhost)/, (route) => route.abort());
  await page.goto(`${server.url}/admin/`);

  await logIn(page, 'wrong');
  await page.waitForSelector('text=Invalid credentials', { timeout: 10000 });
  await logIn(page, 'changeit');
  await page.waitForSelector('header >> text=CONNECTED', { timeout: 10000 });

  // The sockets page lists the client, with its transport.
  await page.goto(`${server.url}/admin/#/sockets/`);
  const row = page.locator(`tr:has-text("${userId}")`);
  await row.waitFor({ timeout: 5000 });
  assert.match(await row.textContent(), /WebSocket/);
  assert.match(await page.locator(`tr:has-text("${other.id}")`).textContent(), /HTTP long-polling/);

  // An event it sends shows on the events page.
  user.emit('msg', 'seen by the dashboard');
  await page.goto(`${server.url}/admin/#/events/`);
  await page.locator(`tr:has-text("${userId}"):has-text("msg")`).waitFor({ timeout: 5000 });

  // Its details: its own room; join "blue" from the dashboard.
  await page.goto(`${server.url}/admin/#/n/%2F/sockets/${userId}`);
  const rooms = page.locator('.v-card:has-text("Join a room")');
  await rooms.locator(`td:has-text("${userId}")`).waitFor({ timeout: 5000 });
  await rooms.getByLabel('Join a room').fill('blue');
  await rooms.locator('button[type=submit]').click();
  await rooms.locator('td:text-is("blue")').waitFor({ timeout: 5000 });
  const notice = once(user, 'notice');
  other.emit('to', 'blue', 'notice', 'to blue');
  assert.equal(await notice, 'to blue', 'the client is in the room');

  // Leave it: the room row's button (the click reaches the row too, which opens the room's page:
  // the room, empty now, is shown deleted).
  await rooms.locator('tr:has(td:text-is("blue")) button').click();
  await page.locator('text=DELETED').waitFor({ timeout: 5000 });
  const heard = [];
  user.on('notice', (x) => heard.push(x));
  other.emit('to', 'blue', 'notice', 'after leaving');
  // Disconnect the socket: the second logout button of its page (the first closes the client).
  await page.goto(`${server.url}/admin/#/n/%2F/sockets/${userId}`);
  const gone = once(user, 'disconnect');
  await page.locator('button:has(i.mdi-logout)').nth(1).click();
  assert.equal((await gone)[0], 'io server disconnect');
  assert.deepEqual(heard, [], 'nothing for blue after leaving it');
  await page.locator('text=DISCONNECTED').first().waitFor({ timeout: 5000 });
  await page.screenshot({ path: path.join(process.env.MESON_BUILD_ROOT || '.', 'admin-ui.png') });
  await page.close();
});
