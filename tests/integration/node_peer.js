// A Node peer for the mixed-cluster tests: socket.io 4.8 with @socket.io/redis-adapter 8.3.0 (the
// classic adapter, key "socket.io"), as users run it. Events as feature-tour's that the tests use:
// `msg` (relayed as `serverMsg` to everyone else), `join` (room, acked true), `to` (room, event,
// ...args: to the room but the sender); and the cluster-wide operations, acked with their
// outcome: `fetch-all` ([{id, rooms}] of io.fetchSockets()), `sse` (x: io.serverSideEmit("hello",
// x) with acks, acked (error message or null, responses)), `ask-all` (ms: io.timeout(ms).emit(
// "question") with acks, acked likewise), `make-join` (room, other: io.in(room).socketsJoin(other)),
// `make-leave` (room, other: io.in(room).socketsLeave(other)), `kick` (room:
// io.in(room).disconnectSockets(true)), `all-rooms`, `poke-all` (each socket fetchSockets() finds
// gets `poke` with its own id through its RemoteSocket), each in its namespace. It answers the server-side
// event `hello (x, ack)` as feature-tour does, with {node: "node", got: x}. With a third argument
// `sharded:MODE` the adapter is createShardedAdapter's (Redis 7's sharded pub/sub, subscriptionMode
// MODE) instead; with `streams[:MS]`, @socket.io/redis-streams-adapter 0.3.1's (`streams-sharded`:
// with useShardedPubSub, on the stream "sh"), connection state recovery on when MS (maxDisconnectionDuration) is
// given, and events `whoami` (acked {id,
// recovered, rooms, data}) and `set-data` (object: socket.data = it). With `admin`, the classic
// adapter and @socket.io/admin-ui's instrument() (no auth, serverId "node-peer"). Usage:
// node node_peer.js PORT REDIS_URL [sharded:MODE | streams[:MS] | streams-sharded[:MS] | admin]
'use strict';
const { Server } = require('socket.io');
const { createAdapter, createShardedAdapter } = require('@socket.io/redis-adapter');
const { createAdapter: createStreamsAdapter } = require('@socket.io/redis-streams-adapter');
const { createClient } = require('redis');

const [port, url, kind] = [Number(process.argv[2]), process.argv[3], process.argv[4] || ''];

async function main() {
  const pub = createClient({ url });
  const sub = pub.duplicate();
  pub.on('error', () => {});
  sub.on('error', () => {});
  await Promise.all([pub.connect(), sub.connect()]);
  const recoveryMs = kind.startsWith('streams') && kind.includes(':') ? Number(kind.split(':')[1]) : 0;
  const io = new Server({
    cors: { origin: '*' },
    ...(recoveryMs ? { connectionStateRecovery: { maxDisconnectionDuration: recoveryMs } } : {}),
  });
  if (kind.startsWith('streams')) {
    const sharded = kind.startsWith('streams-sharded');
    io.adapter(createStreamsAdapter(pub, sharded ? { useShardedPubSub: true, streamName: 'sh' } : {}));
  } else if (kind.startsWith('sharded:')) {
    io.adapter(createShardedAdapter(pub, sub, { subscriptionMode: kind.slice(8) }));
  } else {
    io.adapter(createAdapter(pub, sub));
  }
  const handlers = (socket) => {
    socket.on('msg', (m) => socket.broadcast.emit('serverMsg', m));
    socket.on('join', (room, ack) => {
      socket.join(room);
      if (typeof ack === 'function') ack(true);
    });
    socket.on('to', (room, event, ...args) => socket.to(room).emit(event, ...args));
    const nsp = socket.nsp;
    socket.on('fetch-all', async (ack) => {
      const sockets = await nsp.fetchSockets();
      ack(sockets.map((s) => ({ id: s.id, rooms: [...s.rooms] })));
    });
    socket.on('sse', (x, ack) => io.serverSideEmit('hello', x, (err, res) => ack(err ? err.message : null, res)));
    socket.on('ask-all', (ms, ack) => io.timeout(ms).emit('question', (err, res) => ack(err ? err.message : null, res)));
    socket.on('make-join', (room, other, ack) => {
      nsp.in(room).socketsJoin(other);
      ack(true);
    });
    socket.on('make-leave', (room, other, ack) => {
      nsp.in(room).socketsLeave(other);
      ack(true);
    });
    socket.on('poke-all', async (ack) => {
      const sockets = await nsp.fetchSockets();
      for (const s of sockets) s.emit('poke', s.id);
      ack(sockets.length);
    });
    socket.on('kick', (room) => nsp.in(room).disconnectSockets(true));
    socket.on('whoami', (ack) => ack({ id: socket.id, recovered: socket.recovered, rooms: [...socket.rooms], data: socket.data }));
    socket.on('set-data', (data, ack) => {
      socket.data = data;
      if (typeof ack === 'function') ack(true);
    });
    socket.on('all-rooms', async (ack) => ack([...(await io.of('/').adapter.allRooms())]));
  };
  if (kind === 'admin') {
    require('@socket.io/admin-ui').instrument(io, { auth: false, serverId: 'node-peer', mode: 'development' });
  }
  io.on('connection', handlers);
  for (const nsp of [io.of('/'), io.of('/chat')]) {
    nsp.on('hello', (x, ack) => {
      if (typeof ack === 'function') ack({ node: 'node', got: x });
    });
  }
  io.of('/chat').on('connection', handlers);
  io.listen(port);
  process.on('SIGTERM', () => io.close(() => process.exit(0)));
  console.error(`node peer: listening on port ${port}`);
}
main();
