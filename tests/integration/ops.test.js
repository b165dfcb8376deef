// Operations: Prometheus metrics (--metrics PATH), the text checked by Debian's promtool
// (`promtool check metrics`: the format, HELP and TYPE, names) and its values against what the
// test did; and JSON logs (--log-format json).
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const { io } = require('socket.io-client');
const { startServer, request, once, sleep, until, bin } = require('./lib');

let server;
const clients = [];
function client(path, opts = {}) {
  const c = io(`http://localhost:${server.port}${path}`, { forceNew: true, reconnection: false, ...opts });
  clients.push(c);
  return c;
}

// The samples as a map: 'name{labels}' -> number.
function parse(text) {
  const m = new Map();
  for (const line of text.split('\n')) {
    if (line && !line.startsWith('#')) {
      const i = line.lastIndexOf(' ');
      m.set(line.slice(0, i), Number(line.slice(i + 1)));
    }
  }
  return m;
}
const scrape = async () => {
  const r = await request(`${server.url}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  return r.body;
};
// Scrapes until `ready(samples)` holds (a client's next poll, or the server's handling of a
// close, may land just after the client's own event), at most a few seconds; returns the last.
async function settled(ready) {
  const end = Date.now() + 5000;
  for (;;) {
    const m = parse(await scrape());
    if (ready(m) || Date.now() > end) return m;
    await sleep(20);
  }
}

before(async () => {
  server = await startServer(bin('FEATURE_TOUR'), ['--metrics', '/metrics']);
});

after(async () => {
  for (const c of clients) c.close();
  assert.equal(await server.stop(), 0, 'clean exit (no sanitizer report)');
});

test('promtool accepts the text', async () => {
  const text = await scrape();
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(r.error, undefined, 'promtool runs (Debian\'s prometheus package)');
  assert.equal(r.status, 0, `promtool check metrics: ${r.stdout}${r.stderr}`);
  assert.match(text, /^# HELP socket_io_connected /m);
  assert.match(text, /^sioc_build_info\{version="[0-9.]+"\} 1$/m);
  assert.match(text, /^process_open_fds [0-9]+$/m);
});

test('the gauges and counters say what the clients did', async () => {
  const before = parse(await scrape());
  const ws = [client('/', { transports: ['websocket'] }), client('/', { transports: ['websocket'] }),
    client('/', { transports: ['websocket'] })];
  const polling = [client('/', { transports: ['polling'] }), client('/', { transports: ['polling'] })];
  const chat = client('/chat', { transports: ['websocket'] });
  await Promise.all([...ws, ...polling, chat].map((c) => once(c, 'connect')));
  let m = await settled((s) => s.get('sioc_held_polls') === 2);
  assert.equal(m.get('socket_io_connected{namespace="/"}'), 5);
  assert.equal(m.get('socket_io_connected{namespace="/chat"}'), 1);
  assert.equal(m.get('sioc_engine_clients{transport="websocket"}'), 4);
  assert.equal(m.get('sioc_engine_clients{transport="polling"}'), 2);
  assert.equal(m.get('sioc_held_polls'), 2, 'each polling client holds a GET');
  assert.equal(m.get('socket_io_connect_total{namespace="/"}') - (before.get('socket_io_connect_total{namespace="/"}') || 0), 5);

  const heard = Promise.all([...ws.slice(1), ...polling].map((c) => once(c, 'serverMsg')));
  ws[0].emit('msg', 'counted');
  await heard;
  await ws[0].timeout(2000).emitWithAck('join', 'blue');
  m = parse(await scrape());
  const delta = (k) => m.get(k) - (before.get(k) || 0);
  assert.equal(delta('socket_io_events_received_total{namespace="/"}'), 2); // msg, join
  assert.equal(delta('socket_io_events_sent_total{namespace="/"}'), 4); // msg to the 4 others
  assert.equal(m.get('sioc_rooms{namespace="/"}'), 6, 'five sockets\' own rooms and "blue"');
  assert.ok(delta('socket_io_recieve_bytes') > 0 && delta('socket_io_transmit_bytes') > 0);

  ws[2].disconnect(); // the client's choice
  chat.io.engine.close(); // a transport close
  m = await settled((s) => s.get('socket_io_connected{namespace="/"}') === 4 &&
    s.get('socket_io_connected{namespace="/chat"}') === 0);
  assert.equal(m.get('socket_io_connected{namespace="/"}'), 4);
  assert.equal(m.get('socket_io_connected{namespace="/chat"}'), 0);
  assert.equal(delta('sioc_disconnects_total{reason="client namespace disconnect"}'), 1);
  assert.equal(delta('sioc_disconnects_total{reason="transport close"}'), 1);
  assert.equal(delta('socket_io_disconnect_total{namespace="/chat"}'), 1);
});

test('refused requests are counted by Engine.IO error code and HTTP status', async () => {
  const before = parse(await scrape());
  const r = await request(`${server.url}/socket.io/?EIO=4&transport=bogus`);
  assert.equal(r.status, 400);
  const s = await request(`${server.url}/socket.io/?EIO=4&transport=polling&sid=nosuchsession`);
  assert.equal(s.status, 400);
  const m = parse(await scrape());
  const delta = (k) => m.get(k) - (before.get(k) || 0);
  assert.equal(delta('sioc_connection_errors_total{code="0"}'), 1, 'unknown transport');
  assert.equal(delta('sioc_connection_errors_total{code="1"}'), 1, 'unknown session');
  assert.ok(delta('sioc_http_responses_total{code="400"}') >= 2);
  assert.ok(delta('sioc_http_responses_total{code="200"}') >= 1, 'the scrape itself');
});

test('only GET (and HEAD) reach the metrics; without --metrics there are none', async () => {
  const r = await request(`${server.url}/metrics`, { method: 'POST', body: '' });
  assert.equal(r.status, 405);
  const plain = await startServer(bin('FEATURE_TOUR'));
  try {
    assert.equal((await request(`${plain.url}/metrics`)).status, 404);
  } finally {
    assert.equal(await plain.stop(), 0);
  }
});

test('--log-format json: every line is one JSON object, with the fields the line has', async () => {
  const j = await startServer(bin('FEATURE_TOUR'), ['--log-format', 'json', '--log-level', 'info']);
  try {
    const c = io(`http://localhost:${j.port}`, { forceNew: true, transports: ['websocket'], reconnection: false });
    await once(c, 'connect');
    c.disconnect();
    await until(() => /left/.test(j.log()), 2000, 'the leave logged');
  } finally {
    assert.equal(await j.stop(), 0);
  }
  const lines = j.log().trim().split('\n').map((l) => JSON.parse(l)); // throws on a line that is not
  for (const l of lines) {
    assert.match(l.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(['error', 'warn', 'info', 'debug'].includes(l.level));
    assert.equal(typeof l.message, 'string');
  }
  assert.ok(lines.some((l) => /listening on http:\/\/localhost:/.test(l.message)));
  const joined = lines.find((l) => / joined \//.test(l.message));
  assert.equal(joined.namespace, '/');
  assert.match(joined.socket, /^[\w-]{20}$/);
  assert.match(joined.sid, /^[\w-]{20}$/);
  assert.ok(joined.address);
  const left = lines.find((l) => / left \//.test(l.message));
  assert.equal(left.reason, 'client namespace disconnect');
  assert.equal(left.socket, joined.socket);
});
