import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  currentOwner,
  MARKER_FILE,
  type Owner,
  ownerAlive,
  ownerMarker,
  parseOwner,
  processStart,
  removeLeftoverTempDirs,
} from './owner.js';
import { SandboxError, writeSandboxCron } from './persistence.js';

/** The pid of a process that has exited (and, this soon, not been reused). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

const onLinux = process.platform === 'linux';

test('the owner of a marker is alive only while that very process runs (a reused pid is not it)', () => {
  const me = currentOwner();
  assert.equal(ownerAlive(me), true);
  assert.equal(ownerAlive({ pid: deadPid(), start: null }), false);
  if (onLinux) {
    assert.match(me.start ?? '', /^\d+$/);
    assert.equal(ownerAlive({ pid: process.pid, start: String(Number(me.start) + 1) }), false, 'same pid, other start');
    assert.equal(
      ownerAlive({ pid: 1, start: '999999999999' }),
      false,
      'pid 1 runs, but it is not the run that wrote this',
    );
    assert.equal(processStart(1) !== null, true);
  }
});

test('markers: only our own shape is recognised', () => {
  const me = currentOwner();
  assert.deepEqual(parseOwner(ownerMarker(me)), me);
  for (const bad of [
    '',
    'null',
    '{}',
    '{"tool":"other","pid":5,"start":null}',
    '{"tool":"coalmine-simulate","pid":-1,"start":null}',
    '{"tool":"coalmine-simulate","pid":5,"start":"x"}',
    `{"tool":"coalmine-simulate","pid":5,"start":null,"pad":"${'a'.repeat(5000)}"}`,
  ])
    assert.equal(parseOwner(bad), undefined, bad.slice(0, 60));
});

test('leftover temp dirs: removed only when marked as ours, owned by us, and their run is gone', (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'coalmine-owner-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const make = (name: string, marker?: string) => {
    const dir = join(tmp, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'xmrig'), 'a large copy of node, once');
    if (marker !== undefined) writeFileSync(join(dir, MARKER_FILE), marker);
    return dir;
  };
  const dead: Owner = { pid: deadPid(), start: onLinux ? '12345' : null };
  make('coalmine-sim-dead', ownerMarker(dead));
  make('coalmine-sim-live', ownerMarker(currentOwner()));
  make('coalmine-sim-unmarked');
  make('coalmine-sim-garbage', '{not json');
  make('other-dead', ownerMarker(dead));
  const elsewhere = make('elsewhere', ownerMarker(dead));
  symlinkSync(elsewhere, join(tmp, 'coalmine-sim-link'));
  if (onLinux) make('coalmine-sim-reused', ownerMarker({ pid: process.pid, start: '1' }));

  const removed = removeLeftoverTempDirs(tmp);
  const expectGone = onLinux ? ['coalmine-sim-dead', 'coalmine-sim-reused'] : ['coalmine-sim-dead'];
  assert.equal(removed.length, expectGone.length, removed.join('\n'));
  for (const name of expectGone) assert.equal(existsSync(join(tmp, name)), false, name);
  assert.match(removed[0], new RegExp(`left by simulate pid ${dead.pid} \\(no longer running\\)`));
  assert.deepEqual(readdirSync(tmp).sort(), [
    'coalmine-sim-garbage',
    'coalmine-sim-link',
    'coalmine-sim-live',
    'coalmine-sim-unmarked',
    'elsewhere',
    'other-dead',
  ]);
  assert.ok(existsSync(join(elsewhere, 'xmrig')), 'a symlink is not followed');
  assert.deepEqual(removeLeftoverTempDirs(join(tmp, 'missing')), []);
});

test('sandbox spool file: a dead run’s is removed with the dirs it made; a live run’s or a stranger’s is refused', (t) => {
  const sandbox = mkdtempSync(join(tmpdir(), 'coalmine-owner-sandbox-'));
  t.after(() => rmSync(sandbox, { recursive: true, force: true }));
  writeFileSync(join(sandbox, 'keep.txt'), 'theirs\n');
  const first = writeSandboxCron(sandbox, '/tmp/x/xmrig');
  assert.match(readFileSync(first.file, 'utf8'), /^\*\/10 \* \* \* \* \/tmp\/x\/xmrig\n# coalmine-simulate \{/);
  assert.throws(() => writeSandboxCron(sandbox, '/tmp/y/xmrig'), /belongs to simulate pid \d+, which is still running/);

  // as a kill -9 leaves it: the same file, its owner gone
  const text = readFileSync(first.file, 'utf8').replace(`"pid":${process.pid}`, `"pid":${deadPid()}`);
  writeFileSync(first.file, text);
  const second = writeSandboxCron(sandbox, '/tmp/z/xmrig');
  assert.match(second.leftover ?? '', /removed .*, left by simulate pid \d+ \(no longer running\)/);
  assert.match(readFileSync(second.file, 'utf8'), /\/tmp\/z\/xmrig/);
  second.remove();
  assert.deepEqual(
    readdirSync(sandbox),
    ['keep.txt'],
    'the dirs the dead run made are gone once the new run cleans up',
  );

  mkdirSync(join(sandbox, 'var', 'spool', 'cron', 'crontabs'), { recursive: true });
  for (const theirs of ['# theirs\n', '*/5 * * * * backup\n# coalmine-simulate {"tool":"other"}\n']) {
    writeFileSync(first.file, theirs);
    assert.throws(() => writeSandboxCron(sandbox, '/tmp/x/xmrig'), SandboxError);
    assert.equal(readFileSync(first.file, 'utf8'), theirs);
  }
});
