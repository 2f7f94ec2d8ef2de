import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
