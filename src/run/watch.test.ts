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
