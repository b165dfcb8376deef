// The Admin UI's server side (--admin-ui), spoken to as @socket.io/admin-ui 0.5.1's dashboard does
// (its App.vue and components), with the real socket.io-client: the login (a bcrypt hash checked
// off the loop), the session it grants, config, all_sockets, every socket's events as they
// happen, server_stats every 2 s, the commands, read-only mode, no-auth mode, the dashboard's own
// files; then a cluster through Redis: two sioc nodes and a Node node running instrument(), each
// dashboard seeing every node's sockets and stats. The dashboard itself, in chromium, is in
// admin_ui.test.js.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { io } = require('socket.io-client');
const { createClient } = require('redis');
const { startServer, request, once, until, sleep, bin, freePort, startProcess, stopHelper, startRedis } = require('./lib');

// The hash of "changeit" from @socket.io/admin-ui's README (cost 10).
const HASH = '$2b$10$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS';
let server;
const clients = [];
function client(port, path = '/', opts = {}) {
  const c = io(`http://localhost:${port}${path}`, { forceNew: true, reconnection: false, transports: ['websocket'], ...opts });
  clients.push(c);
  return c;
}
// A dashboard's connection: what it hears, by event, kept from the start.
function dashboard(port, auth, opts = {}) {
  const c = client(port, '/admin', { auth, ...opts });
  c.heard = [];
  c.onAny((event, ...args) => c.heard.push([event, ...args]));
  c.waitFor = (event, pred = () => true, ms = 5000) =>
    until(() => c.heard.find(([e, ...a]) => e === event && pred(...a)), ms, event).then(() =>
      c.heard.find(([e, ...a]) => e === event && pred(...a)).slice(1));
  return c;
}
const login = { username: 'admin', password: 'changeit' };

before(async () => {
  server = await startServer(bin('FEATURE_TOUR'), ['--admin-ui', '--admin-auth', `admin:${HASH}`, '--name', 'tour-1', '--log-level', 'info']);
});

after(async () => {
  for (const c of clients) c.close();
  assert.equal(await server.stop(), 0, 'clean exit (no sanitizer report)');
});

test('a login gets a session id, the config, then every socket of every namespace', async () => {
  const user = client(server.port, '/', { transports: ['polling'], query: { who: 'user' } });
  const chat = client(server.port, '/chat');
  await Promise.all([once(user, 'connect'), once(chat, 'connect')]);
  await user.emitWithAck('join', 'blue');
  const d = dashboard(server.port, login);
  await once(d, 'connect');
  const [session] = await d.waitFor('session');
  assert.match(session, /^[0-9a-f]{16}$/);
  const [config] = await d.waitFor('config');
  assert.deepEqual(config.supportedFeatures,
    ['EMIT', 'JOIN', 'LEAVE', 'DISCONNECT', 'MJOIN', 'MLEAVE', 'MDISCONNECT', 'AGGREGATED_EVENTS', 'ALL_EVENTS']);
  const [sockets] = await d.waitFor('all_sockets');
  const mine = sockets.find((s) => s.id === user.id);
  assert.ok(mine, 'the polling client is listed');
  assert.equal(mine.nsp, '/');
  assert.equal(mine.transport, 'polling');
  assert.equal(mine.clientId, user.io.engine.id.slice(0, 12));
  assert.deepEqual(mine.rooms.sort(), [user.id, 'blue'].sort());
  assert.deepEqual(mine.data, {}, 'data without _admin');
  assert.equal(mine.handshake.address, '127.0.0.1');
  assert.equal(mine.handshake.query.who, 'user');
  assert.equal(typeof mine.handshake.issued, 'number');
  assert.ok(sockets.find((s) => s.id === chat.id && s.nsp === '/chat' && s.transport === 'websocket'));
  assert.ok(sockets.find((s) => s.id === d.id && s.nsp === '/admin'), 'the dashboard sees itself, as Node\'s');
  // The dashboard comes back with its session alone, as after a page reload.
  const again = dashboard(server.port, { sessionId: session });
  await once(again, 'connect');
  await again.waitFor('config');
  assert.equal(again.heard.find(([e]) => e === 'session'), undefined, 'no new session');
});

test('a wrong password, a wrong user, a made-up session and no credentials are refused', async () => {
  for (const auth of [{ username: 'admin', password: 'nope' }, { username: 'root', password: 'changeit' },
    { sessionId: '0123456789abcdef' }, {}, { username: 'admin', password: 42 }]) {
    const d = client(server.port, '/admin', { auth });
    const err = await once(d, 'connect_error');
    assert.equal(err.message, 'invalid credentials', JSON.stringify(auth));
  }
});

test('password checks run off the loop: a client is served while logins are being checked', async () => {
  const user = client(server.port);
  await once(user, 'connect');
  // Eight checks of ~60 ms each queue on the worker thread; an echo goes through meanwhile.
  const logins = Array.from({ length: 8 }, () => client(server.port, '/admin', { auth: login }));
  const done = [];
  logins.forEach((d) => d.on('connect', () => done.push(Date.now())));
  await sleep(20);
  const echoed = await user.timeout(5000).emitWithAck('echo', 'ping');
  const at = Date.now();
  assert.deepEqual(echoed, 'ping');
  await until(() => done.length === 8, 10000, 'every login');
  assert.ok(at < Math.max(...done), `the echo came back (${at}) before the last login (${Math.max(...done)})`);
});

test('each socket\'s connection, rooms, events, data, upgrade and disconnection are said as they happen', async () => {
  const d = dashboard(server.port, login);
  await d.waitFor('config');
  const user = client(server.port, '/', { transports: ['polling', 'websocket'] });
  await once(user, 'connect');
  const [connected, at] = await d.waitFor('socket_connected', (s) => s.id === user.id);
  assert.equal(connected.nsp, '/');
  assert.match(at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  await d.waitFor('socket_updated', (u) => u.id === user.id && u.transport === 'websocket');
  await user.emitWithAck('join', 'red');
  assert.deepEqual((await d.waitFor('room_joined', (nsp, room, id) => room === 'red' && id === user.id)).slice(0, 3),
    ['/', 'red', user.id]);
  user.emit('msg', 'hello', { n: 1 });
  assert.deepEqual((await d.waitFor('event_received', (nsp, id, args) => id === user.id && args[0] === 'msg')).slice(0, 3),
    ['/', user.id, ['msg', 'hello', { n: 1 }]]);
  // a broadcast from another client: event_sent for each socket it reaches, as Node's
  // socket.io-adapter tells outgoing listeners of broadcasts
  const other = client(server.port);
  await once(other, 'connect');
  other.emit('msg', 'to everyone');
  assert.deepEqual((await d.waitFor('event_sent', (nsp, id, args) => id === user.id && args[0] === 'serverMsg')).slice(0, 3),
    ['/', user.id, ['serverMsg', 'to everyone']]);
  await user.emitWithAck('set-data', 'colour', 'green');
  assert.deepEqual((await d.waitFor('socket_updated', (u) => u.id === user.id && u.data))[0],
    { id: user.id, nsp: '/', data: { colour: 'green' } });
  await user.emitWithAck('leave', 'red');
  await d.waitFor('room_left', (nsp, room, id) => room === 'red' && id === user.id);
  const uid = user.id; // the client forgets it on disconnection
  user.disconnect();
  assert.deepEqual((await d.waitFor('socket_disconnected', (nsp, id) => id === uid)).slice(0, 3),
    ['/', uid, 'client namespace disconnect']);
  assert.equal(d.heard.find(([e, nsp]) => e === 'event_received' && nsp === '/admin'), undefined,
    'the dashboards\' own events are not reported');
});

test('what the dashboard sends: emit, join, leave and disconnect reach the clients', async () => {
  const d = dashboard(server.port, login);
  await d.waitFor('config');
  const [one, two] = [client(server.port), client(server.port)];
  await Promise.all([once(one, 'connect'), once(two, 'connect')]);
  // emit to one socket (the filter is its id), then to a room
  const heard = once(one, 'notice');
  d.emit('emit', '/', one.id, 'notice', 'hi', 2);
  assert.deepEqual(await heard, ['hi', 2]);
  d.emit('join', '/', 'green', two.id);
  await d.waitFor('room_joined', (nsp, room, id) => room === 'green' && id === two.id);
  const toRoom = once(two, 'notice');
  const got = [];
  one.on('notice', (x) => got.push(x));
  d.emit('emit', '/', 'green', 'notice', 'to green');
  assert.equal(await toRoom, 'to green');
  d.emit('leave', '/', 'green', two.id);
  await d.waitFor('room_left', (nsp, room, id) => room === 'green' && id === two.id);
  // malformed commands are ignored, the connection stays
  d.emit('emit', 42, null, 'x');
  d.emit('join', '/');
  d.emit('_disconnect');
  d.emit('join', '/made-up', 'x'); // a namespace is not made for a command
  d.emit('emit', '/chat', { room: 1 }, 'x');
  // disconnect one socket (its connection stays), then close another's connection
  const gone = once(one, 'disconnect');
  d.emit('_disconnect', '/', false, one.id);
  assert.equal((await gone)[0], 'io server disconnect');
  const closed = once(two, 'disconnect');
  const engineClosed = once(two.io.engine, 'close');
  d.emit('_disconnect', '/', true, two.id);
  assert.equal((await closed)[0], 'io server disconnect', 'as Node: the DISCONNECT, then the close');
  await engineClosed;
  assert.deepEqual(got, [], 'the room emit reached the room only');
  assert.ok(d.connected);
  const mark = d.heard.length; // the stats after the commands
  await until(() => d.heard.slice(mark).find(([e]) => e === 'server_stats'), 4000, 'server_stats');
  const [, stats] = d.heard.slice(mark).find(([e]) => e === 'server_stats');
  assert.ok(stats.namespaces.find((n) => n.name === '/chat'));
  assert.equal(stats.namespaces.find((n) => n.name === '/made-up'), undefined);
});

test('server_stats every 2 s: the node, its clients, its namespaces and the aggregated events', async () => {
  const d = dashboard(server.port, login);
  await d.waitFor('config');
  const user = client(server.port, '/', { transports: ['polling'] });
  await once(user, 'connect');
  user.emit('msg', 'counted');
  const first = (await d.waitFor('server_stats', () => true, 4000))[0];
  const second = (await d.waitFor('server_stats', (s) => s !== first, 4000))[0];
  for (const s of [first, second]) {
    assert.equal(s.serverId, 'tour-1', '--name is the server id');
    assert.equal(s.pid, server.proc.pid);
    assert.equal(typeof s.hostname, 'string');
    assert.ok(s.uptime > 0);
  }
  const [t1, t2] = [first, second].map((s) => d.heard.findIndex(([e, x]) => e === 'server_stats' && x === s));
  assert.ok(t2 > t1);
  assert.ok(second.clientsCount >= 2);
  assert.ok(second.pollingClientsCount >= 1);
  const root = second.namespaces.find((n) => n.name === '/');
  assert.ok(root && root.socketsCount >= 1);
  assert.ok(second.namespaces.find((n) => n.name === '/admin'));
  const all = [...first.aggregatedEvents, ...second.aggregatedEvents];
  for (const type of ['rawConnection', 'packetsIn', 'packetsOut', 'bytesIn', 'bytesOut']) {
    const e = all.find((x) => x.type === type);
    assert.ok(e, type);
    assert.equal(e.timestamp % 1000, 0, 'floored to the second');
    assert.ok(e.count > 0);
  }
});

test('--admin-readonly: nothing but watching', async () => {
  const ro = await startServer(bin('FEATURE_TOUR'), ['--admin-ui', '--admin-auth', `admin:${HASH}`, '--admin-readonly']);
  try {
    const d = dashboard(ro.port, login);
    const [config] = await d.waitFor('config');
    assert.deepEqual(config.supportedFeatures, ['AGGREGATED_EVENTS', 'ALL_EVENTS']);
    const user = client(ro.port);
    await once(user, 'connect');
    let told = false;
    user.on('notice', () => (told = true));
    d.emit('emit', '/', null, 'notice', 'no');
    d.emit('_disconnect', '/', true);
    await d.waitFor('socket_connected', (s) => s.id === user.id);
    await sleep(300);
    assert.equal(told, false);
    assert.ok(user.connected);
  } finally {
    assert.equal(await ro.stop(), 0);
  }
});

test('--admin-mode production: statistics only, as Node\'s mode "production"', async () => {
  const prod = await startServer(bin('FEATURE_TOUR'), ['--admin-ui', '--admin-no-auth', '--admin-mode', 'production']);
  try {
    const d = dashboard(prod.port, undefined);
    const [config] = await d.waitFor('config');
    assert.deepEqual(config.supportedFeatures,
      ['EMIT', 'JOIN', 'LEAVE', 'DISCONNECT', 'MJOIN', 'MLEAVE', 'MDISCONNECT', 'AGGREGATED_EVENTS']);
    const user = client(prod.port);
    await once(user, 'connect');
    user.emit('msg', 'not reported');
    const [stats] = await d.waitFor('server_stats', (s) => s.aggregatedEvents.some((e) => e.type === 'rawConnection'), 5000);
    assert.ok(stats.clientsCount >= 2);
    for (const e of ['all_sockets', 'socket_connected', 'event_received', 'room_joined']) {
      assert.equal(d.heard.find(([x]) => x === e), undefined, `no ${e}`);
    }
  } finally {
    assert.equal(await prod.stop(), 0);
  }
});

test('--admin-no-auth lets anyone in; --admin-ui alone, or a hash that is not bcrypt\'s, does not start', async () => {
  const open = await startServer(bin('FEATURE_TOUR'), ['--admin-ui', '--admin-no-auth']);
  try {
    assert.match(open.log(), /has no authentication/);
    const d = dashboard(open.port, undefined);
    await d.waitFor('config');
    assert.equal(d.heard.find(([e]) => e === 'session'), undefined);
  } finally {
    assert.equal(await open.stop(), 0);
  }
  await assert.rejects(startServer(bin('FEATURE_TOUR'), ['--admin-ui']), /exited with 2/);
  await assert.rejects(startServer(bin('FEATURE_TOUR'), ['--admin-ui', '--admin-auth', 'admin:plaintext']), /exited with 1[^]*bcrypt hash/);
  await assert.rejects(startServer(bin('FEATURE_TOUR'), ['--admin-readonly']), /exited with 2/);
});

test('the dashboard\'s files are served under /admin/', async () => {
  const page = await request(`${server.url}/admin/`);
  assert.equal(page.status, 200);
  assert.match(page.headers['content-type'], /^text\/html/);
  assert.match(page.body, /Socket\.IO Admin UI|<div id="app">/);
  const script = /src="?\.?\/?(js\/app\.[0-9a-f]+\.js)/.exec(page.body);
  assert.ok(script, 'the page names its script');
  const js = await request(`${server.url}/admin/${script[1]}`);
  assert.equal(js.status, 200);
  assert.match(js.headers['content-type'], /javascript/);
  const bare = await request(`${server.url}/admin`);
  assert.equal(bare.status, 301);
  assert.equal(bare.headers.location, '/admin/');
  assert.equal((await request(`${server.url}/admin/..%2f..%2fpackage.json`)).status, 404);
  assert.equal((await request(`${server.url}/admin/nope.js`)).status, 404);
});

test('a cluster through Redis: each dashboard sees every node, sioc\'s and Node\'s', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sioc-admin-'));
  const redis = await startRedis(dir);
  const url = `redis://127.0.0.1:${redis.port}`;
  const common = ['--admin-ui', '--admin-no-auth', '--redis', url];
  const a = await startServer(bin('FEATURE_TOUR'), [...common, '--name', 'sioc-a']);
  const b = await startServer(bin('FEATURE_TOUR'), [...common, '--name', 'sioc-b']);
  const peerPort = await freePort();
  const peer = await startProcess('node', [path.join(__dirname, 'node_peer.js'), String(peerPort), url, 'admin'], /listening on port/);
  try {
    const [ua, ub, un] = [client(a.port), client(b.port), client(peerPort)];
    await Promise.all([ua, ub, un].map((c) => once(c, 'connect')));
    await sleep(300);
    const d = dashboard(a.port, undefined);
    const [sockets] = await d.waitFor('all_sockets');
    const ids = sockets.filter((s) => s.nsp === '/').map((s) => s.id);
    for (const c of [ua, ub, un]) assert.ok(ids.includes(c.id), `all_sockets lists ${c.id}`);
    const fromNode = sockets.find((s) => s.id === un.id);
    assert.equal(fromNode.transport, 'websocket', 'read from data._admin of Node\'s answer');
    assert.equal(fromNode.clientId, un.io.engine.id.slice(0, 12));
    // every node's stats reach the one dashboard
    const servers = new Set();
    await until(() => {
      for (const [e, s] of d.heard) if (e === 'server_stats') servers.add(s.serverId);
      return servers.size === 3;
    }, 6000, 'stats of sioc-a, sioc-b and node-peer');
    assert.deepEqual([...servers].sort(), ['node-peer', 'sioc-a', 'sioc-b']);
    // a socket of another node: its events reach this dashboard, commands reach it
    un.emit('msg', 'from node');
    await d.waitFor('event_received', (nsp, id) => id === un.id);
    const heard = once(ub, 'notice');
    d.emit('emit', '/', ub.id, 'notice', 'across');
    assert.equal(await heard, 'across');
    // Node's dashboard (instrument() on the Node node) lists sioc's sockets with their transport
    const nd = dashboard(peerPort, undefined);
    const [nodeView] = await nd.waitFor('all_sockets');
    const siocSocket = nodeView.find((s) => s.id === ua.id);
    assert.ok(siocSocket, 'Node\'s dashboard lists a sioc socket');
    assert.equal(siocSocket.transport, 'websocket');
    assert.equal(siocSocket.clientId, ua.io.engine.id.slice(0, 12));
    await nd.waitFor('server_stats', (s) => s.serverId === 'sioc-b', 6000);
    // A node that never answers holds a dashboard's all_sockets; the server stopped meanwhile
    // ends the fetch with the dashboard gone, cleanly.
    const silent = createClient({ url });
    await silent.connect();
    await silent.subscribe('socket.io-request#/#', () => {}); // counted by NUMSUB, never answers
    const late = dashboard(a.port, undefined);
    await late.waitFor('config');
    await sleep(200);
    assert.equal(late.heard.find(([e]) => e === 'all_sockets'), undefined, 'waiting for the silent node');
    assert.equal(await a.stop(), 0, 'stopped with a fetch pending: clean exit');
    await silent.quit();
  } finally {
    for (const c of clients) c.close();
    assert.equal(await a.stop(), 0);
    assert.equal(await b.stop(), 0);
    await stopHelper(peer);
    await stopHelper(redis.proc);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('worker processes: one dashboard sees every worker, each under <host>#<pid>', async () => {
  const w = await startServer(bin('FEATURE_TOUR'), ['--workers', '2', '--admin-ui', '--admin-no-auth']);
  try {
    const users = Array.from({ length: 4 }, () => client(w.port));
    await Promise.all(users.map((c) => once(c, 'connect')));
    const d = dashboard(w.port, undefined);
    const [sockets] = await d.waitFor('all_sockets');
    for (const u of users) assert.ok(sockets.find((s) => s.id === u.id), `all_sockets lists ${u.id}`);
    const ids = new Set();
    await until(() => {
      for (const [e, s] of d.heard) if (e === 'server_stats') ids.add(s.serverId);
      return ids.size === 2;
    }, 6000, 'both workers\' stats');
    for (const id of ids) assert.match(id, /^.+#\d+$/);
  } finally {
    assert.equal(await w.stop(), 0);
  }
});
