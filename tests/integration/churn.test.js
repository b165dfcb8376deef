// Leaks under churn: 100,000 connect / join "/" / disconnect cycles (bench/loadgen over raw
// WebSockets) leave the server's RSS within 1 MiB of where it was after a warm-up, and the server
// still chats afterwards.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const { io } = require('socket.io-client');
const { startServer, once, sleep, bin } = require('./lib');

const SANITIZED = !!process.env.SIOC_SANITIZED;
let tour;
before(async () => { tour = await startServer(bin('FEATURE_TOUR')); });
after(async () => assert.equal(await tour.stop(), 0, 'clean exit (no sanitizer report)'));

const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${tour.proc.pid}/status`, 'utf8'))[1]);

function churn(cycles) {
  const out = execFileSync(bin('LOADGEN'), ['--port', String(tour.port), '--scenario', 'churn',
    '--concurrency', '50', '--cycles', String(cycles), '--duration', '120'], { encoding: 'utf8' });
  const row = JSON.parse(out.trim().split('\n').pop());
  assert.equal(row.failed, 0, 'no cycle failed');
  assert.ok(row.cycles >= cycles, `${row.cycles} cycles`);
  return row;
}

test('100k connect/disconnect cycles leave RSS within 1 MiB', { timeout: 170000 }, async () => {
  // Under ASan every freed block sits in quarantine: fewer cycles, and no RSS figure to judge.
  const cycles = SANITIZED ? 5000 : 100000;
  churn(SANITIZED ? 1000 : 10000); // warm-up: allocator caches and tables reach their size
  await sleep(500);
  const before = rssKb();
  const row = churn(cycles);
  await sleep(1000);
  const after = rssKb();
  console.log(`churn: ${row.cycles} cycles at ${Math.round(row.cycles_s)}/s; RSS ${before} → ${after} KiB`);
  if (!SANITIZED) {
    // A leak of one block a cycle is 32 bytes at least (malloc's smallest chunk): over 3 MB here.
    // What the allocator itself drifts while 16 KiB header tables come and go is up to 250 KiB
    // over these cycles, less over each further 100k (measured: +168, +108, -4, +80 KiB), so the
    // bound is 1 MiB.
    assert.ok(after - before <= 1024, `RSS grew from ${before} to ${after} KiB`);
  }
  const [a, b] = [io(tour.url, { forceNew: true }), io(tour.url, { forceNew: true })];
  await Promise.all([once(a, 'connect'), once(b, 'connect')]);
  const got = once(b, 'serverMsg');
  a.emit('msg', 'after the churn');
  assert.equal(await got, 'after the churn');
  a.close();
  b.close();
});
