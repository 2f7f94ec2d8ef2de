// run-tests: alone (a live watch samples /proc and scans a busy program's memory)
/**
 * Issue 19, live: a libprocesshider-style readdir hook (what an `ld.so.preload` rootkit puts in every
 * process), preloaded into `watch` itself, does not blind it. watch lists /proc through libuv's scandir,
 * which reads the directory below the hooked `readdir`, so the busy program the hook hides from `ls` and
 * `ps` is still sampled: its CPU is its own (not hidden-CPU), and `--inspect` scans it by pid. (A hider in
 * the kernel is what leaves a gap; that path, trigger to probe to finding, is hidden-process.test.ts's on
 * recorded telemetry, since a test cannot load a kernel module.) Both programs are C written and
 * compiled here; the burner is killed at the end.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startCli } from '../support/cli.js';
import { compileC, gccSkip, processHiderSource } from '../support/native.js';

const skip = gccSkip || (process.platform !== 'linux' && 'watch reads /proc (Linux only)');
const dir = mkdtempSync(join(tmpdir(), 'coalmine-hidden-live-'));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Long enough for a loaded CI host: 3 samples of CPU, then one memory scan. */
const WAIT_MS = 60_000;

test('a readdir hook preloaded into watch does not hide a busy program from it: watch samples it and --inspect scans it by pid', {
  skip,
  timeout: WAIT_MS + 30_000,
}, async () => {
  const name = `cmhid${process.pid % 100000}`;
  const hider = compileC(dir, 'libhide.so', processHiderSource(name), { shared: true });
  const burnerPath = compileC(dir, name, 'int main(void) { volatile unsigned long x = 0; for (;;) x++; }\n');
  const burner = spawn(burnerPath, [], { stdio: 'ignore' });
  children.push(burner);
  assert.ok(burner.pid);
  // the hook works: a libc listing run with it (ls) does not show the burner
  const listed = spawnSync('ls', ['/proc'], { env: { ...process.env, LD_PRELOAD: hider }, encoding: 'utf8' });
  assert.equal(listed.stdout.split('\n').includes(String(burner.pid)), false, 'ls /proc under the hook hides it');
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, 'thresholds:\n  hidden_cpu_gap_pct: 20\n  sustain: 3s\n');
  const emptyRoot = join(dir, 'root');
  mkdirSync(emptyRoot);
  const watch = startCli(
    [
      'watch',
      '--interval',
      '1',
      '--duration',
      `${WAIT_MS / 1000}s`,
      '--inspect',
      '--inspect-interval',
      '1',
      '--inspect-cpu',
      '50',
      '--policy',
      policy,
      '--root',
      emptyRoot,
    ],
    { env: { ...process.env, LD_PRELOAD: hider } },
  );
  children.push(watch.child);
  const scanned = new RegExp(`inspected pid ${burner.pid} \\(${name}\\)`);
  while (watch.child.exitCode === null && !scanned.test(watch.err())) await new Promise((r) => setTimeout(r, 500));
  watch.child.kill('SIGINT');
  await watch.exited;
  burner.kill('SIGKILL');
  assert.match(watch.err(), scanned, `watch, hooked, still sampled and scanned pid ${burner.pid}`);
  // its CPU is a listed process's: were the host's CPU to outrun the listing (other programs come and go),
  // a probe for hidden pids would not name it
  assert.doesNotMatch(watch.err(), new RegExp(`hidden: (?:.*, )?${burner.pid} `));
});
