// Helpers for the integration tests: start a server binary on a free port, raw HTTP requests,
// and small promise utilities. Every wait is bounded so a broken server fails a test, never hangs.
'use strict';
const { spawn } = require('node:child_process');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');

// Starts `bin` with `args` on a kernel-chosen port; resolves once it listens. `wrapper` runs it
// (e.g. ['prlimit', '--nofile=64:64']).
function startServer(bin, args = [], wrapper = []) {
  return new Promise((resolve, reject) => {
    const extra = process.env.SIOC_EVENT_LOOP ? ['--event-loop', process.env.SIOC_EVENT_LOOP] : [];
    // SIOC_VALGRIND=1 runs every server under memcheck: any error or definite leak makes it exit
    // 99, which the tests' "clean exit" checks catch.
    const grind = process.env.SIOC_VALGRIND
      ? ['valgrind', '--quiet', '--error-exitcode=99', '--leak-check=full', '--errors-for-leak-kinds=definite']
      : [];
    const argv = [...grind, ...wrapper, bin, '--port', '0', ...extra, ...args];
    const proc = spawn(argv[0], argv.slice(1), {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    proc.stdout.on('data', (chunk) => process.stdout.write(chunk));
    const timer = setTimeout(() => reject(new Error(`server did not start: ${log}`)), process.env.SIOC_VALGRIND ? 60000 : 10000);
    proc.stderr.on('data', (chunk) => {
      log += chunk;
      process.stderr.write(chunk);
      const m = /listening on (?:port |https?:\/\/localhost:)(\d+)/.exec(log);
      if (m && !proc.port) {
        clearTimeout(timer);
        proc.port = Number(m[1]);
        resolve({
          port: proc.port,
          url: `http://localhost:${proc.port}`,
          proc,
          log: () => log,
          stop: () => stopProcess(proc),
        });
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      if (!proc.port) reject(new Error(`server exited with ${code}: ${log}`));
    });
  });
}

function stopProcess(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve(proc.exitCode);
    const kill = setTimeout(() => proc.kill('SIGKILL'), 5000);
    proc.on('exit', (code, signal) => {
      clearTimeout(kill);
      resolve(code === null ? signal : code);
    });
    proc.kill('SIGTERM');
  });
}

// A plain HTTP request; resolves {status, headers, body (string)}.
function request(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    if (body !== undefined && headers['content-length'] === undefined) {
      headers = { ...headers, 'content-length': Buffer.byteLength(body) };
    }
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.setTimeout(10000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// Writes `text` on a fresh TCP connection; resolves with everything read until the server closes
// or `ms` pass.
function rawRequest(port, text, ms = 3000) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    const done = () => { clearTimeout(timer); sock.destroy(); resolve(got); };
    const timer = setTimeout(done, ms);
    sock.on('connect', () => sock.write(text));
    sock.on('data', (d) => { got += d; });
    sock.on('end', done);
    sock.on('close', done);
    sock.on('error', (e) => (got ? done() : reject(e)));
  });
}

// Waits are stretched under valgrind, where the servers run many times slower.
const SLOW = process.env.SIOC_VALGRIND ? 5 : 1;

// Resolves with the first `event` emitted by `emitter`, or rejects after `ms`.
function once(emitter, event, ms = 5000) {
  ms *= SLOW;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for '${event}'`)), ms);
    emitter.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args.length > 1 ? args : args[0]);
    });
  });
}

// Resolves when `predicate()` is true, polling every 10 ms, or rejects after `ms`.
async function until(predicate, ms = 5000, what = 'condition') {
  ms *= SLOW;
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

// The next message on a `ws` WebSocket, as a string.
async function nextMessage(ws, ms = 5000) {
  const [data] = await once(ws, 'message', ms);
  return String(data);
}

// A raw Socket.IO client over a plain WebSocket, joined to "/" and answering no ping: resolves
// with the WebSocket (its text frames in ws.frames, the open and CONNECT packets first) and the
// socket id.
async function rawSocketIO(port) {
  const WebSocket = require('ws');
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
  ws.on('error', () => {});
  ws.frames = [];
  ws.on('message', (m) => ws.frames.push(String(m)));
  await until(() => ws.frames.length === 1, 3000, 'open packet');
  ws.send('40');
  await until(() => ws.frames.length === 2, 3000, 'connect packet');
  return [ws, JSON.parse(ws.frames[1].slice(2)).sid];
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const bin = (name) => {
  const p = process.env[name];
  if (!p) throw new Error(`${name} is not set: run through meson test`);
  return p;
};

// A free loopback port (bound, read, closed: the test starts its peer on it at once).
const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

// Starts a helper process (redis-server, a Node peer); resolves once its output matches `ready`.
function startProcess(cmd, args, ready) {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => reject(new Error(`${cmd} did not start: ${log}`)), 10000);
    const on = (d) => {
      log += d;
      if (ready.test(log)) {
        clearTimeout(timer);
        resolve(proc);
      }
    };
    proc.stdout.on('data', on);
    proc.stderr.on('data', on);
    proc.on('exit', (code) => reject(new Error(`${cmd} exited with ${code}: ${log}`)));
  });
}

// A helper process stopped with SIGTERM (at once if it has exited).
const stopHelper = (proc) =>
  new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.removeAllListeners('exit');
    proc.on('exit', () => resolve());
    proc.kill('SIGTERM');
  });

// Debian's redis-server on a free port (or on `port`), keeping nothing on disk but in `dir`;
// resolves { proc, port } once it is ready. A free port can be taken by another process before
// redis-server binds it (it then exits): another is tried, so that nobody else is mistaken for it.
async function startRedis(dir, port) {
  for (let attempt = 0; ; attempt++) {
    const p = port || (await freePort());
    try {
      const proc = await startProcess('redis-server', ['--port', String(p), '--bind', '127.0.0.1',
        '--save', '', '--appendonly', 'no', '--dir', dir], /Ready to accept connections/);
      return { proc, port: p };
    } catch (err) {
      if (port || attempt >= 4) throw err;
    }
  }
}

// Debian's chromium, headless, through playwright-core (required here only when asked for).
function launchChromium() {
  const { chromium } = require('playwright-core');
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

module.exports = {
  launchChromium,
  ROOT, startServer, request, rawRequest, rawSocketIO, once, until, sleep, bin, nextMessage,
  freePort, startProcess, stopHelper, startRedis,
};
