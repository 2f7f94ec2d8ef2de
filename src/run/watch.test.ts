import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultPolicy } from '../model/policy.js';
import { persistencePlaces, startWatch } from './watch.js';

test('watch reads every account’s rc files and user units, not only root’s', async () => {
  const root = mkdtempSync(join(tmpdir(), 'coal-watch-root-'));
  const proc = mkdtempSync(join(tmpdir(), 'coal-watch-proc-'));
  try {
    mkdirSync(join(root, 'home', 'alice'), { recursive: true });
    mkdirSync(join(root, 'home', '.hidden'), { recursive: true });
    writeFileSync(join(root, 'home', 'alice', '.bashrc'), 'nohup /tmp/.x/kworker -o pool.example:3333 &\n');
    const places = persistencePlaces(root);
    assert.ok(places.includes('home/alice/.bashrc'));
    assert.ok(places.includes('home/alice/.config/systemd/user'));
    assert.ok(places.includes('root/.zshrc'));
    assert.ok(!places.some((p) => p.startsWith('home/.hidden')));
    // an empty fake /proc: only the persistence places are read
    writeFileSync(join(proc, 'stat'), 'cpu  1 0 0 1 0 0 0 0 0 0\nbtime 1800000000\n');
    const run = await startWatch({
      policy: defaultPolicy(),
      intervalMs: 1000,
      durationMs: 0,
      roots: [root],
      procRoot: proc,
      hostName: 'h1',
      onFinding: () => {},
    });
    const totals = await run.done;
    assert.equal(totals.persistenceFiles, 1);
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(proc, { recursive: true, force: true });
  }
});

/** A fake /proc process: stat, status, cmdline, cgroup (host, not a container). */
function fakeProcess(proc: string, pid: number, comm: string, cmd: string): void {
  const dir = join(proc, String(pid));
  mkdirSync(join(dir, 'fd'), { recursive: true });
  writeFileSync(
    join(dir, 'stat'),
    `${pid} (${comm}) S 1 ${pid} ${pid} 0 -1 0 0 0 0 0 10 0 0 0 20 0 1 0 100 1000 250 0\n`,
  );
  writeFileSync(join(dir, 'status'), `Name:\t${comm}\nUid:\t1000\t1000\t1000\t1000\n`);
  writeFileSync(join(dir, 'cmdline'), cmd.split(' ').join('\u0000'));
  writeFileSync(join(dir, 'cgroup'), '0::/user.slice\n');
}

test('watch: a finding carries the context seen before it; later context alone makes no new revision', async () => {
  const root = mkdtempSync(join(tmpdir(), 'coal-watch-root-'));
  const proc = mkdtempSync(join(tmpdir(), 'coal-watch-proc-'));
  const rules = mkdtempSync(join(tmpdir(), 'coal-watch-rules-'));
  try {
    writeFileSync(
      join(rules, 'shadow.yml'),
      [
        'title: Shadow file read (test)',
        'id: 6f0c2b1e-0000-4000-8000-000000000001',
        'logsource: { product: linux, category: process_creation }',
        "detection: { selection: { CommandLine|contains: '/etc/shadow' }, condition: selection }",
        'level: high',
        'tags: [attack.credential-access, attack.t1003.008]',
      ].join('\n'),
    );
    writeFileSync(join(proc, 'stat'), 'cpu  1 0 0 1 0 0 0 0 0 0\nbtime 1800000000\n');
    writeFileSync(join(proc, 'meminfo'), 'MemTotal: 1000 kB\nMemAvailable: 500 kB\n');
    fakeProcess(proc, 100, 'cat', 'cat /etc/shadow');
    fakeProcess(
      proc,
      200,
      'xmrig',
      '/tmp/.x/xmrig -o pool.supportxmr.com:443 -u 461ap3BG24ytkAwmQG8NWnPJSHPFwExPtMFLoZTFdWvTY6WdtQVdMmiVSrxt5Yv2D9bCgsmwo2KaYAyw7z8S45WovcKSZFC --donate-level=0',
    );
    const reports: Array<{ revision: number; context: string[] }> = [];
    let samples = 0;
    const run = await startWatch({
      policy: defaultPolicy(),
      intervalMs: 20,
      durationMs: 1500,
      roots: [root],
      procRoot: proc,
      hostName: 'h1',
      ruleDirs: [rules],
      onFinding: (f, revision) =>
        reports.push({ revision, context: (f.context ?? []).map((c) => `${c.facts.pid} ${c.reasons}`) }),
      // a second shadow read once the finding is out: new context on its host
      onSample: () => {
        if (++samples === 3) fakeProcess(proc, 300, 'cat', 'cat /etc/shadow');
      },
    });
    await run.done;
    assert.ok(samples > 4, `${samples} samples`);
    assert.deepEqual(reports, [{ revision: 1, context: ['100 credential-access'] }]);
  } finally {
    for (const d of [root, proc, rules]) rmSync(d, { recursive: true, force: true });
  }
});
