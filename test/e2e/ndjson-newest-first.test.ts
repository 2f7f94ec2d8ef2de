/**
 * A SIEM search saved as NDJSON is newest first. Hunted as it is, each record past the engine's allowed
 * lateness was a late one, legs came out of order and stories were cut in two (a high finding read as
 * medium, one incident as two low ones). The reader now judges a file's order on its first events and
 * sorts one that runs backward: the same findings as the file in time order.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { generateEvents } from '../../bench/generate.js';
import { runCli } from '../support/cli.js';

const work = mkdtempSync(join(tmpdir(), 'coalmine-newest-first-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** Each finding as severity, title and legs: what the analyst reads, without the lines it cites. */
function findingsOf(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const f = JSON.parse(l) as { severity: string; title: string; legs: string[] };
      return `${f.severity} ${f.title} ${f.legs.join(',')}`;
    })
    .sort();
}

test('a newest-first NDJSON export finds what the same events in time order find', { timeout: 120_000 }, async () => {
  const inOrder = join(work, 'fleet.ndjson');
  await generateEvents({ events: 50_000, seed: 0x0c0a1, path: inOrder });
  const newestFirst = join(work, 'fleet-newest-first.ndjson');
  const lines = readFileSync(inOrder, 'utf8').split('\n').filter(Boolean);
  writeFileSync(newestFirst, `${lines.reverse().join('\n')}\n`);
  const forward = runCli(['hunt', inOrder, '--format', 'ndjson', '--workers', '1']);
  const backward = runCli(['hunt', newestFirst, '--format', 'ndjson', '--workers', '1']);
  assert.equal(backward.code, forward.code, backward.stderr);
  const found = findingsOf(forward.stdout);
  assert.ok(
    found.some((f) => f.startsWith('high ')),
    `the fleet has high findings: ${found.join('; ')}`,
  );
  assert.deepEqual(findingsOf(backward.stdout), found);
  assert.doesNotMatch(backward.stderr, /later than the stream/, 'no event was taken as late');
  // split across threads, each worker's share of the file is put in order too
  const split = runCli(['hunt', newestFirst, '--format', 'ndjson', '--workers', '2']);
  assert.deepEqual(findingsOf(split.stdout), found, split.stderr);
});
