// Debian's python3-socketio client chats with the Node socket.io-client through sioc.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const { io } = require('socket.io-client');
const { startServer, once, until, bin } = require('./lib');

const PYTHON = process.env.SIOC_PYTHON || '/usr/bin/python3';
let tour;
before(async () => {
  tour = await startServer(bin('FEATURE_TOUR'));
});
after(async () => assert.equal(await tour.stop(), 0, 'clean exit (no sanitizer report)'));

test('a python3-socketio client and a socket.io-client chat, and python gets its ack', async () => {
  const node = io(tour.url, { forceNew: true });
  const py = spawn(PYTHON, [path.join(__dirname, 'python_client.py'), tour.url], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await once(node, 'connect');
    const nodeGot = [];
    node.on('serverMsg', (m) => nodeGot.push(m));
    const events = [];
    let buf = '';
    py.stdout.setEncoding('utf8');
    py.stdout.on('data', (d) => {
      buf += d;
      const parts = buf.split('\n');
      buf = parts.pop();
      for (const line of parts) {
        try {
          events.push(JSON.parse(line));
        } catch {
          events.push({ event: 'unreadable', line });
        }
      }
    });
    const exited = once(py, 'exit', 30000);
    await until(() => events.some((e) => e.event === 'connected'), 15000, 'python connected');
    node.emit('msg', 'from node 你好');
    const [code] = await exited;

    assert.equal(code, 0, JSON.stringify(events));
    assert.deepEqual(nodeGot, ['from python 中文 🐍']);
    assert.deepEqual(events.find((e) => e.event === 'serverMsg').data, 'from node 你好');
    assert.deepEqual(events.find((e) => e.event === 'ack').data, ['x', 1, { k: [true, null] }]);
    assert.match(events.find((e) => e.event === 'transport').data, /^(websocket|polling)$/);
  } finally {
    node.close();
    if (py.exitCode === null) py.kill();
  }
});
