import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileInput, memoryInput, readAll, runSourceContract, TEST_CONTEXT } from '../contract.js';
import { ldSoPreload, splitPreloadLine } from './ld-so-preload.js';

const MTIME = Date.UTC(2024, 0, 1);
const FIXTURES = 'test/fixtures/ld-so-preload';
const extra = { relPath: 'etc/ld.so.preload', mtimeMs: MTIME, hostHint: 'web-01' };
const good = fileInput(`${FIXTURES}/etc/ld.so.preload`, extra);
const bad = fileInput(`${FIXTURES}/bad/etc/ld.so.preload`, extra);

runSourceContract({
  source: ldSoPreload,
  good,
  bad,
  skip: {
    cut: 'entries are bare paths with no quoting or record structure: a path cut at the end is a shorter path the loader would try as written, and a cut inside a UTF-8 character is already a PRELOAD_BAD_ENTRY',
    oversized:
      'the contract builds its input without mtimeMs, and a state source without a time reads nothing (FILE_NO_MTIME); rerun below with a time',
  },
});

// The contract's memory inputs carry no mtime; these rerun its bad-input cases with one, so the parser is reached.
const withTime = { relPath: 'etc/ld.so.preload', mtimeMs: MTIME };

test('ld-so-preload: an oversized line is reported and the next good line is read (with an mtime)', async () => {
  const big = `${'/'.repeat(TEST_CONTEXT.maxLineBytes * 3)}\n${good.head.toString('utf8')}`;
  const { events, issues } = await readAll(ldSoPreload, memoryInput('big.log', big, withTime));
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [[1, 'LINE_TOO_LONG']],
  );
  assert.equal(events.length, 3);
});

test('ld-so-preload: binary garbage is reported by line, a few at a time, never thrown (with an mtime)', async () => {
  let seed = 3;
  const garbage = Buffer.alloc(100_000);
  for (let i = 0; i < garbage.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    garbage[i] = seed >>> 16; // the high bits: the low byte of this generator repeats every 256
  }
  const { issues } = await readAll(ldSoPreload, memoryInput('garbage.bin', garbage, withTime));
  const binary = issues.filter((i) => i.code === 'PRELOAD_BINARY');
  assert.ok(binary.length > 0 && binary.length <= 6, `binary issues: ${binary.length}`);
  assert.ok(issues.every((i) => i.line !== undefined));
});

test('ld-so-preload: a file cut mid-path keeps the entries before the cut (with an mtime)', async () => {
  const cut = good.head.subarray(0, good.head.indexOf('libns2'));
  const { events, issues } = await readAll(ldSoPreload, memoryInput('cut.log', cut, withTime));
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => e.coalmine.persistence?.target),
    ['/usr/local/lib/libprocesshider.so', '/lib/x86_64-linux-gnu/libsystemd-helper.so.2', '/usr/lib64/'],
  );
});

test('ld-so-preload: a file without an mtime is reported once and not read', async () => {
  const { events, issues } = await readAll(
    ldSoPreload,
    memoryInput('ld.so.preload', good.head, { relPath: 'etc/ld.so.preload' }),
  );
  assert.deepEqual(events, []);
  assert.deepEqual(
    issues.map((i) => i.code),
    ['FILE_NO_MTIME'],
  );
});

test('emits one preload entry per library, with the library as target and no issue', async () => {
  const { events, issues } = await readAll(ldSoPreload, good);
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.coalmine.persistence, e.original]),
    [
      [
        1,
        { mechanism: 'preload', target: '/usr/local/lib/libprocesshider.so' },
        { library: '/usr/local/lib/libprocesshider.so' },
      ],
      [
        2,
        { mechanism: 'preload', target: '/lib/x86_64-linux-gnu/libsystemd-helper.so.2' },
        { library: '/lib/x86_64-linux-gnu/libsystemd-helper.so.2' },
      ],
      [2, { mechanism: 'preload', target: '/usr/lib64/libns2.so' }, { library: '/usr/lib64/libns2.so' }],
    ],
  );
  const [first] = events;
  assert.equal(first.event.dataset, 'ld-so-preload.entry');
  assert.equal(first.file?.path, '/etc/ld.so.preload');
  assert.equal(first.file?.line, '/usr/local/lib/libprocesshider.so');
  assert.equal(first.process, undefined, 'a preload entry runs no command of its own');
  assert.equal(first.host?.name, 'web-01');
});

test('splits entries on whitespace and colons and skips comments', () => {
  assert.deepEqual(splitPreloadLine('  /a.so:/b.so \t libc.so.6  '), ['/a.so', '/b.so', 'libc.so.6']);
  assert.deepEqual(splitPreloadLine('# /not/loaded.so'), []);
  assert.deepEqual(splitPreloadLine(''), []);
});

test('reports what is not a library path and keeps the libraries around it', async () => {
  const { events, issues } = await readAll(ldSoPreload, bad);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [4, 'PRELOAD_BAD_ENTRY'],
      [5, 'PRELOAD_BAD_ENTRY'],
    ],
  );
  assert.deepEqual(
    events.map((e) => e.coalmine.persistence?.target),
    ['/usr/local/lib/libprocesshider.so', 'libgcwrap.so', '/opt/.l/libkeep.so'],
  );
});

test('sniffs etc/ld.so.preload only', () => {
  assert.ok(ldSoPreload.sniff('', { name: 'x', relPath: 'etc/ld.so.preload' }) > 0);
  assert.ok(ldSoPreload.sniff('', { name: 'case-9/ld.so.preload' }) > 0);
  assert.equal(ldSoPreload.sniff('/lib/x.so\n', { name: 'x', relPath: 'etc/ld.so.conf' }), 0);
  assert.equal(ldSoPreload.sniff('/lib/x.so\n', { name: 'x', relPath: 'tmp/ld.so.preload' }), 0);
});

test('sniffs a live /etc/ld.so.preload by its absolute path, given alone or inside /etc', () => {
  assert.ok(ldSoPreload.sniff('', { name: 'x', relPath: 'ld.so.preload', localPath: '/etc/ld.so.preload' }) > 0);
  assert.ok(ldSoPreload.sniff('', { name: 'preload', localPath: '/etc/ld.so.preload' }) > 0);
  assert.equal(
    ldSoPreload.sniff('', { name: 'x', relPath: 'tmp/ld.so.preload', localPath: '/etc/tmp/ld.so.preload' }),
    0,
  );
});
