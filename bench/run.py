#!/usr/bin/env python3
"""Runs the same load against feature-tour (sioc) and the Node socket.io server, one after the
other, and prints one table with both and their ratios. Server CPU comes from /proc (user +
system time of the server process): on a shared, noisy machine the CPU a server spends per unit
of work is the figure to compare, not wall time.

    python3 bench/run.py            # the full run (about five minutes)
    python3 bench/run.py --smoke    # a tiny run that only checks everything still works
    python3 bench/run.py --scenario cluster   # one scenario, merged into the latest results

Results go to bench/results/latest.json and, with matplotlib, bench/results/latency.png.
"""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FULL = {
    'connect': dict(clients=10000),
    'fanout': dict(clients=1000, senders=10, rates='10,25,50,100,150,200,300', duration=5),
    'echo': dict(clients=100, duration=5),
    'churn': dict(concurrency=100, duration=10),
    'idle': dict(clients=19000, duration=60),
    'polling': dict(clients=2000, senders=5, rates='10', duration=5),
    'cluster': dict(clients=510, senders=5, local=5, rates='20,100,200', duration=5),
    'workers': dict(fanout=dict(clients=1000, senders=10, rates='100,200,300,400,500', duration=5),
                    echo=dict(clients=100, duration=5)),
    'broadcast': dict(clients=100000, workers=6, loadgens=6, idle=30, duration=20),
    'streams': dict(clients=510, senders=5, local=5, rates='20,100,200', duration=5),
    'sessions': dict(clients=2000, duration=5),
    'tls': dict(clients=1000),
    'deflate': dict(clients=500, senders=2, rate=2, duration=10, size=4096),
}
SMOKE = {
    'connect': dict(clients=200),
    'fanout': dict(clients=50, senders=5, rates='20', duration=1),
    'echo': dict(clients=10, duration=1),
    'churn': dict(concurrency=10, duration=1),
    'idle': dict(clients=100, duration=1),
    'polling': dict(clients=20, senders=2, rates='10', duration=1),
    'cluster': dict(clients=20, senders=2, local=2, rates='10', duration=1),
    'workers': dict(fanout=dict(clients=20, senders=2, rates='10', duration=1),
                    echo=dict(clients=10, duration=1)),
    'broadcast': dict(clients=200, workers=2, loadgens=2, idle=1, duration=5),
    'streams': dict(clients=20, senders=2, local=2, rates='10', duration=1),
    'sessions': dict(clients=10, duration=1, variants='streams'),
    'tls': dict(clients=10),
    'deflate': dict(clients=10, senders=2, rate=10, duration=1, size=4096),
}

RECOVERY_MS = 120000
# The Redis adapters a server may join with: sioc's flags, and the Node server's ADAPTER.
ADAPTERS = {
    'classic': ([], 'classic'),
    'streams': (['--redis-adapter', 'streams', '--max-disconnection-duration', str(RECOVERY_MS)],
                f'streams:{RECOVERY_MS}'),
    'streams-norecovery': (['--redis-adapter', 'streams'], 'streams'),
}


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def start(kind, build, redis_url=None, workers=1, adapter='classic', tls=None, deflate=False):
    """`tls`: (certificate, key) files to serve https and wss with; `deflate`: perMessageDeflate on."""
    port = free_port()
    env = dict(os.environ)
    if kind in FLOORS:
        argv = [os.path.join(build, 'bench', kind), '--port', str(port)]
    elif kind == 'sioc':
        argv = [os.path.join(build, 'examples', 'feature-tour'), '--port', str(port), '--host', '127.0.0.1']
        argv += ['--tls-cert', tls[0], '--tls-key', tls[1]] if tls else []
        argv += ['--redis', redis_url, *ADAPTERS[adapter][0]] if redis_url else []
        argv += ['--workers', str(workers)] if workers > 1 else []
        argv += ['--per-message-deflate'] if deflate else []
    else:
        argv = ['node', os.path.join(ROOT, 'bench', 'node-server.js'), str(port)]
        argv += [redis_url] if redis_url else []
        env['WORKERS'] = str(workers)
        env['ADAPTER'] = ADAPTERS[adapter][1]
        if tls:
            env['TLS_CERT'], env['TLS_KEY'] = tls
        if deflate:
            env['PER_MESSAGE_DEFLATE'] = '1'
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True)
    deadline = time.time() + 15
    line = ''
    while time.time() < deadline:
        line = proc.stderr.readline()
        if 'listening' in line:
            return proc, port
        if proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit(f'{kind} did not start: {line}')


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def loadgen(build, port, pid, scenario, params, extra=()):
    """`pid`: the server's, or several joined by commas; `extra`: more loadgen arguments."""
    argv = [os.path.join(build, 'bench', 'loadgen'), '--port', str(port), '--pid', str(pid),
            '--scenario', scenario, *extra]
    for k, v in params.items():
        argv += [f'--{k}', str(v)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    rows = [json.loads(l) for l in out.stdout.splitlines() if l.startswith('{')]
    if out.returncode != 0 or not rows:
        raise SystemExit(f'loadgen {scenario} failed ({out.returncode}): {out.stderr.strip()}')
    return rows


def start_redis():
    port = free_port()
    proc = subprocess.Popen(['redis-server', '--port', str(port), '--bind', '127.0.0.1', '--save', '',
                             '--appendonly', 'no'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        if 'Ready to accept connections' in line:
            proc.stdout.close()
            return proc, f'redis://127.0.0.1:{port}'
    raise SystemExit('redis-server did not start')


def run_cluster(kind, build, params, adapter='classic'):
    """Two servers of `kind` joined by a fresh redis-server: the senders on the first."""
    redis, url = start_redis()
    nodes = []
    try:
        nodes = [start(kind, build, url, adapter=adapter) for _ in range(2)]
        time.sleep(1)
        (pa, porta), (pb, portb) = nodes
        return loadgen(build, porta, f'{pa.pid},{pb.pid}', 'cluster', params,
                       ('--port2', str(portb), '--redis-pid', str(redis.pid)))
    finally:
        for proc, _ in nodes:
            stop(proc)
        stop(redis)


def run_streams(kind, build, params):
    """The cluster scenario with the Streams adapter, connection state recovery on."""
    return run_cluster(kind, build, params, 'streams')


def run_sessions(kind, build, params):
    """What a change of a socket's rooms costs one server of a Streams cluster and its Redis,
    with connection state recovery (sioc then keeps each session current in Redis) and without
    (sioc alone: without Redis)."""
    rows = []
    params = dict(params)
    only = params.pop('variants', None)  # the smoke run: one variant is enough to see it works
    variants = [('streams', 'streams'), ('streams-norecovery', 'streams-norecovery'), ('alone', None)]
    for name, adapter in (v for v in variants if not only or v[0] in only.split(',')):
        redis, url = start_redis() if adapter else (None, None)
        proc = None
        try:
            proc, port = start(kind, build, url, adapter=adapter or 'classic')
            time.sleep(1)
            extra = ('--redis-pid', str(redis.pid)) if redis else ()
            rows += [dict(r, variant=name) for r in loadgen(build, port, proc.pid, 'rooms', params, extra)]
        finally:
            if proc:
                stop(proc)
            if redis:
                stop(redis)
    return rows


def children(pid):
    """The processes whose parent is `pid` (a primary's workers)."""
    kids = []
    for d in os.listdir('/proc'):
        if d.isdigit():
            try:
                with open(f'/proc/{d}/stat') as f:
                    if int(f.read().rsplit(')', 1)[1].split()[1]) == pid:
                        kids.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return kids


def run_workers(kind, build, params):
    """One process against two workers on the same loads: every process's CPU summed."""
    rows = []
    for n in (1,) if kind in FLOORS else (1, 2):  # a floor is one process
        for scenario, p in params.items():
            proc, port = start(kind, build, workers=n)
            try:
                time.sleep(1)
                pids = ','.join(str(x) for x in [proc.pid, *children(proc.pid)])
                for row in loadgen(build, port, pids, scenario, p):
                    rows.append(dict(row, workers=n, scenario=scenario))
            finally:
                stop(proc)
    return rows


def figures(pids):
    """CPU seconds and RSS (kB) of `pids`, summed, from /proc."""
    tick = os.sysconf('SC_CLK_TCK')
    cpu = rss = 0
    for pid in pids:
        try:
            with open(f'/proc/{pid}/stat') as f:
                fields = f.read().rsplit(')', 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / tick
            with open(f'/proc/{pid}/status') as f:
                rss += next(int(l.split()[1]) for l in f if l.startswith('VmRSS:'))
        except (OSError, StopIteration):
            pass
    return cpu, rss


def run_broadcast(kind, build, params):
    """Many idle WebSockets over several workers, the load spread over several loadgens (the
    descriptor limit applies to each): RSS and idle CPU of all the server's processes, then one
    broadcast to all of them."""
    n, k = params['clients'], params['loadgens']
    proc, port = start(kind, build, workers=params['workers'])
    gens = []
    try:
        time.sleep(1)
        pids = [proc.pid, *children(proc.pid)]
        base_cpu, base_rss = figures(pids)
        t0 = time.time()
        for i in range(k):
            argv = [os.path.join(build, 'bench', 'loadgen'), '--port', str(port), '--scenario', 'broadcast',
                    '--clients', str(n // k + (1 if i < n % k else 0)), '--duration', str(params['duration']),
                    '--concurrency', '64']
            gens.append(subprocess.Popen(argv + (['--send-one'] if i == 0 else []), stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL, text=True))
        connected = [json.loads(g.stdout.readline()) for g in gens]
        took = time.time() - t0
        time.sleep(2)  # what connecting left to do settles
        cpu0, rss = figures(pids)
        gen_cpu0, _ = figures([g.pid for g in gens])
        time.sleep(params['idle'])
        cpu1, rss1 = figures(pids)
        gen_cpu1, _ = figures([g.pid for g in gens])
        for g in gens:
            g.send_signal(signal.SIGUSR1)
        heard = [json.loads(g.stdout.readline()) for g in gens]
        for g in gens:
            g.wait(30)
    finally:
        for g in gens:
            if g.poll() is None:
                g.kill()
        stop(proc)
    samples = sorted(x for h in heard for x in h['samples_us'])
    pct = lambda q: samples[min(int(q * len(samples)), len(samples) - 1)] / 1000 if samples else 0
    return [dict(phase='broadcast', workers=params['workers'], loadgens=k, clients=n,
                 ready=sum(c['ready'] for c in connected), failed=sum(c['failed'] for c in connected),
                 connect_s=took, rss_kb=max(rss, rss1), rss_base_kb=base_rss,
                 idle_s=params['idle'], idle_cpu_s=cpu1 - cpu0, loadgen_idle_cpu_s=gen_cpu1 - gen_cpu0,
                 expected=sum(h['expected'] for h in heard), heard=sum(h['heard'] for h in heard),
                 p50_ms=pct(0.5), p99_ms=pct(0.99), max_ms=samples[-1] / 1000 if samples else 0)]


def run_tls(kind, build, params):
    """N clients over wss (TLS 1.3, RSA 2048, a CA made here by openssl): RSS per idle
    connection and server CPU per connection (the TLS handshake and the Socket.IO connect)."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        f = lambda name: os.path.join(d, name)
        quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'),
                        '-out', f('ca.pem'), '-days', '1', '-subj', '/CN=bench CA'], **quiet)
        subprocess.run(['openssl', 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('key.pem'),
                        '-out', f('req.csr'), '-subj', '/CN=localhost'], **quiet)
        with open(f('ext.cnf'), 'w') as ext:
            ext.write('subjectAltName=DNS:localhost,IP:127.0.0.1\n')
        subprocess.run(['openssl', 'x509', '-req', '-in', f('req.csr'), '-CA', f('ca.pem'), '-CAkey',
                        f('ca.key'), '-set_serial', '1', '-out', f('cert.pem'), '-days', '1',
                        '-extfile', f('ext.cnf')], **quiet)
        proc, port = start(kind, build, tls=(f('cert.pem'), f('key.pem')))
        try:
            time.sleep(0.3)
            out = subprocess.run(['node', os.path.join(ROOT, 'bench', 'tls-clients.js'), str(port),
                                  str(proc.pid), str(params['clients']), f('ca.pem')],
                                 capture_output=True, text=True, timeout=600,
                                 env=dict(os.environ, NODE_PATH=os.path.join(ROOT, 'node_modules')))
            rows = [json.loads(l) for l in out.stdout.splitlines() if l.startswith('{')]
            if out.returncode != 0 or not rows or rows[0]['failed']:
                raise SystemExit(f'tls clients failed ({out.returncode}): {out.stdout}{out.stderr}')
            return rows
        finally:
            stop(proc)


def run_deflate(kind, build, params):
    """N npm clients over WebSocket with permessage-deflate agreed, a few of them sending 4 KB chat
    texts relayed to all: server CPU per million compressed deliveries, RSS per connection once
    the traffic is over (what compression keeps per connection)."""
    proc, port = start(kind, build, deflate=True)
    try:
        time.sleep(0.3)
        args = [str(params[k]) for k in ('clients', 'senders', 'rate', 'duration', 'size')]
        out = subprocess.run(['node', os.path.join(ROOT, 'bench', 'deflate-clients.js'), str(port),
                              str(proc.pid), *args], capture_output=True, text=True, timeout=600,
                             env=dict(os.environ, NODE_PATH=os.path.join(ROOT, 'node_modules')))
        rows = [json.loads(l) for l in out.stdout.splitlines() if l.startswith('{')]
        if out.returncode != 0 or not rows or rows[0]['failed'] or not rows[0]['compressed']:
            raise SystemExit(f'deflate clients failed ({out.returncode}): {out.stdout}{out.stderr}')
        return rows
    finally:
        stop(proc)


# The floor servers, bench/floor.c and bench/floor-lws.c, and what they speak enough of: WebSocket
# clients on "/", msg and echo.
FLOORS = ('floor', 'floor-lws')
FLOOR_SCENARIOS = ('connect', 'fanout', 'echo', 'churn', 'idle', 'workers')


def run_server(kind, build, plan):
    results = {}
    for scenario, params in plan.items():
        if kind in FLOORS and scenario not in FLOOR_SCENARIOS:
            continue
        if scenario in ('cluster', 'workers', 'broadcast', 'streams', 'sessions', 'tls', 'deflate'):
            run = {'cluster': run_cluster, 'workers': run_workers, 'broadcast': run_broadcast,
                   'streams': run_streams, 'sessions': run_sessions, 'tls': run_tls,
                   'deflate': run_deflate}[scenario]
            results[scenario] = run(kind, build, params)
            print(f'  {kind} {scenario}: done', file=sys.stderr)
            continue
        proc, port = start(kind, build)
        try:
            time.sleep(0.3)
            results[scenario] = loadgen(build, port, proc.pid, scenario, params)
        finally:
            stop(proc)
        print(f'  {kind} {scenario}: done', file=sys.stderr)
    return results


def summarize(r):
    """The figures the targets are stated in, from one server's results (the scenarios run)."""
    s = {}
    if 'connect' in r:
        c = r['connect'][0]
        s['connect: server CPU per connection (us)'] = c['server_cpu_s'] / max(c['ready'], 1) * 1e6
        s['connect: RSS per connection (bytes)'] = \
            (c['rss_after_kb'] - c['rss_before_kb']) * 1024 / max(c['ready'], 1)
    if 'tls' in r:
        t = r['tls'][0]
        s['tls: RSS per idle wss connection (bytes)'] = \
            (t['rss_after_kb'] - t['rss_before_kb']) * 1024 / max(t['ready'], 1)
        s['tls: server CPU per wss connection (us)'] = t['server_cpu_s'] / max(t['ready'], 1) * 1e6
    if 'deflate' in r:
        d = r['deflate'][0]
        s['deflate: 4 KB texts received (%)'] = d['delivered'] * 100 / max(d['expected'], 1)
        s['deflate: CPU s per million compressed deliveries'] = d['traffic_cpu_s'] / max(d['delivered'], 1) * 1e6
        s['deflate: RSS per connection after traffic (bytes)'] = \
            (d['rss_after_kb'] - d['rss_before_kb']) * 1024 / d['clients']
    if 'fanout' in r:
        fan = r['fanout']
        best = max(fan, key=lambda x: x['deliveries_s'])
        s['fan-out: max deliveries/s'] = best['deliveries_s']
        for row in fan:
            rate = int(row['offered_deliveries_s'])
            s[f'fan-out {rate}/s: CPU s per million'] = row['cpu_s_per_million']
            s[f'fan-out {rate}/s: p99 latency (ms)'] = row['p99_ms']
    if 'echo' in r:
        e = r['echo'][0]
        s['echo: round trips/s'] = e['round_trips_s']
        s['echo: CPU s per million round trips'] = e['cpu_s_per_million']
        s['echo: p99 latency (ms)'] = e['p99_ms']
    if 'churn' in r:
        ch = r['churn'][0]
        s['churn: cycles/s'] = ch['cycles_s']
        s['churn: CPU us per cycle'] = ch['cpu_us_per_cycle']
        s['churn: RSS after / before (%)'] = 100.0 * ch['rss_after_kb'] / max(ch['rss_before_kb'], 1)
    if 'idle' in r:
        i = r['idle']
        idle = i[1] if len(i) > 1 else i[0]
        s[f'idle {idle["ready"]} connections: % of a core'] = \
            100.0 * idle['server_cpu_s'] / max(idle['seconds'], 1e-9)
        s['idle: RSS per connection (bytes)'] = \
            (i[0]['rss_after_kb'] - i[0]['rss_before_kb']) * 1024 / max(i[0]['ready'], 1)
    if 'polling' in r:
        p = r['polling'][0]
        s['polling: deliveries/s'] = p['deliveries_s']
        s['polling: CPU s per million deliveries'] = p['cpu_s_per_million']
        s['polling: p99 latency (ms)'] = p['p99_ms']
    for row in r.get('cluster', []):
        rate = int(row['offered_deliveries_s'])
        s[f'cluster {rate}/s: cross-node deliveries/s'] = row['deliveries_s']
        s[f'cluster {rate}/s: both servers\' CPU s per million'] = row['cpu_s_per_million']
        s[f'cluster {rate}/s: Redis CPU s per million'] = row['redis_cpu_s_per_million']
        s[f'cluster {rate}/s: p99 latency through Redis (ms)'] = row['p99_ms']
        s[f'cluster {rate}/s: p99 added by Redis (ms)'] = max(row['p99_ms'] - row['p99_local_ms'], 0)
    for row in r.get('streams', []):
        rate = int(row['offered_deliveries_s'])
        s[f'streams {rate}/s: cross-node deliveries/s'] = row['deliveries_s']
        s[f'streams {rate}/s: both servers\' CPU s per million'] = row['cpu_s_per_million']
        s[f'streams {rate}/s: Redis CPU s per million'] = row['redis_cpu_s_per_million']
        s[f'streams {rate}/s: p99 latency through Redis (ms)'] = row['p99_ms']
        s[f'streams {rate}/s: p99 added by Redis (ms)'] = max(row['p99_ms'] - row['p99_local_ms'], 0)
    for row in r.get('sessions', []):
        v = row['variant']
        s[f'room changes ({v}): changes/s'] = row['changes_s']
        s[f'room changes ({v}): server CPU us per change'] = row['server_cpu_us_per_change']
        if v != 'alone':
            s[f'room changes ({v}): Redis CPU us per change'] = row['redis_cpu_us_per_change']
    s.update(summarize_workers(r.get('workers', [])))
    for b in r.get('broadcast', []):
        w = f'{b["clients"]:,} idle WebSockets over {b["workers"]} workers'
        s[f'{w}: connected (%)'] = 100.0 * b['ready'] / max(b['clients'], 1)
        s[f'{w}: time to connect them all (s)'] = b['connect_s']
        s[f'{w}: RSS of all processes (MB)'] = b['rss_kb'] / 1024
        s[f'{w}: idle CPU (% of a core)'] = 100.0 * b['idle_cpu_s'] / b['idle_s']
        s[f'{w}: one broadcast to all, p99 (ms)'] = b['p99_ms']
        s[f'{w}: one broadcast to all, last (ms)'] = b['max_ms']
        s[f'{w}: broadcast received (%)'] = 100.0 * b['heard'] / max(b['expected'], 1)
    return s


def summarize_workers(rows):
    """1 process and 2 workers: saturation (the most delivered at any offered rate), CPU per million
    deliveries of all processes at each rate both kept up with, echo; and the load generator's own
    CPU at saturation, which says whether it was the limit."""
    s = {}
    fan = {n: [x for x in rows if x['scenario'] == 'fanout' and x['workers'] == n] for n in (1, 2)}
    for n in (1, 2):
        if not fan[n]:
            continue
        best = max(fan[n], key=lambda x: x['deliveries_s'])
        s[f'workers {n}: fan-out max deliveries/s'] = best['deliveries_s']
        s[f'workers {n}: load generator CPU at max (%)'] = best.get('loadgen_cpu_pct', 0)
        for row in fan[n]:
            if row['deliveries_s'] >= 0.97 * row['offered_deliveries_s']:
                s[f'workers {n}: fan-out {int(row["offered_deliveries_s"])}/s CPU s per million'] = \
                    row['cpu_s_per_million']
    for n in (1, 2):
        for e in (x for x in rows if x['scenario'] == 'echo' and x['workers'] == n):
            s[f'workers {n}: echo round trips/s'] = e['round_trips_s']
            s[f'workers {n}: echo CPU s per million round trips'] = e['cpu_s_per_million']
            s[f'workers {n}: load generator CPU in echo (%)'] = e.get('loadgen_cpu_pct', 0)
    return s


# Figures where more is better; for every other one (CPU, memory, latency) less is.
MORE_IS_BETTER = ('deliveries/s', 'round trips/s', 'cycles/s', 'received (%)', 'connected (%)',
                  'changes/s')


def table(sioc, node, floor=None, floor_lws=None):
    """sioc / floor: sioc's figure over the floor server's (for a cost, how many times the floor
    sioc spends; for a rate, the fraction of the floor's it reaches); floor-lws / floor: the same
    for the floor on libwebsockets, what lws and libuv cost before any of sioc's code; sioc's
    advantage: how many times better than Node it does, whichever way is better."""
    floor, floor_lws = floor or {}, floor_lws or {}
    fmt = lambda v: '-' if v is None else f'{v:,.2f}'
    lines = ['| figure | floor | floor-lws | sioc | sioc / floor | floor-lws / floor | Node '
             '| sioc advantage |',
             '|---|---:|---:|---:|---:|---:|---:|---:|']
    # Per worker: the floors are one process, so two workers' figures are set against their own on
    # the same load (CPU per million is per unit of work, whichever process does it).
    one = lambda d, key: d.get(key, d.get(key.replace('workers 2:', 'workers 1:')))
    for key in sioc:
        a, b = sioc[key], node.get(key)
        f, fl = one(floor, key), one(floor_lws, key)
        more = key.endswith(MORE_IS_BETTER)
        merit = 'load generator' not in key  # the load generator's own CPU is not a figure of merit
        ratio = f'{(a / b if more else b / a):.2f}x' if merit and a and b else '-'
        to_floor = f'{a / f:.2f}x' if merit and a and f else '-'
        lws_to_floor = f'{fl / f:.2f}x' if merit and fl and f else '-'
        lines.append(f'| {key} | {fmt(f)} | {fmt(fl)} | {a:,.2f} | {to_floor} | {lws_to_floor} '
                     f'| {fmt(b)} | {ratio} |')
    return '\n'.join(lines)


def plot(results, path):
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        print('(no matplotlib: no plot)', file=sys.stderr)
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for kind, style in (('sioc', '-o'), ('node', '-s')):
        fan = results[kind]['fanout']
        x = [row['offered_deliveries_s'] for row in fan]
        ax.plot(x, [row['p50_ms'] for row in fan], style, label=f'{kind} p50')
        ax.plot(x, [row['p99_ms'] for row in fan], style, alpha=0.5, label=f'{kind} p99')
    ax.set_xlabel('offered deliveries per second (1000 clients, 10 senders)')
    ax.set_ylabel('latency, send to receipt (ms)')
    ax.set_yscale('log')
    ax.grid(True, which='both', alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--smoke', action='store_true', help='a tiny run: checks the benchmark works')
    ap.add_argument('--build', default=os.path.join(ROOT, 'build'))
    ap.add_argument('--only', choices=['sioc', 'node', *FLOORS])
    ap.add_argument('--scenario', choices=list(FULL),
                    help='run this scenario only; its rows replace those in latest.json')
    ap.add_argument('--report', action='store_true',
                    help='print the table and draw the plot from bench/results/latest.json')
    args = ap.parse_args()
    out_dir = os.path.join(ROOT, 'bench', 'results')
    if args.report:
        with open(os.path.join(out_dir, 'latest.json')) as f:
            results = json.load(f)
        plot(results, os.path.join(out_dir, 'latency.png'))
        print(table(summarize(results['sioc']), summarize(results['node']),
                    summarize(results.get('floor', {})), summarize(results.get('floor-lws', {}))))
        return
    plan = SMOKE if args.smoke else FULL
    if args.scenario:
        plan = {args.scenario: plan[args.scenario]}
    kinds = [args.only] if args.only else [*FLOORS, 'sioc', 'node']
    # The smoke run checks the floors on the scenarios where their code differs, to save time.
    smoke_floor = lambda k, s: (not args.smoke or k not in FLOORS
                                or s in ('connect', 'fanout', 'echo'))
    results = {k: run_server(k, args.build, {s: p for s, p in plan.items() if smoke_floor(k, s)})
               for k in kinds}
    latest = os.path.join(out_dir, 'latest.json')
    if args.scenario and not args.smoke and os.path.exists(latest):
        with open(latest) as f:
            merged = json.load(f)
        for k in kinds:
            merged.setdefault(k, {}).update(results[k])
        results = merged
        kinds = [k for k in (*FLOORS, 'sioc', 'node') if k in results]
    if not args.smoke:
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, 'latest.json'), 'w') as f:
            json.dump(results, f, indent=1)
        if 'sioc' in kinds and 'node' in kinds:
            plot(results, os.path.join(out_dir, 'latency.png'))
    sums = {k: summarize(v) for k, v in results.items()}
    if 'sioc' in kinds and 'node' in kinds:
        print(table(sums['sioc'], sums['node'], sums.get('floor'), sums.get('floor-lws')))
    else:
        print(json.dumps({k: sums[k] for k in kinds}, indent=1))


if __name__ == '__main__':
    main()
