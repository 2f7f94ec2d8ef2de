/**
 * The Windows story `simulate windows --emit-logs` writes: the same options and end time write the same
 * bytes; every address in it (the decoded PowerShell included) is loopback or an RFC 5737 documentation
 * range and every host name a reserved one; each file is sniffed by the real readers as the format its
 * name says and read without one bad record; the miner burns its share for the whole span.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { memoryInput, readAll } from '../sources/contract.js';
import { sniffSource } from '../sources/index.js';
import { FAKE_WALLET } from './index.js';
import { emitWindowsLogs, WINDOWS_DIR, windowsStory } from './windows-story.js';

const END = Date.parse('2026-12-01T03:00:00Z');
const OPTIONS = { share: 0.9, wallet: FAKE_WALLET };
const work = mkdtempSync(join(tmpdir(), 'coalmine-winstory-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** 127/8 and the three documentation ranges of RFC 5737. */
function harmless(ip: string): boolean {
  const o = ip.split('.').map(Number);
  return o[0] === 127 || /^(?:192\.0\.2|198\.51\.100|203\.0\.113)\./.test(ip);
}

/** Every IPv4 address written in `text` (version strings like 4.18.24090.11 are not addresses). */
function addresses(text: string): string[] {
  return [...text.matchAll(/(?<![\d.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\d.])/g)]
    .filter((m) => m.slice(1, 5).every((o) => Number(o) <= 255))
    .map((m) => m[0]);
}

test('the same options and end time write byte-identical files; another end or share does not', () => {
  const a = emitWindowsLogs(join(work, 'a'), { ...OPTIONS, now: END });
  const b = emitWindowsLogs(join(work, 'b'), { ...OPTIONS, now: END + 400 });
  assert.deepEqual(
    a.files.map((f) => f.slice(join(work, 'a').length)),
    [`/${WINDOWS_DIR}/sysmon.xml`, `/${WINDOWS_DIR}/security.xml`, `/${WINDOWS_DIR}/typeperf.csv`],
  );
  for (const [i, f] of a.files.entries()) assert.ok(readFileSync(f).equals(readFileSync(b.files[i])), f);
  const { dir: _a, files: _fa, hunt: _ha, ...factsA } = a;
  const { dir: _b, files: _fb, hunt: _hb, ...factsB } = b;
  assert.deepEqual(factsA, factsB);
  assert.deepEqual(a.hunt, ['coalmine', 'hunt', join(work, 'a', WINDOWS_DIR)]);

  const later = windowsStory(END + 60_000, OPTIONS).files;
  const lower = windowsStory(END, { ...OPTIONS, share: 0.5 }).files;
  const same = windowsStory(END, OPTIONS).files;
  assert.notEqual(later[0].text, same[0].text, 'the times follow the end');
  assert.notEqual(lower[2].text, same[2].text, 'typeperf follows the share');
});

test('every address is loopback or documentation range, every name reserved, the wallet the one given', () => {
  const story = windowsStory(END, OPTIONS);
  const all = story.files.map((f) => f.text).join('\n');
  // the encoded command, decoded: what it downloads from is in the range too
  // (the cradle's own line, and its children's ParentCommandLine)
  const encoded = [
    ...new Set(
      [...all.matchAll(/ -Enc ([A-Za-z0-9+/=]+)/g)].map((m) => Buffer.from(m[1], 'base64').toString('utf16le')),
    ),
  ];
  assert.equal(encoded.length, 1);
  assert.equal(encoded[0], story.delivery.decoded);
  assert.match(encoded[0], /DownloadFile\('http:\/\/192\.0\.2\.80\/u\/winupdsvc\.exe'/);
  const text = `${all}\n${encoded.join('\n')}`;
  const seen = new Set(addresses(text));
  assert.ok(seen.has('127.0.0.1') && seen.has('192.0.2.80'), [...seen].join(', '));
  for (const ip of seen) assert.ok(harmless(ip), `${ip} is neither loopback nor documentation range`);
  assert.doesNotMatch(text, /::ffff:|\[[0-9a-f:]+\]/i, 'no IPv6 addresses');
  // URLs other than the XML namespaces (identifiers, never fetched)
  for (const m of text.matchAll(/https?:\/\/([^/'"\s]+)/g))
    assert.ok(m[1] === 'schemas.microsoft.com' || harmless(m[1]), m[0]);
  for (const m of text.matchAll(/<Data Name='(?:Destination|Source)Hostname'>([^<]*)</g))
    assert.ok(m[1] === '-' || m[1].endsWith('.example'), m[1]);
  for (const m of text.matchAll(/-u (\S+)/g)) assert.equal(m[1], FAKE_WALLET);
  assert.equal(story.miner.pool, '127.0.0.1:3333');
});

test('each file is read by its reader without a bad record: the story in Sysmon and Security, the miner at its share all along', async () => {
  const story = windowsStory(END, { ...OPTIONS, share: 0.75 });
  const formats = ['evtx-xml', 'evtx-xml', 'typeperf'];
  const events = [];
  for (const [i, f] of story.files.entries()) {
    const input = memoryInput(f.rel, f.text, { relPath: f.rel });
    const source = sniffSource(input);
    assert.equal(source?.name, formats[i], f.rel);
    const read = await readAll(source, input);
    assert.deepEqual(read.issues, [], `${f.rel}: no bad record`);
    events.push(...read.events);
  }
  const from = Date.parse(story.from);
  const to = Date.parse(story.to);
  assert.equal(to - from, 25 * 60_000);
  for (const e of events) assert.ok(e.coalmine.ts >= from && e.coalmine.ts <= to, e['@timestamp']);

  const execs = events.filter((e) => e.event.action === 'exec');
  const miner = execs.find((e) => e.process?.pid === story.miner.pid);
  assert.equal(miner?.process?.executable, story.miner.executable);
  assert.equal(miner?.process?.parent?.pid, story.delivery.pid);
  const cradle = execs.find((e) => e.process?.pid === story.delivery.pid);
  assert.equal(cradle?.process?.parent?.executable, story.delivery.parent);
  assert.ok(execs.some((e) => e.process?.command_line === story.kill.command_line));
  assert.ok(execs.some((e) => e.process?.command_line === story.exclusion.command_line));
  assert.ok(
    events.some((e) => e.event.action === 'registry-set' && e.registry?.path === story.exclusion.registry),
    'the exclusion as MsMpEng wrote it',
  );
  const task = events.find((e) => e.coalmine.persistence?.mechanism === 'scheduled-task');
  assert.equal(task?.file?.path, story.persistence.task);
  assert.equal(task?.coalmine.persistence?.target, story.miner.executable);
  const pool = events.filter(
    (e) => e.event.action === 'connect' && e.process?.pid === story.miner.pid && e.destination?.port === 3333,
  );
  assert.equal(pool.length, 2, 'a connection and a reconnection');

  // typeperf: the miner at 75% of a core from its first sample to the end, the build at ~3 cores
  const samples = events.filter((e) => e.event.kind === 'metric' && e.process?.pid === story.miner.pid);
  assert.ok(samples.length >= 23, String(samples.length));
  assert.ok(samples.every((e) => e.metrics?.cpu_pct === 75));
  assert.equal(samples.at(-1)?.coalmine.ts, to);
  const build = events.filter((e) => e.event.kind === 'metric' && e.process?.pid === story.benign.pid);
  assert.ok(build.length >= 24 && build.every((e) => (e.metrics?.cpu_pct ?? 0) >= 290));
});
