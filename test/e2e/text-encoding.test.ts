/**
 * End to end: Windows exports as PowerShell 5.1's `>` writes them, UTF-16LE with a byte-order mark (and
 * gzip'd so). The Defender CSV and typeperf CSV of the AN0741 story, copied to UTF-16 by the test, give the
 * same finding as the UTF-8 originals.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { Finding } from '../../src/model/finding.js';
import { huntNdjson } from '../support/cli.js';

const MINER = join(import.meta.dirname, '..', 'fixtures', 'defender', 'an0741-miner');
const FILES = ['DeviceProcessEvents.csv', 'typeperf.csv'];
const work = mkdtempSync(join(tmpdir(), 'coalmine-utf16-'));
after(() => rmSync(work, { recursive: true, force: true }));

function utf16le(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
}

/** The finding as it reads whichever copy of the files it came from: sources by file name and line. */
function comparable(f: Finding) {
  return {
    id: f.id,
    severity: f.severity,
    legs: f.legs,
    entity: f.entity,
    evidence: f.evidence.map((e) => [e.kind, e.strength, e.time, e.explanation, basename(e.source)]),
  };
}

test('UTF-16LE copies of the Defender and typeperf exports (plain or gzip) give the UTF-8 originals’ finding', () => {
  const original = huntNdjson(FILES.map((f) => join(MINER, f)));
  assert.equal(original.findings.length, 1, original.stderr);
  for (const gzip of [false, true]) {
    const dir = join(work, gzip ? 'gz' : 'plain');
    mkdirSync(dir);
    const paths = FILES.map((f) => {
      const bytes = utf16le(readFileSync(join(MINER, f), 'utf8'));
      const path = join(dir, gzip ? `${f}.gz` : f);
      writeFileSync(path, gzip ? gzipSync(bytes) : bytes);
      return path;
    });
    const copy = huntNdjson(paths);
    assert.match(copy.stderr, /2 files \(defender 1, typeperf 1\)/, copy.stderr);
    assert.doesNotMatch(copy.stderr, /SOURCE_UNKNOWN_FORMAT|bad input/);
    assert.equal(copy.findings.length, 1, copy.stderr);
    const strip = (s: string) => s.replace('.gz:', ':');
    const got = comparable(copy.findings[0]);
    got.evidence = got.evidence.map((e) => [...e.slice(0, 4), strip(String(e[4]))]);
    assert.deepEqual(got, comparable(original.findings[0]));
  }
});

test('a UTF-16 export cut mid-character is reported as such and the rest still read', () => {
  const bytes = utf16le(readFileSync(join(MINER, 'typeperf.csv'), 'utf8'));
  const path = join(work, 'cut-typeperf.csv');
  writeFileSync(path, bytes.subarray(0, bytes.length - 3));
  const r = huntNdjson([path]);
  assert.match(r.stderr, /1 files \(typeperf 1\)/);
  assert.match(r.stderr, /cut-typeperf\.csv:\d+: INPUT_UTF16_ODD_BYTE: the UTF-16 text ends with half a character/);
});
