// What every mixed cluster (sioc nodes beside a Node node, through Redis) must do alike, whatever
// the adapter: the checks the sharded and the Streams adapters' tests share. The clients speak
// feature-tour's events (sioc) and node_peer.js's (Node).
'use strict';
const assert = require('node:assert/strict');
const { once, sleep } = require('./lib');

// Every argument of an ack.
const ackOf = (c, ...args) =>
  new Promise((resolve, reject) => c.timeout(5000).emit(...args, (err, ...r) => (err ? reject(err) : resolve(r))));

// `s` on a sioc node, `t` on another sioc node, `n` on the Node node: fetchSockets,
// serverSideEmit with acks and broadcasts with acks, asked from sioc and from Node, reach all.
async function requestsCross(s, t, n) {
  const ids = [s.id, t.id, n.id].sort();
  const [fromSioc] = await ackOf(s, 'fetch', null);
  assert.deepEqual(fromSioc.map((x) => x.id).sort(), ids);
  const [fromNode] = await ackOf(n, 'fetch-all');
  assert.deepEqual(fromNode.map((x) => x.id).sort(), ids);

  const [err, answers] = await ackOf(s, 'server-emit', 'hello', 5);
  assert.equal(err, null);
  assert.deepEqual(answers.map((x) => x.got).sort(), [5, 5]); // the other sioc node's and Node's
  const [nodeErr, nodeAnswers] = await ackOf(n, 'sse', 6);
  assert.equal(nodeErr, null);
  assert.equal(nodeAnswers.length, 2); // both sioc nodes'
  assert.deepEqual(nodeAnswers.map((x) => x.got), [6, 6]);

  for (const c of [s, t, n]) c.on('question', (ack) => ack(c.id));
  s.emit('ask-all', 'question', 3000);
  const [askErr, got] = await once(s, 'ask-all-result', 5000);
  assert.equal(askErr, null);
  assert.deepEqual(got.sort(), ids);
  const [nodeAskErr, nodeGot] = await ackOf(n, 'ask-all', 3000);
  assert.equal(nodeAskErr, null);
  assert.deepEqual(nodeGot.sort(), ids);
}

// `s` on sioc and `n` on Node in room "j"; Node's socketsJoin puts both in "k"; `kicker` (on
// another sioc node) disconnects "k": both go.
async function joinsAndKicksCross(s, n, kicker) {
  assert.equal(await s.timeout(2000).emitWithAck('join', 'j'), true);
  assert.equal(await n.timeout(2000).emitWithAck('join', 'j'), true);
  assert.equal(await n.timeout(2000).emitWithAck('make-join', 'j', 'k'), true); // Node's socketsJoin
  await sleep(200);
  assert.deepEqual((await s.timeout(2000).emitWithAck('rooms')).sort(), [s.id, 'j', 'k'].sort());
  const gone = Promise.all([once(s, 'disconnect'), once(n, 'disconnect')]);
  kicker.emit('kick', 'k', true); // sioc's disconnectSockets
  await gone;
}

module.exports = { ackOf, requestsCross, joinsAndKicksCross };
