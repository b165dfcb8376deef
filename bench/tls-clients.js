// The TLS scenario's clients: N socket.io clients (the npm client, over wss, TLS 1.3) connect to
// the server on PORT trusting the CA in CA_FILE, a few at a time; the server's RSS and CPU time
// (from /proc/PID) are read before and once every client is connected and the server idle, and
// printed as one JSON row. Usage: node tls-clients.js PORT PID N CA_FILE
'use strict';
const fs = require('node:fs');
const { io } = require('socket.io-client');

const [port, pid, n, caFile] = [Number(process.argv[2]), Number(process.argv[3]), Number(process.argv[4]), process.argv[5]];
const ca = fs.readFileSync(caFile);
const tick = 100; // clock ticks per second (getconf CLK_TCK on Linux)

function server() {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  return { cpu: (Number(stat[11]) + Number(stat[12])) / tick, rss };
}

async function main() {
  const before = server();
  const started = Date.now();
  const clients = [];
  let ready = 0, failed = 0;
  for (let i = 0; i < n; i += 50) { // 50 handshakes in flight at once
    const batch = [];
    for (let k = i; k < Math.min(n, i + 50); k++) {
      const c = io(`https://localhost:${port}`, { ca, transports: ['websocket'], forceNew: true, reconnection: false });
      clients.push(c);
      batch.push(new Promise((resolve) => {
        c.on('connect', () => resolve(ready++));
        c.on('connect_error', () => resolve(failed++));
      }));
    }
    await Promise.all(batch);
  }
  const took = (Date.now() - started) / 1000;
  await new Promise((resolve) => setTimeout(resolve, 1000)); // idle: buffers released
  const after = server();
  console.log(JSON.stringify({ phase: 'tls', clients: n, ready, failed, connect_s: took,
    server_cpu_s: after.cpu - before.cpu, rss_before_kb: before.rss, rss_after_kb: after.rss }));
  for (const c of clients) c.close();
}
main();
