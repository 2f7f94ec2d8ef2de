// run-tests: alone (a live watch samples /proc, and inspect reads every test program's memory)
/**
 * `coalmine inspect` end to end, on programs built here: one holding XMRig-like configuration, a
 * Stratum login and job, a pool URL and a wallet only in its heap (XOR-encoded in its file), run under
 * a harmless name from a private directory (not /tmp: nothing but its memory and CPU may give it
 * away); a packed copy (deflated inside a loader that inflates it into a memfd and runs it); a packed
 * program whose proof-of-work constants are in its read-only data; benign busy node and python. Then
 * `watch --inspect` turns the busy marker program, which shows nothing but CPU, into a finding, and
 * leaves the busy node, which it inspects too, without one.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import type { ProcessInspection } from '../../src/run/inspect.js';
import { ndjsonFindings, runCli, startCli } from '../support/cli.js';
import {
  compileC,
  gccSkip,
  minerMarkerSource,
  packedLoaderSource,
  powConstantsSource,
  randomxShapeSource,
} from '../support/native.js';

const skip = gccSkip || (process.platform !== 'linux' && 'inspect reads /proc (Linux only)');

function processes(stdout: string): ProcessInspection[] {
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((r) => r.type === 'inspect-process');
}

describe('coalmine inspect', { skip }, () => {
  let dir: string;
  const children: ChildProcess[] = [];
  let marker: ChildProcess;
  let packed: ChildProcess;
  let constants: ChildProcess;
  let benignNode: ChildProcess;
  let benignPython: ChildProcess | undefined;
  let markerPath: string;

  const started = (c: ChildProcess) => {
    children.push(c);
    return c;
  };

  before(async () => {
    // a private directory, not /tmp: the watch test's miner must show nothing but CPU (a program run from a
    // world-writable place is evidence of its own)
    dir = mkdtempSync(join(homedir(), 'coalmine-inspect-'));
    const build = join(dir, 'build');
    mkdirSync(build);
    const elf = compileC(build, 'marker', minerMarkerSource());
    markerPath = join(dir, 'dbus-helper');
    copyFileSync(elf, markerPath);
    const bytes = readFileSync(elf);
    const loader = compileC(build, 'loader', packedLoaderSource(deflateSync(bytes), bytes.length), { args: ['-lz'] });
    copyFileSync(loader, join(dir, 'update-notifier'));
    const pow = readFileSync(compileC(build, 'pow', powConstantsSource()));
    const powLoader = compileC(build, 'pow-loader', packedLoaderSource(deflateSync(pow), pow.length), {
      args: ['-lz'],
    });
    copyFileSync(powLoader, join(dir, 'gvfsd-metadata'));
    marker = started(spawn(markerPath, [], { stdio: 'ignore' }));
    packed = started(spawn(join(dir, 'update-notifier'), [], { stdio: 'ignore' }));
    constants = started(spawn(join(dir, 'gvfsd-metadata'), [], { stdio: 'ignore' }));
    benignNode = started(
      spawn(
        process.execPath,
        // busy until the suite ends (after() kills it; 15 minutes at most, should the runner die): the
        // watch test, last, needs it busy still on a loaded host
        ['-e', 'let x = 0; const end = Date.now() + 900000; while (Date.now() < end) x += Math.sqrt(x + 1);'],
        {
          stdio: 'ignore',
        },
      ),
    );
    const python = spawn(
      'python3',
      ['-c', 'import time\nend = time.time() + 900\nx = 0\nwhile time.time() < end: x += 1'],
      {
        stdio: 'ignore',
      },
    );
    python.on('error', () => {}); // no python here: that benign case is left out
    if (python.pid !== undefined) benignPython = started(python);
    await new Promise((r) => setTimeout(r, 800)); // the programs decode their strings and the loader execs
  });
  after(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('the marker strings are not in the files on disk', () => {
    for (const f of [markerPath, join(dir, 'update-notifier')]) {
      const text = readFileSync(f).toString('latin1');
      for (const s of ['donate-level', 'mining.', 'stratum+tcp', '"method"'])
        assert.equal(text.includes(s), false, `${f} holds ${s}`);
    }
    const kawpow = Buffer.from('r\0\0\0A\0\0\0V\0\0\0E\0\0\0N\0\0\0', 'latin1');
    assert.equal(readFileSync(join(dir, 'build', 'pow')).includes(kawpow), true, 'the program holds its constants');
    assert.equal(readFileSync(join(dir, 'gvfsd-metadata')).includes(kawpow), false, 'its packed file does not');
  });

  it("reads a fileless program's read-only data: the packed program's proof-of-work constants match in its memfd", () => {
    const r = runCli(['inspect', String(constants.pid), '--format', 'ndjson']);
    assert.equal(r.code, 1, r.stderr);
    const p = processes(r.stdout)[0];
    assert.match(p.executable ?? '', /^\/memfd:payload/);
    const m = p.matches.find((x) => x.rule === 'coalmine_pow_constants');
    assert.ok(m, JSON.stringify(p.matches).slice(0, 500));
    assert.equal(m.regionPerms, 'r--p');
    assert.match(m.region, /^memfd:payload \(deleted\)@[0-9a-f]+$/);
    assert.equal(m.strength, 'medium');
    assert.deepEqual(m.hits.map((h) => h.pattern).sort(), ['$ethash_dag_sizes', '$kawpow_padding', '$rx_aes_gen_key0']);
    assert.deepEqual(
      [...new Set(p.matches.map((x) => x.rule))],
      ['coalmine_pow_constants'],
      'constants alone are no configuration, session or wallet',
    );
  });

  it('matches the marker program and its packed copy with rule and region named, and not benign busy node or python', () => {
    const pids = [marker.pid, packed.pid, benignNode.pid, benignPython?.pid].filter((p) => p !== undefined);
    const r = runCli(['inspect', ...pids.map(String), '--format', 'ndjson']);
    assert.equal(r.code, 1, r.stderr);
    const byPid = new Map(processes(r.stdout).map((p) => [p.pid, p]));
    for (const pid of [marker.pid, packed.pid]) {
      const p = byPid.get(pid as number);
      assert.ok(p, `pid ${pid} inspected`);
      assert.equal(p.gap, undefined);
      const rules = p.matches.map((m) => m.rule).sort();
      assert.deepEqual(
        rules,
        ['coalmine_monero_wallet', 'coalmine_pool_url', 'coalmine_stratum_session', 'coalmine_xmrig_config'],
        `pid ${pid}`,
      );
      const stratum = p.matches.find((m) => m.rule === 'coalmine_stratum_session');
      assert.ok(stratum);
      assert.match(stratum.region, /^\[heap\]@[0-9a-f]+$/);
      assert.equal(stratum.kind, 'miner');
      assert.equal(stratum.strength, 'strong');
      assert.ok(stratum.hits.some((h) => /"method":"login"/.test(h.text) && /^0x[0-9a-f]+$/.test(h.address)));
    }
    assert.equal(byPid.get(marker.pid as number)?.executable, markerPath);
    assert.match(
      byPid.get(packed.pid as number)?.executable ?? '',
      /^\/memfd:payload/,
      'the packed copy runs from a memfd',
    );
    for (const c of [benignNode, benignPython]) {
      if (!c) continue;
      const p = byPid.get(c.pid as number);
      assert.ok(p && p.bytes > 0, 'the benign program was read');
      assert.deepEqual(p.matches, [], `pid ${c.pid} matched nothing`);
      assert.equal(p.shapeSays, undefined);
    }
  });

  it('says which text matched where, inertly, in text output', () => {
    const r = runCli(['inspect', String(marker.pid)]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /MATCH coalmine_stratum_session \[miner, strong\] in \[heap\]@[0-9a-f]+ \(rw-p\)/);
    assert.match(r.stdout, new RegExp(`pid ${marker.pid} dbus-helper `));
  });

  it('--dump preserves the matching regions with a manifest of sha256s', () => {
    const out = join(dir, 'dump');
    const r = runCli(['inspect', String(marker.pid), '--dump', out, '--format', 'ndjson']);
    assert.equal(r.code, 1, r.stderr);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    assert.equal(manifest.coalmine, 'inspect-dump');
    const regions = manifest.processes[0].regions;
    assert.ok(regions.length >= 1);
    for (const reg of regions) {
      const bytes = readFileSync(join(out, reg.file));
      assert.equal(createHash('sha256').update(bytes).digest('hex'), reg.sha256);
      assert.equal(bytes.length, reg.bytes);
    }
    assert.ok(regions.some((reg: { rules: string[] }) => reg.rules.includes('coalmine_stratum_session')));
    // only what matched: never the whole address space unless asked
    for (const reg of regions) assert.ok(reg.rules.length > 0, `${reg.region} was preserved without a match`);
    assert.equal(readdirSync(join(out, `pid-${marker.pid}`)).length, regions.length);
    const again = runCli(['inspect', String(marker.pid), '--dump', out]);
    assert.equal(again.code, 2, 'a directory holding a dump is never written over');
    assert.match(again.stderr, /already holds a dump/);
  });

  it('--dump-all preserves the whole address space when asked: every readable region, file mappings too', () => {
    const out = join(dir, 'dump-all');
    assert.equal(runCli(['inspect', String(marker.pid), '--dump-all']).code, 2, '--dump-all needs --dump');
    const r = runCli(['inspect', String(marker.pid), '--dump', out, '--dump-all']);
    assert.equal(r.code, 1, r.stderr);
    // every readable mapping but the kernel's pages ([vvar], [vsyscall]), as /proc says now
    const readable = readFileSync(`/proc/${marker.pid}/maps`, 'utf8')
      .trim()
      .split('\n')
      .filter((l) => / r[-w][-x][ps] /.test(l) && !/\[(vvar|vvar_vclock|vsyscall)\]$/.test(l));
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    const regions: { file: string; path: string; perms: string; rules: string[]; sha256: string }[] =
      manifest.processes[0].regions;
    assert.equal(regions.length, readable.length, readable.join('\n'));
    for (const reg of regions)
      assert.equal(
        createHash('sha256')
          .update(readFileSync(join(out, reg.file)))
          .digest('hex'),
        reg.sha256,
      );
    assert.ok(regions.some((reg) => reg.path === markerPath && reg.perms === 'r--p' && reg.rules.length === 0));
    assert.ok(regions.some((reg) => /libc\.so/.test(reg.path) && reg.perms === 'r--p'));
    assert.ok(regions.some((reg) => reg.rules.includes('coalmine_stratum_session')));
    assert.match(r.stdout, new RegExp(`preserved ${regions.length} regions \\(\\d+ KiB\\) in pid-${marker.pid}/`));
  });

  it("takes the user's rules and names a broken rule file by line", () => {
    const good = join(dir, 'mine.yar');
    writeFileSync(good, 'rule acme_seed_hash { strings: $a = "seed_hash" condition: $a }\n');
    const r = runCli(['inspect', String(marker.pid), '--yara', good, '--format', 'ndjson']);
    const p = processes(r.stdout)[0];
    const mine = p.matches.find((m) => m.rule === 'acme_seed_hash');
    assert.ok(mine, r.stderr);
    assert.equal(mine.bundled, false);
    const bad = join(dir, 'bad.yar');
    writeFileSync(bad, 'rule ok { condition: true }\n\nrule broken { condition: $nope }\n');
    const b = runCli(['inspect', String(marker.pid), '--yara', bad]);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /bad\.yar:3: YARA_RULE_ERROR/);
    // watch loads them on its inspect thread, which names the broken file too, --no-status or not
    const w = runCli(['watch', '--inspect', '--yara', bad, '--duration', '2s', '--no-status', '--root', dir]);
    assert.match(w.stderr, /bad\.yar:3: YARA_RULE_ERROR/);
  });

  it("says RandomX's memory shape (a 2 GiB dataset on huge pages) and how much of it the bounds let it read", async (t) => {
    const shaped = started(spawn(compileC(join(dir, 'build'), 'shape', randomxShapeSource()), [], { stdio: 'ignore' }));
    try {
      // touching 2080 MiB takes a while on a loaded host; the kernel may also give fewer huge pages than asked
      let rss = 0;
      let huge = 0;
      for (let i = 0; i < 300 && rss < 2080 * 1024 ** 2; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const rollup = readFileSync(`/proc/${shaped.pid}/smaps_rollup`, 'utf8');
        rss = Number(/^Rss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) * 1024;
        huge = Number(/^AnonHugePages:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) * 1024;
      }
      if (huge < 1024 ** 3) {
        t.skip(`the kernel gave ${huge >> 20} MiB of transparent huge pages (THP off or memory fragmented)`);
        return;
      }
      const r = runCli(['inspect', String(shaped.pid), '--format', 'ndjson', '--max-process-mib', '96']);
      assert.equal(r.code, 1, r.stderr);
      const p = processes(r.stdout)[0];
      assert.match(
        p.shapeSays ?? '',
        /^2080 MiB in large anonymous mappings with \d+ MiB on huge pages \(a RandomX dataset\)$/,
      );
      assert.deepEqual(p.matches, []);
      // the dataset is read up to the region bound (64 MiB), the process up to its own (96 MiB here), and both are said
      assert.ok(p.bytes <= 96 * 1024 ** 2, String(p.bytes));
      assert.ok((p.clippedRegions ?? 0) >= 1);
      const text = runCli(['inspect', String(shaped.pid), '--max-process-mib', '96']);
      assert.match(text.stdout, /SHAPE 2080 MiB in large anonymous mappings/);
      assert.match(text.stdout, /\d+ read only in part \(over the bounds/);
      const events = runCli(['inspect', String(shaped.pid), '--format', 'events'])
        .stdout.trim()
        .split('\n');
      assert.deepEqual(
        events.map((l) => JSON.parse(l).rule),
        [{ name: 'RandomX memory shape', category: 'shape' }],
      );
    } finally {
      shaped.kill('SIGKILL');
    }
  });

  it('leaves the process as it was: not stopped, not traced, still running', () => {
    const status = readFileSync(`/proc/${marker.pid}/status`, 'utf8');
    assert.match(status, /^TracerPid:\s+0$/m);
    assert.match(status, /^State:\s+S/m);
    assert.equal(marker.exitCode, null);
  });

  it('--format events is what hunt reads back into a finding on the process', () => {
    const r = runCli(['inspect', String(marker.pid), '--format', 'events']);
    assert.equal(r.code, 1, r.stderr);
    const file = join(dir, 'inspect-events.ndjson');
    writeFileSync(file, r.stdout);
    const h = runCli(['hunt', file, '--format', 'ndjson', '--no-summary']);
    const findings = ndjsonFindings(h.stdout);
    assert.equal(findings.length, 1, h.stderr);
    assert.equal(findings[0].facts?.pid, marker.pid);
    assert.ok(findings[0].evidence.some((e) => e.by === 'ids:inspect' && e.kind === 'miner-process'));
  });

  it('names the permission gap when it may not read the memory (unprivileged)', {
    skip: process.getuid?.() === 0 ? false : 'needs root to run the CLI as nobody',
  }, async () => {
    const cli = startCli(['inspect', String(marker.pid), '--format', 'ndjson'], { uid: 65534, gid: 65534 });
    const code = await cli.exited;
    assert.equal(code, 3, cli.err());
    const p = processes(cli.out())[0];
    assert.match(p.gap ?? '', /memory not readable \((EACCES|EPERM)\)/);
    assert.deepEqual(p.matches, []);
  });

  it('--suspects finds a busy process by its CPU and scans it', async () => {
    const busy = started(spawn(markerPath, ['busy'], { stdio: 'ignore' }));
    const r = runCli([
      'inspect',
      '--suspects',
      '--window',
      '2',
      '--cpu-pct',
      '5',
      '--format',
      'ndjson',
      '--process-seconds',
      '2',
    ]);
    busy.kill('SIGKILL');
    const p = processes(r.stdout).find((x) => x.pid === busy.pid) as (ProcessInspection & { why?: string }) | undefined;
    assert.ok(p, `the busy marker is a suspect\n${r.stderr}`);
    assert.match(p.why ?? '', /% of a core over 2 s/);
    assert.ok(p.matches.some((m) => m.rule === 'coalmine_stratum_session'));
  });

  it('--suspects takes whom the detector flags, beyond process names: an idle process holding a mining-port connection', async () => {
    // a listener on a port mining pools use (intel/mining-ports.txt), on loopback; the first one free here
    let server: Server | undefined;
    let port = 0;
    for (const p of [14444, 14433, 45560, 45700, 5730, 9332]) {
      const s = createServer((socket) => socket.on('error', () => {}));
      const ok = await new Promise<boolean>((res) => {
        s.once('error', () => res(false));
        s.listen(p, '127.0.0.1', () => res(true));
      });
      if (ok) {
        server = s;
        port = p;
        break;
      }
    }
    assert.ok(server, 'a mining port free on loopback');
    const client = started(
      spawn(
        process.execPath,
        ['-e', `require('net').connect(${port}, '127.0.0.1').on('error', () => {}); setInterval(() => {}, 60000);`],
        { stdio: 'ignore' },
      ),
    );
    try {
      await new Promise((res) => setTimeout(res, 500));
      const r = runCli(['inspect', '--suspects', '--window', '1', '--cpu-pct', '90', '--format', 'ndjson']);
      const p = processes(r.stdout).find((x) => x.pid === client.pid) as
        | (ProcessInspection & { why?: string })
        | undefined;
      assert.ok(p, `the connected process is a suspect\n${r.stderr}`);
      assert.match(p.why ?? '', new RegExp(`mining-port: .*127\\.0\\.0\\.1:${port}`));
      assert.doesNotMatch(p.why ?? '', /% of a core/);
      assert.deepEqual(p.matches, [], 'and its memory holds nothing of a miner');
    } finally {
      client.kill('SIGKILL');
      server.close();
    }
  });

  it('a compiler at work is not matched', async () => {
    const src = join(dir, 'big.c');
    writeFileSync(
      src,
      Array.from({ length: 6000 }, (_, i) => `int f${i}(int x) { return x * ${i} + (x >> 3); }`).join('\n'),
    );
    const gcc = started(spawn('gcc', ['-O2', '-c', src, '-o', join(dir, 'big.o')], { stdio: 'ignore' }));
    // cc1 does the work under gcc: find it by parent
    let cc1: number | undefined;
    for (let i = 0; i < 50 && cc1 === undefined; i++) {
      await new Promise((res) => setTimeout(res, 100));
      for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
        try {
          const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
          if (stat.includes('(cc1)') && stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] === String(gcc.pid))
            cc1 = Number(name);
        } catch {
          // gone
        }
      }
    }
    assert.ok(cc1, 'cc1 started');
    const r = runCli(['inspect', String(cc1), '--format', 'ndjson']);
    const p = processes(r.stdout)[0];
    assert.deepEqual(p.matches, [], JSON.stringify(p.matches).slice(0, 500));
  });

  it('reports a process that is gone as a gap, and refuses a bad pid', () => {
    const r = runCli(['inspect', '999999999', '--format', 'ndjson']);
    assert.equal(r.code, 3);
    assert.equal(processes(r.stdout)[0].gap, 'the process is gone');
    assert.equal(runCli(['inspect', '12x']).code, 2);
  });

  it('watch --inspect turns the busy marker program, which shows nothing but CPU, into a finding, and not busy node', async () => {
    // the packed programs run fileless (memfd): evidence of their own, and siblings of the busy marker
    // under this runner, whose cluster would then be theirs too; they are done with, so they go first
    for (const c of [packed, constants]) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await gone;
    }
    const busy = started(spawn(markerPath, ['busy'], { stdio: 'ignore' }));
    const emptyRoot = join(dir, 'root');
    mkdirSync(emptyRoot);
    const watch = startCli([
      'watch',
      '--interval',
      '0.5',
      '--sustain',
      '3s',
      '--duration',
      '120s',
      '--inspect',
      '--inspect-interval',
      '0.5',
      '--inspect-cpu',
      '5',
      '--root',
      emptyRoot,
    ]);
    // stopped (SIGINT: it reports and exits) once it has inspected both busy programs and reported the miner;
    // --duration bounds a loaded host, where other busy processes take their turns first
    const done = () =>
      watch.err().includes(`inspected pid ${busy.pid} `) &&
      watch.err().includes(`inspected pid ${benignNode.pid} `) &&
      ndjsonFindings(watch.out().slice(0, watch.out().lastIndexOf('\n') + 1)).some((f) => f.facts?.pid === busy.pid);
    while (watch.child.exitCode === null && !done()) await new Promise((r) => setTimeout(r, 250));
    await new Promise((r) => setTimeout(r, 1500)); // a sample more: a revision the next tick holds
    watch.child.kill('SIGINT');
    await watch.exited;
    busy.kill('SIGKILL');
    const findings = ndjsonFindings(watch.out()).filter((f) => f.facts?.pid === busy.pid);
    assert.ok(findings.length > 0, `a finding on pid ${busy.pid}\n${watch.err()}`);
    const last = findings.at(-1);
    assert.ok(last);
    assert.equal(last.analytic, 'AN0742');
    const memory = last.evidence.filter((e) => e.by === 'ids:inspect');
    assert.ok(
      memory.some((e) => e.kind === 'miner-process' && e.strength === 'strong'),
      JSON.stringify(last.evidence),
    );
    assert.ok(last.legs.includes('process'));
    // the memory is what made it a miner: every other piece of evidence about it is its CPU (other processes
    // of the test runner's tree may add theirs: tsx's esbuild runs from a clone's node_modules, in /tmp on CI)
    assert.deepEqual(
      last.evidence
        .filter((e) => e.entity === last.entity && e.by !== 'ids:inspect' && e.class !== 'resource')
        .map((e) => e.by),
      [],
      `nothing but its memory and its CPU: ${JSON.stringify(last.evidence.map((e) => e.explanation))}`,
    );
    assert.match(watch.err(), new RegExp(`inspected pid ${busy.pid} \\(dbus-helper\\): [1-9]\\d* YARA matches`));
    // the same CPU without a miner's memory: inspected too, and no finding
    assert.match(watch.err(), new RegExp(`inspected pid ${benignNode.pid} \\(node\\): 0 YARA matches`));
    assert.deepEqual(
      ndjsonFindings(watch.out()).filter((f) => f.facts?.pid === benignNode.pid),
      [],
    );
  });
});
