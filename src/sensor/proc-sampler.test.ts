import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CoalEvent } from '../model/event.js';
import { ProcSampler } from './proc-sampler.js';

const BTIME = 1_800_000_000;

function statLine(pid: number, comm: string, ppid: number, utime: number, starttime: number): string {
  return `${pid} (${comm}) S ${ppid} ${pid} ${pid} 0 -1 0 0 0 0 0 ${utime} 0 0 0 20 0 1 0 ${starttime} 1000 250 0\n`;
}

function writeProc(
  root: string,
  pid: number,
  o: {
    comm: string;
    ppid: number;
    utime: number;
    starttime: number;
    exe?: string;
    cmd?: string;
    fds?: number[];
    cgroup?: string;
  },
): void {
  const dir = join(root, String(pid));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'fd'), { recursive: true });
  writeFileSync(join(dir, 'stat'), statLine(pid, o.comm, o.ppid, o.utime, o.starttime));
  writeFileSync(join(dir, 'status'), `Name:\t${o.comm}\nUid:\t1000\t1000\t1000\t1000\n`);
  writeFileSync(join(dir, 'cmdline'), o.cmd ?? '');
  writeFileSync(join(dir, 'cgroup'), o.cgroup ?? `0::/system.slice/docker-${'b'.repeat(64)}.scope\n`);
  if (o.exe) symlinkSync(o.exe, join(dir, 'exe'));
  for (const [i, inode] of (o.fds ?? []).entries()) symlinkSync(`socket:[${inode}]`, join(dir, 'fd', String(i)));
}

function writeHost(root: string, busy: number, idle: number, tcp = ''): void {
  writeFileSync(
    join(root, 'stat'),
    `cpu  ${busy} 0 0 ${idle} 0 0 0 0 0 0\ncpu0 0 0 0 0\ncpu1 0 0 0 0\nbtime ${BTIME}\n`,
  );
  writeFileSync(join(root, 'meminfo'), 'MemTotal: 1000 kB\nMemAvailable: 500 kB\n');
  mkdirSync(join(root, 'net'), { recursive: true });
  writeFileSync(join(root, 'net', 'tcp'), `  sl  local_address rem_address   st\n${tcp}`);
}

const by = (events: CoalEvent[], action: string, pid?: number): CoalEvent[] =>
  events.filter((e) => e.event.action === action && (pid === undefined || e.process?.pid === pid));

test('fake /proc: first sample, exec, exit, pid reuse, vanished, sockets', async () => {
  const root = mkdtempSync(join(tmpdir(), 'coal-proc-'));
  try {
    const t0 = (BTIME + 1000) * 1000;
    writeHost(
      root,
      100,
      900,
      '   0: 0100007F:0D05 00000000:0000 0A 00000000:00000000 00:00000000 00000000 1000 0 500 1\n',
    );
    writeProc(root, 1, { comm: 'init', ppid: 0, utime: 5, starttime: 1, exe: '/sbin/init', cmd: '/sbin/init\0' });
    writeProc(root, 10, { comm: 'idle one', ppid: 1, utime: 0, starttime: 200, exe: '/bin/sleep', fds: [500] });
    writeProc(root, 20, { comm: 'busy (x)', ppid: 1, utime: 100, starttime: 300, exe: '/tmp/m (deleted)' });
    mkdirSync(join(root, '99')); // vanished: no stat
    const s = new ProcSampler({ root, hostName: 'h1', clockTicks: 100 });
    const a = await s.sample(t0);
    assert.equal(by(a.events, 'process-seen').length, 3);
    assert.equal(by(a.events, 'exec').length, 0);
    assert.equal(a.stats.vanished, 1);
    const busy = by(a.events, 'process-seen', 20)[0];
    assert.equal(busy.process?.name, 'busy (x)');
    assert.equal(busy.process?.exe_deleted, true);
    assert.equal(busy.process?.executable, '/tmp/m');
    assert.equal(busy.process?.entity_id, '20@300');
    assert.equal(busy.process?.parent?.entity_id, '1@1');
    assert.equal(busy.process?.start, new Date((BTIME + 3) * 1000).toISOString());
    assert.equal(busy.metrics?.cpu_time_ms, 1000);
    assert.equal(busy.metrics?.rss_bytes, 250 * 4096);
    assert.equal(busy.container?.id, 'b'.repeat(64));
    assert.equal(busy.user?.id, '1000');
    assert.equal(busy.coalmine.format, 'proc');
    assert.deepEqual(busy.coalmine.ref, { file: '/proc/20/stat', record: 'sample 1' });
    const listen = by(a.events, 'listen')[0];
    assert.equal(listen.source?.port, 3333);
    assert.equal(listen.process?.pid, 10);
    const metric = by(a.events, 'metric')[0];
    assert.equal(metric.metrics?.cores, 2);
    assert.equal(metric.metrics?.mem_pct, 50);

    // second sample: 20 burns CPU, 10 is idle, 1 gone, 20's pid... stays; new pid 30 started after the sampler;
    // pid 10 reused by a new process (different starttime); an outbound connection from 30
    writeHost(
      root,
      150,
      950,
      '   0: 0100007F:0D05 00000000:0000 0A 00000000:00000000 00:00000000 00000000 1000 0 500 1\n' +
        '   1: 0200000A:D431 0400000A:0D05 01 00000000:00000000 00:00000000 00000000 1000 0 600 1\n' +
        '   2: 0200000A:0016 0400000A:D432 01 00000000:00000000 00:00000000 00000000 0 0 601 1\n',
    );
    rmSync(join(root, '1'), { recursive: true });
    rmSync(join(root, '99'), { recursive: true });
    writeProc(root, 20, { comm: 'busy (x)', ppid: 1, utime: 200, starttime: 300, exe: '/tmp/m (deleted)' });
    writeProc(root, 30, {
      comm: 'xmrig',
      ppid: 20,
      utime: 0,
      starttime: 100_100,
      cmd: 'xmrig\0-o\0p:3333\0',
      fds: [600],
    });
    writeProc(root, 10, { comm: 'reused', ppid: 20, utime: 0, starttime: 100_050, fds: [500] });
    const b = await s.sample(t0 + 5000);
    assert.equal(by(b.events, 'process-seen', 20)[0].metrics?.cpu_time_ms, 2000);
    const exec = by(b.events, 'exec', 30)[0];
    assert.ok(exec);
    assert.equal(exec.process?.command_line, 'xmrig -o p:3333');
    assert.deepEqual(exec.process?.parent, { pid: 20, entity_id: '20@300', name: 'busy (x)', executable: '/tmp/m' });
    const exits = by(b.events, 'exit').map((e) => e.process?.entity_id);
    assert.deepEqual(exits.sort(), ['10@200', '1@1']);
    assert.equal(by(b.events, 'exec', 10)[0]?.process?.entity_id, '10@100050');
    const conns = by(b.events, 'connect');
    assert.equal(conns.length, 1, 'the accepted ssh client is not outbound');
    assert.equal(conns[0].destination?.ip, '10.0.0.4');
    assert.equal(conns[0].destination?.port, 3333);
    assert.equal(conns[0].process?.pid, 30);
    assert.equal(conns[0].network?.transport, 'tcp');
    assert.equal(by(b.events, 'listen').length, 0, 'a socket is reported once');
    assert.equal(by(b.events, 'metric')[0].metrics?.cpu_pct, 50);

    // third sample: nothing changes: idle processes are not re-reported, the connection is not repeated
    const c = await s.sample(t0 + 10000);
    assert.equal(by(c.events, 'process-seen').length, 0);
    assert.equal(by(c.events, 'connect').length, 0);

    // denied fd table (only meaningful when not root)
    if (process.getuid?.() !== 0) {
      chmodSync(join(root, '30', 'fd'), 0);
      const d = await s.sample(t0 + 15000);
      assert.equal(d.stats.fdUnreadable, 1);
      assert.ok(s.visibility().some((g) => g.includes('not attributable')));
      chmodSync(join(root, '30', 'fd'), 0o755);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("fake /proc: the container the sampler runs in (self/cgroup) is its host: only other containers' processes are placed", async () => {
  const ownId = 'a'.repeat(64);
  const otherId = 'c'.repeat(64);
  // the layouts a container runtime gives: cgroup v1 (several hierarchies) and v2 with a systemd driver
  const layouts: Array<[string, (id: string) => string]> = [
    [
      'v1 cgroupfs',
      (id) => `12:cpu,cpuacct:/docker/${id}\n11:memory:/docker/${id}\n0::/system.slice/containerd.service\n`,
    ],
    ['v2 systemd', (id) => `0::/system.slice/docker-${id}.scope\n`],
    [
      'kubepods',
      (id) => `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-${id}.scope\n`,
    ],
  ];
  for (const [layout, cgroupOf] of layouts) {
    for (const ownKnown of [true, false]) {
      const root = mkdtempSync(join(tmpdir(), 'coal-proc-self-'));
      try {
        writeHost(root, 100, 900);
        if (ownKnown) {
          mkdirSync(join(root, 'self'));
          writeFileSync(join(root, 'self', 'cgroup'), cgroupOf(ownId));
        }
        writeProc(root, 1, { comm: 'tini', ppid: 0, utime: 1, starttime: 1, cgroup: cgroupOf(ownId) });
        writeProc(root, 7, { comm: 'coalmine', ppid: 1, utime: 50, starttime: 5, cgroup: cgroupOf(ownId) });
        writeProc(root, 40, { comm: 'xmrig', ppid: 1, utime: 90, starttime: 9, cgroup: cgroupOf(otherId) });
        writeProc(root, 41, {
          comm: 'sshd',
          ppid: 1,
          utime: 2,
          starttime: 9,
          cgroup: '0::/system.slice/ssh.service\n',
        });
        const s = new ProcSampler({ root, hostName: 'h1', clockTicks: 100 });
        assert.equal(s.ownContainerId, ownKnown ? ownId : undefined, layout);
        const seen = by((await s.sample((BTIME + 10) * 1000)).events, 'process-seen');
        const placed = (pid: number) => seen.find((e) => e.process?.pid === pid)?.container?.id;
        // without self/cgroup there is nothing to tell our own container from a workload (the old behaviour)
        assert.equal(placed(1), ownKnown ? undefined : ownId, `${layout}: pid 1 in our own container`);
        assert.equal(placed(7), ownKnown ? undefined : ownId, `${layout}: the sampler's own process`);
        assert.equal(placed(40), otherId, `${layout}: a process of another container is still placed`);
        assert.equal(placed(41), undefined, `${layout}: a host service`);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    }
  }
});

test('real /proc: a busy child and a loopback connection', async (t) => {
  if (process.platform !== 'linux') {
    t.skip('needs Linux /proc');
    return;
  }
  const child = spawn(process.execPath, ['-e', 'const end = Date.now() + 1800; while (Date.now() < end) {}'], {
    stdio: 'ignore',
  });
  const server: Server = createServer((sock) => sock.on('error', () => {}));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  const port = address.port;
  const client: Socket = netConnect(port, '127.0.0.1');
  await new Promise<void>((r) => client.on('connect', r));
  try {
    const s = new ProcSampler();
    const a = await s.sample(Date.now());
    await new Promise((r) => setTimeout(r, 1000));
    const b = await s.sample(Date.now());
    const pid = child.pid;
    assert.ok(pid);
    const first = a.events.find((e) => e.process?.pid === pid && e.event.action === 'process-seen');
    const second = b.events.find((e) => e.process?.pid === pid && e.event.action === 'process-seen');
    assert.ok(first && second, 'child sampled twice');
    assert.match(first.process?.command_line ?? '', /busy|Date\.now/);
    assert.ok((second.metrics?.cpu_time_ms ?? 0) > (first.metrics?.cpu_time_ms ?? 0), 'cpu_time_ms grows');
    const conn = a.events.find((e) => e.event.action === 'connect' && e.destination?.port === port);
    assert.ok(conn, 'connect to the loopback server');
    assert.equal(conn.destination?.ip, '127.0.0.1');
    assert.equal(conn.process?.pid, process.pid);
    assert.ok(a.events.some((e) => e.event.action === 'listen' && e.source?.port === port));
    t.diagnostic(`${a.stats.processes} processes: ${a.stats.durationMs} ms, then ${b.stats.durationMs} ms`);
  } finally {
    client.destroy();
    server.close();
    child.kill();
  }
});

test('real /proc: 3,000 short-lived processes while sampling — races are counted, nothing throws, nothing is kept for the dead', {
  skip: process.platform !== 'linux' ? 'reads /proc (Linux only)' : false,
  timeout: 120_000,
}, async () => {
  const sampler = new ProcSampler();
  await sampler.sample(Date.now());
  // one shell starting 3,000 processes that exit at once; many vanish between listing and reading (more only
  // lengthens the run: CI time, not coverage)
  const churn = spawn('/bin/sh', ['-c', 'i=0; while [ $i -lt 3000 ]; do /bin/true; i=$((i+1)); done'], {
    stdio: 'ignore',
  });
  const ended = new Promise<number | null>((resolve) => churn.once('exit', resolve));
  let running = true;
  void ended.then(() => {
    running = false;
  });
  let samples = 0;
  let vanished = 0;
  // by pid: the machine's other processes come and go meanwhile too (a loaded CI runs other tests beside)
  const execed = new Set<number>();
  const exited = new Set<number>();
  const count = (events: Awaited<ReturnType<ProcSampler['sample']>>['events']) => {
    for (const e of events) {
      const pid = e.process?.pid;
      if (pid === undefined) continue;
      if (e.event.action === 'exec') execed.add(pid);
      if (e.event.action === 'exit') exited.add(pid);
    }
  };
  while (running) {
    const { events, stats } = await sampler.sample(Date.now());
    samples++;
    vanished += stats.vanished;
    count(events);
  }
  assert.equal(await ended, 0);
  const { stats, events: after } = await sampler.sample(Date.now());
  count(after);
  const last = await sampler.sample(Date.now());
  count(last.events);
  assert.ok(samples > 0 && execed.size > 0);
  // every short-lived process it caught alive is reported gone once it is gone: a pid seen starting that has
  // no exit is one still alive (another test's process, on a busy machine), or at most a couple whose pid a
  // new process took between two samples
  const unexplained = [...execed].filter((pid) => !exited.has(pid) && !existsSync(`/proc/${pid}`));
  assert.ok(
    unexplained.length <= 2,
    `exec ${execed.size}, exit ${exited.size}, gone with no exit: ${unexplained.length}`,
  );
  // it holds exactly what is alive now, not the 3,000 that came and went
  assert.ok(
    sampler.tracked.processes <= Math.max(stats.processes, last.stats.processes) + 5,
    JSON.stringify(sampler.tracked),
  );
  assert.ok(sampler.tracked.processes < 2000);
  assert.ok(Number.isInteger(vanished));
});

test('a child caught between fork and exec is reported again as an exec once its image changes', async () => {
  const root = mkdtempSync(join(tmpdir(), 'coal-proc-'));
  try {
    const t0 = (BTIME + 1000) * 1000;
    writeHost(root, 100, 900);
    writeProc(root, 20, { comm: 'xmrig', ppid: 1, utime: 100, starttime: 300, exe: '/tmp/xmrig', cmd: 'xmrig\0' });
    const s = new ProcSampler({ root, hostName: 'h1', clockTicks: 100 });
    await s.sample(t0);
    // forked, not yet exec'd: a copy of its parent
    writeProc(root, 21, { comm: 'xmrig', ppid: 20, utime: 0, starttime: 100_000, exe: '/tmp/xmrig', cmd: 'xmrig\0' });
    assert.equal(by((await s.sample(t0 + 1000)).events, 'exec', 21)[0]?.process?.executable, '/tmp/xmrig');
    writeProc(root, 21, {
      comm: 'sh',
      ppid: 20,
      utime: 1,
      starttime: 100_000,
      exe: '/usr/bin/dash',
      cmd: 'sh\0-c\0pkill -x kdevtmpfsi\0',
    });
    const exec = by((await s.sample(t0 + 2000)).events, 'exec', 21);
    assert.equal(exec.length, 1, 'the new image is an exec, so what was known of the pid is replaced');
    assert.equal(exec[0].process?.executable, '/usr/bin/dash');
    assert.equal(exec[0].process?.command_line, 'sh -c "pkill -x kdevtmpfsi"');
    assert.equal(exec[0].process?.entity_id, '21@100000');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
