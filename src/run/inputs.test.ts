import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { Issue } from '../model/issue.js';
import { sniffSource } from '../sources/index.js';
import { expandInputs, type InputFile, streamInput } from './inputs.js';

const DIR = mkdtempSync(join(tmpdir(), 'coalmine-inputs-'));
after(() => rmSync(DIR, { recursive: true, force: true }));

function put(rel: string, content: string | Buffer): string {
  const path = join(DIR, rel);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  return path;
}

async function expand(...paths: string[]): Promise<{ files: InputFile[]; issues: Issue[] }> {
  const issues: Issue[] = [];
  const files = await expandInputs(paths, undefined, (i) => issues.push(i));
  return { files, issues };
}

async function text(file: InputFile): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of file.input.open()) parts.push(chunk);
  return Buffer.concat(parts).toString('utf8');
}

const CRON = '*/5 * * * * /tmp/.x/kdevtmpfsi -o pool.example:3333\n';
const CSV =
  '"(PDH-CSV 4.0) (UTC)(0)","\\\\WS\\Processor(_Total)\\% Processor Time"\r\n"01/01/2025 00:00:00.000","99.5"\r\n';

function utf16le(s: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, 'utf16le')]);
}

test('a file of a walked directory carries its path below the argument and its absolute local path', async () => {
  put('live/var/spool/cron/crontabs/redis', CRON);
  const arg = relative(process.cwd(), join(DIR, 'live/var/spool/cron'));
  const { files } = await expand(arg);
  assert.equal(files.length, 1);
  const { input } = files[0];
  assert.equal(input.relPath, 'crontabs/redis');
  assert.equal(input.localPath, join(DIR, 'live/var/spool/cron/crontabs/redis'));
  assert.equal(sniffSource(input)?.name, 'crontab');
});

test('a file given alone carries its absolute local path, a gzip one without .gz', async () => {
  put('live/etc/cron.d/php', CRON);
  put('live/etc/cron.d/old.gz', gzipSync(CRON));
  const { files } = await expand(
    relative(process.cwd(), join(DIR, 'live/etc/cron.d/php')),
    join(DIR, 'live/etc/cron.d/old.gz'),
  );
  assert.deepEqual(
    files.map((f) => [f.input.relPath, f.input.localPath]),
    [
      [undefined, join(DIR, 'live/etc/cron.d/php')],
      [undefined, join(DIR, 'live/etc/cron.d/old')],
    ],
  );
});

test('a file named crontab under a walked directory is not a crontab', async () => {
  put('notes/backup/crontab', CRON);
  const { files } = await expand(join(DIR, 'notes'));
  assert.equal(files.length, 1);
  assert.notEqual(sniffSource(files[0].input)?.name, 'crontab');
});

test('UTF-16LE text (plain or gzip) is decoded before sniffing and reading; no sampler reads its raw bytes', async () => {
  const plain = put('u16/typeperf.csv', utf16le(CSV));
  const gz = put('u16/typeperf-gz.csv.gz', gzipSync(utf16le(CSV)));
  const { files, issues } = await expand(plain, gz);
  assert.deepEqual(issues, []);
  for (const file of files) {
    assert.equal(file.input.head.toString('utf8'), CSV);
    assert.equal(sniffSource(file.input)?.name, 'typeperf');
    assert.equal(await text(file), CSV);
    assert.equal(file.plainPath, undefined);
  }
});

test('a UTF-8 mark is dropped and the file still sampled; a file that is only a mark is empty', async () => {
  const bom = put('bom/typeperf.csv', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(CSV)]));
  const only = put('bom/only.csv', Buffer.from([0xff, 0xfe]));
  const { files, issues } = await expand(bom, only);
  assert.equal(files.length, 1);
  assert.equal(files[0].input.head.toString('utf8'), CSV);
  assert.equal(await text(files[0]), CSV);
  assert.equal(files[0].plainPath, bom);
  assert.deepEqual(
    issues.map((i) => [i.file, i.code, i.unread]),
    [[only, 'INPUT_EMPTY', true]],
  );
});

test('damaged UTF-16 is reported on the file as it is read, never thrown', async () => {
  const path = put('u16/cut.csv', Buffer.concat([utf16le(CSV), Buffer.from([0x41])]));
  const { files, issues } = await expand(path);
  assert.equal(await text(files[0]), CSV);
  assert.deepEqual(
    issues.map((i) => [i.file, i.line, i.code]),
    [[path, 3, 'INPUT_UTF16_ODD_BYTE']],
  );
});

test('a stream (stdin, a request body) in UTF-16BE is decoded too', async () => {
  const be = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(CSV, 'utf16le').swap16()]);
  async function* body() {
    for (let i = 0; i < be.length; i += 5) yield be.subarray(i, i + 5);
  }
  const file = await streamInput('-', body(), { mtimeMs: 0 }, () => {}, 'empty');
  assert.ok(file);
  assert.equal(file.input.head.toString('utf8'), CSV);
  assert.equal(await text(file), CSV);
});

const AUDIT = 'type=EXECVE msg=audit(1700000000.000:1): argc=1 a0="/tmp/x"\n';

/** Each file read once: its relPath (or name) and host. */
function read(files: InputFile[]): Array<[string | undefined, string | undefined]> {
  return files.map((f) => [f.input.relPath ?? f.input.name, f.input.hostHint]);
}

function givenTwice(issues: Issue[]): Array<[string, string]> {
  assert.ok(
    issues.every((i) => i.code !== 'INPUT_GIVEN_TWICE' || !i.unread),
    'a path given twice is still read',
  );
  return issues.filter((i) => i.code === 'INPUT_GIVEN_TWICE').map((i) => [i.file, i.reason]);
}

test('a directory or file given twice (again, as ./dir/, through a link to it) is read once, and the run says so', async () => {
  put('dup/coll/etc/hostname', 'web-07\n');
  put('dup/coll/var/log/audit/audit.log', AUDIT);
  const dir = relative(process.cwd(), join(DIR, 'dup/coll'));
  const alias = join(DIR, 'dup/alias');
  symlinkSync(join(DIR, 'dup/coll'), alias);
  const once = await expand(dir);
  const { files, issues } = await expand(dir, `./${dir}/`, alias);
  assert.deepEqual(read(files), read(once.files));
  assert.deepEqual(read(files), [['var/log/audit/audit.log', 'web-07']]);
  assert.deepEqual(givenTwice(issues), [
    [`./${dir}/`, `the same directory as ${dir}, given before: read once`],
    [alias, `the same directory as ${dir}, given before: read once`],
  ]);
  const file = join(DIR, 'dup/coll/var/log/audit/audit.log');
  const twice = await expand(file, relative(process.cwd(), file));
  assert.equal(twice.files.length, 1);
  assert.deepEqual(givenTwice(twice.issues), [
    [relative(process.cwd(), file), `the same file as ${file}, given before: read once`],
  ]);
});

test('a file or directory inside a directory also given is read once, as part of it, whichever comes first', async () => {
  put('part/coll/etc/hostname', 'web-08\n');
  put('part/coll/var/log/audit/audit.log', AUDIT);
  put('part/coll/var/log/metrics/cpu.csv', CSV);
  const dir = join(DIR, 'part/coll');
  const file = join(dir, 'var/log/audit/audit.log');
  const sub = join(dir, 'var/log');
  const whole = [
    ['var/log/audit/audit.log', 'web-08'],
    ['var/log/metrics/cpu.csv', 'web-08'],
  ];
  for (const paths of [
    [dir, file],
    [file, dir],
    [sub, dir, file],
  ]) {
    const { files, issues } = await expand(...paths);
    assert.deepEqual(read(files), whole, paths.join(' '));
    assert.equal(files[0].input.name, join(dir, 'var/log/audit/audit.log'));
    assert.deepEqual(
      givenTwice(issues),
      paths.filter((p) => p !== dir).map((p) => [p, `inside ${dir}, also given: read once, as part of it`]),
    );
  }
});

test('a directory inside a collection is read as part of it: its host, bodyfile mtimes, paths and links', async () => {
  put('sub/coll/etc/hostname', 'web-09\n');
  put('sub/coll/bodyfile', '0|/var/log/audit/audit.log|1|0100644|0|0|10|0|1700000000|0|0\n');
  put('sub/coll/var/log/audit/audit.log', AUDIT);
  put('sub/coll/opt/app/app.log', CSV);
  symlinkSync('/opt/app/app.log', join(DIR, 'sub/coll/var/log/app.log'));
  symlinkSync('/', join(DIR, 'sub/coll/var/log/everything'));
  const arg = relative(process.cwd(), join(DIR, 'sub/coll/var/log'));
  const { files, issues } = await expand(arg);
  assert.deepEqual(
    files.map((f) => [f.input.name, f.input.relPath, f.input.localPath, f.input.hostHint, f.linkTarget]),
    [
      [
        join(arg, 'audit/audit.log'),
        'var/log/audit/audit.log',
        join(DIR, 'sub/coll/var/log/audit/audit.log'),
        'web-09',
        undefined,
      ],
      [join(arg, 'app.log'), 'var/log/app.log', join(DIR, 'sub/coll/var/log/app.log'), 'web-09', '/opt/app/app.log'],
    ],
  );
  assert.equal(files[0].input.mtimeMs, 1_700_000_000_000);
  assert.deepEqual(
    issues.map((i) => [i.file, i.code]),
    [[join(arg, 'everything'), 'INPUT_LINK_LOOP']],
  );
  // a deeper place (5 levels) still belongs to it
  put('sub/coll/home/ann/.config/systemd/user/x.log', AUDIT);
  const deep = await expand(join(DIR, 'sub/coll/home/ann/.config/systemd/user'));
  assert.deepEqual(read(deep.files), [['home/ann/.config/systemd/user/x.log', 'web-09']]);
});

// Each directory below lies at least 5 levels under DIR, so no climb from it reaches the test machine's own /etc.
test('a directory inside no collection is its own root, as before: not below a folder, nor 6 levels down', async () => {
  put('plain/a/b/c/logs/audit.log', AUDIT);
  put('folder/p/q/cases/etc/hostname', 'case-host\n');
  put('folder/p/q/cases/uploads/x/logs/audit.log', AUDIT);
  put('far/coll/etc/hostname', 'far-host\n');
  put('far/coll/var/log/a/b/c/d/audit.log', AUDIT);
  for (const [arg, rel] of [
    ['plain/a/b/c/logs', 'audit.log'],
    ['folder/p/q/cases/uploads/x/logs', 'audit.log'],
    ['far/coll/var/log/a/b/c/d', 'audit.log'],
  ]) {
    const { files, issues } = await expand(join(DIR, arg));
    assert.deepEqual(issues, []);
    assert.deepEqual(read(files), [[rel, undefined]], arg);
    assert.equal(files[0].input.localPath, join(DIR, arg, rel));
  }
});

test('a folder of collections (one per host) reads each as its own root: its host, its cron; loose files beside them as before', async () => {
  put('cases/web-01/etc/hostname', 'web-01\n');
  put('cases/web-01/var/spool/cron/crontabs/root', CRON);
  put('cases/db-02/etc/hostname', 'db-02\n');
  put('cases/db-02/var/spool/cron/crontabs/postgres', CRON);
  put('cases/notes/cpu.csv', CSV);
  const { files, issues } = await expand(join(DIR, 'cases'));
  assert.deepEqual(issues, []);
  assert.deepEqual(
    files.map((f) => [f.input.relPath ?? f.input.name, f.input.hostHint]),
    [
      ['var/spool/cron/crontabs/postgres', 'db-02'],
      ['var/spool/cron/crontabs/root', 'web-01'],
      ['notes/cpu.csv', undefined],
    ],
  );
  // the cron files are crontabs to the sniffer, as in a collection given alone
  for (const f of files.slice(0, 2)) assert.equal((await sniffSource(f.input))?.name, 'crontab');
});
