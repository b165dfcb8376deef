// The Node peer for the benchmarks: socket.io 4.8.x (pinned in package.json) with the events the
// benchmark drives on feature-tour — `msg` relayed as `serverMsg` to everyone but the sender (the
// seed's chat), `echo` acked with its arguments — and the same defaults as sioc. With a Redis URL
// it joins a cluster as users run one: @socket.io/redis-adapter 8.3.0, the classic adapter, or
// with ADAPTER=streams[:MS] @socket.io/redis-streams-adapter 0.3.1 (connection state recovery
// on, maxDisconnectionDuration MS, when MS is given). Rooms: `join` and `leave` (room, acked
// true), as feature-tour's. With
// WORKERS=N (N > 1) in the environment it runs as Node users spread a server over cores: `cluster`
// with N workers, @socket.io/sticky in the primary (least-connection) and
// @socket.io/cluster-adapter joining the workers, as those packages' READMEs set them up.
// With TLS_CERT and TLS_KEY (PEM files) it serves https and wss (https.createServer), one process.
// With PER_MESSAGE_DEFLATE=1, perMessageDeflate is on (Node's default threshold, 1024 bytes).
// Usage: [WORKERS=N] [ADAPTER=classic|streams[:MS]] [TLS_CERT=F TLS_KEY=F] [PER_MESSAGE_DEFLATE=1]
//        node node-server.js PORT
//        [REDIS_URL]
'use strict';
const cluster = require('node:cluster');
const http = require('node:http');
const { Server } = require('socket.io');

const port = Number(process.argv[2] || 8000);
const redisUrl = process.argv[3];
const workers = Number(process.env.WORKERS || 1);
const adapter = process.env.ADAPTER || 'classic';
const recoveryMs = adapter.startsWith('streams:') ? Number(adapter.slice(8)) : 0;
const recovery = recoveryMs ? { connectionStateRecovery: { maxDisconnectionDuration: recoveryMs } } : {};

function serve(io) {
  io.on('connection', (socket) => {
    socket.on('msg', (text) => socket.broadcast.emit('serverMsg', text));
    socket.on('echo', (...args) => {
      const ack = typeof args[args.length - 1] === 'function' ? args.pop() : null;
      if (ack) ack(...args);
      else socket.emit('echo', ...args);
    });
    socket.on('join', (room, ack) => {
      socket.join(room);
      if (typeof ack === 'function') ack(true);
    });
    socket.on('leave', (room, ack) => {
      socket.leave(room);
      if (typeof ack === 'function') ack(true);
    });
  });
}

async function redisAdapter(io) {
  const { createClient } = require('redis');
  const pub = createClient({ url: redisUrl });
  if (adapter.startsWith('streams')) {
    await pub.connect();
    io.adapter(require('@socket.io/redis-streams-adapter').createAdapter(pub));
    return;
  }
  const { createAdapter } = require('@socket.io/redis-adapter');
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub));
}

if (workers > 1 && cluster.isPrimary) {
  const { setupMaster } = require('@socket.io/sticky');
  const { setupPrimary } = require('@socket.io/cluster-adapter');
  const server = http.createServer();
  setupMaster(server, { loadBalancingMethod: 'least-connection' });
  setupPrimary();
  cluster.setupPrimary({ serialization: 'advanced' });
  let ready = 0;
  for (let i = 0; i < workers; i++) {
    cluster.fork().on('message', (m) => {
      if (m === 'ready' && ++ready === workers) {
        server.listen(port, '127.0.0.1', () =>
          console.error(`node socket.io (${workers} workers) listening on port ${server.address().port}`));
      }
    });
  }
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers)) w.kill();
    process.exit(0);
  });
} else if (workers > 1) {
  const { setupWorker } = require('@socket.io/sticky');
  const { createAdapter } = require('@socket.io/cluster-adapter');
  const io = new Server(http.createServer(), { serveClient: false });
  io.adapter(createAdapter());
  setupWorker(io);
  serve(io);
  process.send('ready');
} else {
  const tls = process.env.TLS_CERT
    ? { cert: require('node:fs').readFileSync(process.env.TLS_CERT), key: require('node:fs').readFileSync(process.env.TLS_KEY) }
    : null;
  const server = tls ? require('node:https').createServer(tls) : http.createServer();
  const deflate = process.env.PER_MESSAGE_DEFLATE === '1' ? { perMessageDeflate: true } : {};
  const io = new Server(server, { serveClient: false, ...recovery, ...deflate });
  serve(io);
  (redisUrl ? redisAdapter(io) : Promise.resolve()).then(() =>
    server.listen(port, '127.0.0.1', () => console.error(`node socket.io listening on port ${server.address().port}`)));
  process.on('SIGTERM', () => process.exit(0));
}
