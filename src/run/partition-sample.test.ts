import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { partitionOf } from '../engine/partition.js';
import { expandInputs } from './inputs.js';
import { sampledOwners, sampleWeights } from './partition-sample.js';

const work = mkdtempSync(join(tmpdir(), 'coalmine-sample-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** `n` lines, host `big` on 6 of every 10, `mid` on 3, `small` on 1; ~150 bytes each. */
function fleet(n: number): string {
  const hosts = ['big', 'mid', 'big', 'small', 'big', 'mid', 'big', 'mid', 'big', 'big'];
  const out: string[] = [];
  for (let i = 0; i < n; i++)
    out.push(
      `{"@timestamp":"2026-03-02T06:00:00Z","host":{"name":"${hosts[i % 10]}"},"event":{"action":"exec"},"process":{"pid":${i},"name":"worker"}}`,
    );
  return `${out.join('\n')}\n`;
}

test('sampleWeights: windows across a large plain file weigh partitions as the whole file does', async () => {
  const path = join(work, 'fleet.ndjson');
  writeFileSync(path, fleet(60_000)); // ~7 MiB: more than one file's sample, so windows are read
  const weights = await sampleWeights(await expandInputs([path], undefined, () => {}));
  const big = weights[partitionOf('host:big')];
  const mid = weights[partitionOf('host:mid')];
  const small = weights[partitionOf('host:small')];
  const total = weights.reduce((a, b) => a + b, 0);
  assert.ok(total > 20_000 && total < 60_000, `a sample, not the file (${total} lines)`);
  assert.ok(Math.abs(big / total - 0.6) < 0.02 && Math.abs(mid / total - 0.3) < 0.02, `${big} ${mid} ${small}`);
});

test('sampleWeights: a gzip file and a small file are weighed by their head; other formats not at all', async () => {
  const gz = join(work, 'fleet.ndjson.gz');
  writeFileSync(gz, gzipSync(fleet(20_000)));
  const small = join(work, 'small.ndjson');
  writeFileSync(small, fleet(100));
  const auditd = join(work, 'audit.log');
  writeFileSync(auditd, 'type=EXECVE msg=audit(1700000000.000:1): argc=1 a0="ls"\n');
  const files = await expandInputs([gz, small, auditd], undefined, () => {});
  const weights = await sampleWeights(files);
  const total = weights.reduce((a, b) => a + b, 0);
  const headLines = files[0].input.head.toString('utf8').split('\n').length - 1;
  assert.equal(total, headLines + 100);
});

test('sampledOwners: two workers over a fleet where one host logs most get loads as even as the hosts allow', async () => {
  const path = join(work, 'skew.ndjson');
  const lines: string[] = [];
  for (let i = 0; i < 40_000; i++) {
    const host = i % 2 === 0 ? 'h-0' : `h-${1 + (i % 37)}`;
    lines.push(`{"host":{"name":"${host}"},"event":{"action":"exec"},"process":{"pid":${i}}}`);
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
  const owners = await sampledOwners(await expandInputs([path], undefined, () => {}), 2);
  const load = [0, 0];
  for (const l of lines) load[owners[partitionOf(`host:${(JSON.parse(l) as { host: { name: string } }).host.name}`)]]++;
  // h-0 alone is half the lines: the best split puts it alone (or nearly) on one worker
  assert.ok(Math.max(...load) / lines.length < 0.56, `loads ${load}`);
});
