// The whole server's features through feature-tour, with the real socket.io-client 4: server-side
// acks (one socket, broadcast), volatile, rooms.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { io } = require('socket.io-client');
const { startServer, request, once, until, sleep, bin } = require('./lib');

let tour;
before(async () => {
  tour = await startServer(bin('FEATURE_TOUR'));
});
after(async () => assert.equal(await tour.stop(), 0, 'clean exit (no sanitizer report)'));

async function clients(n, opts = {}) {
  const list = Array.from({ length: n }, () => io(tour.url, { forceNew: true, ...opts }));
  await Promise.all(list.map((s) => once(s, 'connect')));
  return list;
}
const closeAll = (list) => list.forEach((s) => s.close());
const next = (s, event) => new Promise((resolve) => s.once(event, (...a) => resolve(a)));

test('the server asks one client for an ack and gets its answer, any types', async () => {
  const [s] = await clients(1);
  s.on('question', (a, b, cb) => cb({ got: [a, b] }, 'two', 3));
  const result = next(s, 'ask-result');
  s.emit('ask', 'question', 2000, 'x', [1, 2]);
  assert.deepEqual(await result, [null, { got: ['x', [1, 2]] }, 'two', 3]);
  closeAll([s]);
});

test('an ack that does not come in time is a timeout error', async () => {
  const [s] = await clients(1);
  s.on('question', () => {}); // never answers
  const result = next(s, 'ask-result');
  const t0 = Date.now();
  s.emit('ask', 'question', 300);
  assert.deepEqual(await result, ['operation has timed out']);
  assert.ok(Date.now() - t0 >= 250);
  closeAll([s]);
});

test('binary travels in server acks both ways', async () => {
  const [s] = await clients(1);
  s.on('question', (buf, cb) => cb(Buffer.concat([Buffer.from(buf), Buffer.from([4])])));
  const result = next(s, 'ask-result');
  s.emit('ask', 'question', 2000, Buffer.from([1, 2, 3]));
  const [err, reply] = await result;
  assert.equal(err, null);
  assert.deepEqual(Buffer.from(reply), Buffer.from([1, 2, 3, 4]));
  closeAll([s]);
});

test('a broadcast with acks collects every client\'s first answer', async () => {
  const list = await clients(3, { transports: ['websocket'] });
  list.forEach((s, i) => s.on('poll', (q, cb) => cb(`${q}-${i}`, 'ignored')));
  const result = next(list[0], 'ask-all-result');
  list[0].emit('ask-all', 'poll', 3000, 'q');
  const [err, responses] = await result;
  assert.equal(err, null);
  assert.deepEqual([...responses].sort(), ['q-0', 'q-1', 'q-2']);
  closeAll(list);
});

test('a broadcast with acks times out with the answers so far', async () => {
  const list = await clients(3);
  list[0].on('poll', (cb) => cb('a'));
  list[1].on('poll', (cb) => cb('b'));
  list[2].on('poll', () => {}); // silent
  const result = next(list[0], 'ask-all-result');
  list[0].emit('ask-all', 'poll', 400);
  const [err, responses] = await result;
  assert.equal(err, 'operation has timed out');
  assert.deepEqual([...responses].sort(), ['a', 'b']);
  closeAll(list);
});

test('the rooms of a socket: its own id first, then the ones it joined', async () => {
  const [s] = await clients(1);
  await s.timeout(2000).emitWithAck('join', 'r1');
  await s.timeout(2000).emitWithAck('join', 'r2');
  assert.deepEqual(await s.timeout(2000).emitWithAck('rooms'), [s.id, 'r1', 'r2']);
  await s.timeout(2000).emitWithAck('leave', 'r1');
  assert.deepEqual(await s.timeout(2000).emitWithAck('rooms'), [s.id, 'r2']);
  closeAll([s]);
});

test('volatile packets skip a socket that cannot take them now, others still get them', async () => {
  // A raw polling client with no GET waiting cannot take a packet now.
  const base = `${tour.url}/socket.io/?EIO=4&transport=polling`;
  const sid = JSON.parse((await request(base)).body.slice(1)).sid;
  await request(`${base}&sid=${sid}`, { method: 'POST', body: '40' });
  assert.match((await request(`${base}&sid=${sid}`)).body, /^40\{"sid"/);
  const [s] = await clients(1, { transports: ['websocket'] });
  const got = [];
  s.on('news', (m) => got.push(m));
  s.emit('volatile', 'news', 'volatile one');
  s.emit('all', 'news', 'regular one');
  await until(() => got.length === 2, 3000, 'both on the websocket client');
  assert.deepEqual(got, ['volatile one', 'regular one']);
  const polled = await request(`${base}&sid=${sid}`);
  assert.equal(polled.body, '42["news","regular one"]');
  closeAll([s]);
});

test('connection middleware refuses with a message and data, and admits with the right auth', async () => {
  const bad = io(`${tour.url}/private`, { forceNew: true, auth: { token: 'nope' } });
  const err = await once(bad, 'connect_error');
  assert.equal(err.message, 'not authorized');
  assert.deepEqual(err.data, { reason: 'bad token' });
  bad.close();
  const good = io(`${tour.url}/private`, { forceNew: true, auth: { token: 'secret' } });
  await once(good, 'connect');
  assert.equal(await good.timeout(2000).emitWithAck('echo', 'in'), 'in');
  good.close();
});

test('a middleware may answer later; the socket joins only then', async () => {
  const waiter = io(`${tour.url}/private`, { forceNew: true, auth: { token: 'secret', wait: true } });
  let connected = false;
  waiter.on('connect', () => { connected = true; });
  await sleep(300);
  assert.equal(connected, false);
  const [admin] = await clients(1);
  admin.emit('admit');
  await until(() => connected, 3000, 'admitted');
  assert.equal(await waiter.timeout(2000).emitWithAck('echo', 1), 1);
  closeAll([waiter, admin]);
});

test('a client that leaves while its middleware waits is forgotten cleanly', async () => {
  const waiter = io(`${tour.url}/private`, { forceNew: true, auth: { token: 'secret', wait: true } });
  await sleep(200);
  waiter.close();
  await sleep(100);
  const [admin] = await clients(1);
  admin.emit('admit'); // answers a next whose socket is gone
  assert.equal(await admin.timeout(2000).emitWithAck('echo', 'still fine'), 'still fine');
  closeAll([admin]);
});

test('packet middleware drops a refused event and reports the error', async () => {
  const s = io(`${tour.url}/private`, { forceNew: true, auth: { token: 'secret' } });
  await once(s, 'connect');
  const seen = next(s, 'error-seen');
  let echoed = false;
  s.on('echo', () => { echoed = true; });
  s.emit('forbidden', 'x');
  assert.deepEqual(await seen, ['forbidden event']);
  s.emit('echo', 'allowed');
  await until(() => echoed, 2000, 'echo');
  s.close();
});

test('server utilities: fetch sockets, make them join and leave rooms, disconnect them', async () => {
  const [a, b, c] = await clients(3);
  await a.timeout(2000).emitWithAck('join', 'r');
  await b.timeout(2000).emitWithAck('join', 'r');
  const inR = await c.timeout(2000).emitWithAck('fetch', 'r');
  assert.deepEqual(inR.map((x) => x.id).sort(), [a.id, b.id].sort());
  assert.ok(inR.every((x) => x.rooms[0] === x.id && x.rooms.includes('r') && x.address === '127.0.0.1'));
  const everyone = await c.timeout(2000).emitWithAck('fetch', null);
  assert.ok([a.id, b.id, c.id].every((id) => everyone.some((x) => x.id === id)));

  assert.equal(await c.timeout(2000).emitWithAck('make-join', 'r', 's'), true);
  assert.deepEqual((await c.timeout(2000).emitWithAck('fetch', 's')).map((x) => x.id).sort(), [a.id, b.id].sort());
  const got = [];
  a.on('news', (m) => got.push(['a', m]));
  b.on('news', (m) => got.push(['b', m]));
  c.emit('to', 's', 'news', 'via s');
  await until(() => got.length === 2, 2000, 'news via s');
  assert.equal(await c.timeout(2000).emitWithAck('make-leave', 'r', 's'), true);
  assert.deepEqual(await c.timeout(2000).emitWithAck('fetch', 's'), []);

  const reasons = Promise.all([a, b].map((s) => once(s, 'disconnect').then((x) => (Array.isArray(x) ? x[0] : x))));
  assert.equal(await c.timeout(2000).emitWithAck('kick', 'r', false), true);
  assert.deepEqual(await reasons, ['io server disconnect', 'io server disconnect']);
  assert.equal(c.connected, true);
  assert.deepEqual(await c.timeout(2000).emitWithAck('fetch', 'r'), []); // the room went with them
  closeAll([a, b, c]);
});

test('dynamic namespaces: created on first connect by pattern or callback, kept apart', async () => {
  const d1 = io(`${tour.url}/dynamic-1`, { forceNew: true });
  const d1b = io(`${tour.url}/dynamic-1`, { forceNew: true });
  const d2 = io(`${tour.url}/dynamic-2`, { forceNew: true });
  await Promise.all([d1, d1b, d2].map((s) => once(s, 'connect')));
  const got = { d1b: [], d2: [] };
  d1b.on('serverMsg', (m) => got.d1b.push(m));
  d2.on('serverMsg', (m) => got.d2.push(m));
  d1.emit('msg', 'in dynamic-1');
  await until(() => got.d1b.length === 1, 2000, 'relay in the child');
  await sleep(100);
  assert.deepEqual(got, { d1b: ['in dynamic-1'], d2: [] });

  const nope = io(`${tour.url}/dynamic-x`, { forceNew: true });
  assert.equal((await once(nope, 'connect_error')).message, 'Invalid namespace');
  const outsider = io(`${tour.url}/team-red`, { forceNew: true, auth: { team: false } });
  assert.equal((await once(outsider, 'connect_error')).message, 'Invalid namespace');
  const member = io(`${tour.url}/team-red`, { forceNew: true, auth: { team: true } });
  await once(member, 'connect');
  assert.equal(await member.timeout(2000).emitWithAck('echo', 'team'), 'team');
  closeAll([d1, d1b, d2, nope, outsider, member]);
});

test('past the dynamic namespace limit a CONNECT is refused, logged, and a freed slot is reused', async () => {
  const capped = await startServer(bin('FEATURE_TOUR'), ['--max-dynamic-namespaces', '2',
    '--cleanup-empty-child-namespaces']);
  try {
    const [one, two] = [io(`${capped.url}/dynamic-1`, { forceNew: true }), io(`${capped.url}/dynamic-2`, { forceNew: true })];
    await Promise.all([once(one, 'connect'), once(two, 'connect')]);
    const three = io(`${capped.url}/dynamic-3`, { forceNew: true, reconnection: false });
    assert.equal((await once(three, 'connect_error')).message, 'Namespace limit reached');
    await until(() => /dynamic namespace limit \(2\) reached: refusing \/dynamic-3/.test(capped.log()), 2000, 'the refusal logged');
    // An existing one still takes more sockets.
    const twoMore = io(`${capped.url}/dynamic-2`, { forceNew: true });
    await once(twoMore, 'connect');
    one.close(); // /dynamic-1 empties and is removed: room for one more
    await sleep(200);
    const again = io(`${capped.url}/dynamic-3`, { forceNew: true });
    await once(again, 'connect');
    closeAll([two, three, twoMore, again]);
  } finally {
    assert.equal(await capped.stop(), 0);
  }
});

test('an event name over the limit is dropped and logged; the socket carries on', async () => {
  const loud = await startServer(bin('FEATURE_TOUR'), ['--log-level', 'info']);
  const s = io(loud.url, { forceNew: true });
  try {
    await once(s, 'connect');
    s.emit('x'.repeat(1025), 'ignored');
    assert.equal(await s.timeout(2000).emitWithAck('echo', 'after'), 'after');
    // The log comes through a pipe, which this process may read after the answer's socket.
    await until(() => /event name of 1025 bytes dropped \(limit 1024\)/.test(loud.log()), 2000, 'the log line');
    s.emit('y'.repeat(1024), 'an unknown event, but a legal name');
    assert.equal(await s.timeout(2000).emitWithAck('echo', 'again'), 'again');
    await sleep(100); // a second log line would be in by now
    assert.equal(loud.log().match(/event name of/g).length, 1);
  } finally {
    s.close();
    assert.equal(await loud.stop(), 0);
  }
});

test('empty child namespaces are removed when the option asks for it', async () => {
  const tidy = await startServer(bin('FEATURE_TOUR'), ['--cleanup-empty-child-namespaces', '--log-level', 'info']);
  try {
    const s = io(`${tidy.url}/dynamic-7`, { forceNew: true });
    await once(s, 'connect');
    await until(() => /namespace \/dynamic-7 created/.test(tidy.log()), 2000, 'the creation logged');
    assert.doesNotMatch(tidy.log(), /namespace \/dynamic-7 removed/);
    s.close();
    await until(() => /namespace \/dynamic-7 removed: empty/.test(tidy.log()), 3000, 'removal');
    const again = io(`${tidy.url}/dynamic-7`, { forceNew: true });
    await once(again, 'connect');
    assert.equal(tidy.log().match(/namespace \/dynamic-7 created/g).length, 2);
    again.close();
  } finally {
    assert.equal(await tidy.stop(), 0);
  }
});
