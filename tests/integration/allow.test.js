// allowRequest decided later (allow_server.c): handshakes wait for the decision without holding
// anyone else up, then open or are refused; polling and WebSocket; decided during the call; a
// client that leaves first; handshakes still waiting when the server stops.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const WebSocket = require('ws');
const { io } = require('socket.io-client');
const { startServer, request, once, sleep, bin } = require('./lib');

let server;
let control; // a client let in at once, which decides for the others
before(async () => {
  server = await startServer(bin('ALLOW_SERVER'));
  control = io(server.url, { transports: ['websocket'], reconnection: false });
  await once(control, 'connect');
});
after(async () => {
  control.close();
  assert.equal(await server.stop(), 0, 'clean exit (no sanitizer report)');
});

const url = (transport, token) =>
  `${server.url}/socket.io/?EIO=4&transport=${transport}${token ? `&token=${token}` : ''}`;
const ask = (event, ...args) => control.timeout(3000).emitWithAck(event, ...args);
// Resolves once `n` handshakes wait for a decision.
async function waitingCount(n) {
  for (let i = 0; i < 300; i++) {
    if ((await ask('pending')) === n) return;
    await sleep(10);
  }
  throw new Error(`never ${n} handshakes waiting`);
}

test('a polling handshake waits for the decision, then opens its session', async () => {
  let answered = false;
  const pending = request(url('polling', 'wait')).then((res) => {
    answered = true;
    return res;
  });
  await waitingCount(1);
  await sleep(200);
  assert.equal(answered, false, 'no answer before the decision');
  // Meanwhile the server serves everyone else.
  assert.equal(await ask('echo', 'still here'), 'still here');
  assert.equal(await ask('decide', 'accept'), 1);
  const res = await pending;
  assert.equal(res.status, 200);
  const open = JSON.parse(res.body.slice(1));
  assert.equal(res.body[0], '0');
  assert.equal(open.sid.length, 20);
  // The session is real: its first poll carries on from there.
  const post = await request(`${url('polling')}&sid=${open.sid}`, { method: 'POST', body: '40' });
  assert.equal(post.body, 'ok');
});

test('a polling handshake refused later gets Node\'s 403 with the message', async () => {
  const pending = request(url('polling', 'wait'));
  await waitingCount(1);
  assert.equal(await ask('decide', 'reject', 'token expired'), 1);
  const res = await pending;
  assert.equal(res.status, 403);
  assert.deepEqual(JSON.parse(res.body), { code: 4, message: 'token expired' });
});

test('decided during the call: let in at once, or refused at once', async () => {
  const yes = await request(url('polling', 'now'));
  assert.equal(yes.status, 200);
  assert.match(yes.body, /^0\{"sid":/);
  const no = await request(url('polling', 'no-now'));
  assert.equal(no.status, 403);
  assert.deepEqual(JSON.parse(no.body), { code: 4, message: 'bad token now' });
  // A WebSocket refused during the call gets Node's 400, no 101.
  const ws = new WebSocket(url('websocket', 'no-now'));
  ws.on('error', () => {});
  const [, res] = await once(ws, 'unexpected-response');
  assert.equal(res.statusCode, 400);
  ws.terminate();
});

test('a WebSocket-only client waits, then connects and talks', async () => {
  const client = io(server.url, { transports: ['websocket'], query: { token: 'wait' }, reconnection: false });
  let connected = false;
  client.on('connect', () => { connected = true; });
  await waitingCount(1);
  await sleep(200);
  assert.equal(connected, false);
  assert.equal(await ask('decide', 'accept'), 1);
  await once(client, 'connect');
  assert.equal(await client.timeout(3000).emitWithAck('echo', 'two'), 'two');
  client.close();
});

test('a WebSocket handshake refused later closes with 1008 before any packet', async () => {
  const ws = new WebSocket(url('websocket', 'wait'));
  const frames = [];
  ws.on('message', (m) => frames.push(String(m)));
  await once(ws, 'open'); // the 101 comes at once: libwebsockets answers upgrades then
  await waitingCount(1);
  assert.equal(await ask('decide', 'reject', 'not you'), 1);
  const [code] = await once(ws, 'close');
  assert.equal(code, 1008);
  assert.deepEqual(frames, [], 'no open packet, no session');
});

test('a client that leaves before the decision costs nothing, and the decision is harmless', async () => {
  // Polling: the GET is abandoned.
  const req = http.get(url('polling', 'wait'), { agent: false });
  req.on('error', () => {});
  await waitingCount(1);
  req.destroy();
  // WebSocket: the connection is dropped after its 101.
  const ws = new WebSocket(url('websocket', 'wait'));
  ws.on('error', () => {});
  await once(ws, 'open');
  await waitingCount(2);
  ws.terminate();
  await sleep(200);
  assert.equal(await ask('decide', 'accept'), 2);
  await sleep(100);
  const next = await request(url('polling', 'now')); // and the server goes on
  assert.equal(next.status, 200);
});

test('handshakes still waiting when the server stops are let go of', async () => {
  const own = await startServer(bin('ALLOW_SERVER'));
  const req = http.get(`${own.url}/socket.io/?EIO=4&transport=polling&token=wait`, { agent: false });
  req.on('error', () => {});
  const ws = new WebSocket(`ws://localhost:${own.port}/socket.io/?EIO=4&transport=websocket&token=wait`);
  ws.on('error', () => {});
  await once(ws, 'open');
  await sleep(100);
  assert.equal(await own.stop(), 0, 'clean exit (no sanitizer report, no leak)');
  req.destroy();
  ws.terminate();
});
