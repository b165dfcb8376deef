// The deflate scenario's clients: N socket.io clients (the npm client over WebSocket, which offers
// permessage-deflate as browsers do) connect to the server on PORT; SENDERS of them emit `msg` with a
// SIZE-byte chat text (compressible as text is), RATE messages/s each, for SECONDS; the server relays
// each to every other client, compressed. The server's CPU time and RSS (from /proc/PID) are read
// before connecting, once connected, and once the traffic is over and the server idle, and printed
// as one JSON row. Usage: node deflate-clients.js PORT PID N SENDERS RATE SECONDS SIZE
'use strict';
const fs = require('node:fs');
const { io } = require('socket.io-client');

const [port, pid, n, senders, rate, seconds, size] = process.argv.slice(2, 9).map(Number);
const tick = 100; // clock ticks per second (getconf CLK_TCK on Linux)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function server() {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  return { cpu: (Number(stat[11]) + Number(stat[12])) / tick, rss };
}

// Words drawn by a fixed sequence: text that deflate shrinks about as much as a chat's.
function chatText(bytes, seed) {
  const words = ['hello', 'the', 'meeting', 'is', 'at', 'noon', 'tomorrow', 'see', 'you', 'there',
    'thanks', 'for', 'sending', 'report', 'numbers', 'look', 'good', 'we', 'should', 'ship', 'it'];
  let s = '';
  let x = seed * 2654435761 >>> 0;
  while (s.length < bytes) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += words[(x >>> 8) % words.length] + ((x & 7) === 0 ? '. ' : ' ');
  }
  return s.slice(0, bytes);
}

async function main() {
  const before = server();
  const clients = [];
  let failed = 0, delivered = 0;
  for (let i = 0; i < n; i += 50) { // 50 handshakes in flight at once
    const batch = [];
    for (let k = i; k < Math.min(n, i + 50); k++) {
      const c = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true, reconnection: false });
      clients.push(c);
      c.on('serverMsg', () => delivered++);
      batch.push(new Promise((resolve) => {
        c.on('connect', resolve);
        c.on('connect_error', () => resolve(failed++));
      }));
    }
    await Promise.all(batch);
  }
  await sleep(500);
  const connected = server();
  const texts = Array.from({ length: 16 }, (_, i) => chatText(size, i + 1));
  let sent = 0;
  const started = Date.now();
  const timer = setInterval(() => {
    for (let s = 0; s < senders; s++) clients[s].emit('msg', texts[sent++ % texts.length]);
  }, 1000 / rate);
  await sleep(seconds * 1000);
  clearInterval(timer);
  const expected = sent * (n - 1);
  for (let waited = 0; delivered < expected && waited < 10000; waited += 100) await sleep(100);
  await sleep(500); // the server is idle again
  const after = server();
  console.log(JSON.stringify({ phase: 'deflate', clients: n, failed, size, sent,
    expected, delivered, seconds: (Date.now() - started) / 1000,
    compressed: clients[n - 1].io.engine.transport.ws._extensions['permessage-deflate'] !== undefined,
    connect_cpu_s: connected.cpu - before.cpu, traffic_cpu_s: after.cpu - connected.cpu,
    rss_before_kb: before.rss, rss_connected_kb: connected.rss, rss_after_kb: after.rss }));
  for (const c of clients) c.close();
}
main();
