// The Node peer for the benchmarks: socket.io 4.8.x (pinned in package.json) with the events the
// benchmark drives on feature-tour — `msg` relayed as `serverMsg` to everyone but the sender (the
// seed's chat), `echo` acked with its arguments — and the same defaults as sioc. With a Redis URL
// it joins a cluster as users run one: @socket.io/redis-adapter 8.3.0, the classic adapter.
// Usage: node node-server.js PORT [REDIS_URL]
'use strict';
const http = require('node:http');
const { Server } = require('socket.io');

const port = Number(process.argv[2] || 8000);
const redisUrl = process.argv[3];
const server = http.createServer();
const io = new Server(server, { serveClient: false });
io.on('connection', (socket) => {
  socket.on('msg', (text) => socket.broadcast.emit('serverMsg', text));
  socket.on('echo', (...args) => {
    const ack = typeof args[args.length - 1] === 'function' ? args.pop() : null;
    if (ack) ack(...args);
    else socket.emit('echo', ...args);
  });
});
async function cluster() {
  const { createClient } = require('redis');
  const { createAdapter } = require('@socket.io/redis-adapter');
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub));
}
(redisUrl ? cluster() : Promise.resolve()).then(() =>
  server.listen(port, '127.0.0.1', () => console.error(`node socket.io listening on port ${server.address().port}`)));
process.on('SIGTERM', () => process.exit(0));
