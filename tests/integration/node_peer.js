// A Node peer for the mixed-cluster tests: socket.io 4.8 with @socket.io/redis-adapter 8.3.0 (the
// classic adapter, key "socket.io"), as users run it. Events as feature-tour's that the tests use:
// `msg` (relayed as `serverMsg` to everyone else), `join` (room, acked true), `to` (room, event,
// ...args: to the room but the sender). Usage: node node_peer.js PORT REDIS_URL
'use strict';
const { Server } = require('socket.io');
const { createAdapter } = require('@socket.io/redis-adapter');
const { createClient } = require('redis');

const [port, url] = [Number(process.argv[2]), process.argv[3]];

async function main() {
  const pub = createClient({ url });
  const sub = pub.duplicate();
  pub.on('error', () => {});
  sub.on('error', () => {});
  await Promise.all([pub.connect(), sub.connect()]);
  const io = new Server({ cors: { origin: '*' } });
  io.adapter(createAdapter(pub, sub));
  const handlers = (socket) => {
    socket.on('msg', (m) => socket.broadcast.emit('serverMsg', m));
    socket.on('join', (room, ack) => {
      socket.join(room);
      if (typeof ack === 'function') ack(true);
    });
    socket.on('to', (room, event, ...args) => socket.to(room).emit(event, ...args));
  };
  io.on('connection', handlers);
  io.of('/chat').on('connection', handlers);
  io.listen(port);
  process.on('SIGTERM', () => io.close(() => process.exit(0)));
  console.error(`node peer: listening on port ${port}`);
}
main();
