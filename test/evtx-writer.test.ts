import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildFixtures, eventsFromXml, readXmlFile } from '../scripts/fixtures/make-evtx.js';
import { type EvtxProblem, type EvtxRecord, isEvtxProblem, readEvtxBuffer } from '../src/sources/evtx/index.js';
import { parseXmlElement, winEventFromXml } from '../src/sources/evtx-xml.js';
import type { WinEvent } from '../src/sources/win-event.js';
import {
  CHUNK_BYTES,
  type EvtxValueType,
  type EvtxWriterEvent,
  FILE_HEADER_BYTES,
  isoToFiletime,
  layoutEvtx,
  writeEvtx,
} from './support/evtx-writer.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = join(REPO, 'test', 'fixtures', 'evtx');
const ORACLE = '/usr/bin/evtx_dump.py';
const hasOracle = existsSync(ORACLE);

/** A value of every type the writer knows, as the reader renders it (WinEvent's conventions). */
const TYPED: Array<[string, EvtxValueType, string]> = [
  ['AString', 'string', 'C:\\Program Files\\é 😀 <&> "q"'],
  ['AnEmpty', 'string', ''],
  ['AByte', 'uint8', '200'],
  ['APort', 'uint16', '3333'],
  ['APid', 'uint32', '4294967295'],
  ['ACount', 'uint64', '18446744073709551615'],
  ['AHex32', 'hex32', '0x1a2c'],
  ['AHex64', 'hex64', '0x8000000000000000'],
  ['AFlag', 'bool', 'true'],
  ['AGuid', 'guid', '{5770385f-c22a-43e0-bf4c-06f5698ffbd9}'],
  ['ASid', 'sid', 'S-1-5-21-3623811015-3361044348-30300820-1013'],
  ['ATime', 'filetime', '2024-05-23T17:26:08.7168583Z'],
  ['Binary', 'binary', '00FF10AB'],
];

function synthetic(n: number): EvtxWriterEvent[] {
  const t0 = Date.UTC(2024, 4, 23, 17, 0, 0);
  return Array.from({ length: n }, (_, i): EvtxWriterEvent => {
    const time = `${new Date(t0 + i * 1500).toISOString().slice(0, 19)}.${String((i * 7654321) % 10000000).padStart(7, '0')}Z`;
    const base = {
      provider: 'Microsoft-Windows-Sysmon',
      channel: 'Microsoft-Windows-Sysmon/Operational',
      recordId: 100 + i,
      timeCreated: time,
      computer: `ws-${i % 3}.corp.example`,
      providerGuid: '{5770385f-c22a-43e0-bf4c-06f5698ffbd9}',
    };
    if (i % 3 === 0)
      return {
        ...base,
        eventId: 1,
        executionPid: 2044,
        executionTid: 3000 + i,
        userSid: 'S-1-5-18',
        data: {
          UtcTime: time.replace('T', ' ').slice(0, 23),
          ProcessId: String(4000 + i),
          Image: 'C:\\Windows\\System32\\cmd.exe',
          CommandLine: `cmd.exe /c echo ${'x'.repeat(i % 200)} & exit ${i}`,
        },
        dataTypes: { ProcessId: 'uint32' },
      };
    if (i % 3 === 1)
      return {
        ...base,
        provider: 'Microsoft-Windows-Security-Auditing',
        channel: 'Security',
        eventId: 4688,
        data: { param1: `first ${i}`, param2: '', param3: 'third' },
      };
    return {
      ...base,
      eventId: 65535,
      executionPid: 4,
      data: Object.fromEntries(TYPED.map(([name, , v]) => [name, v])),
      dataTypes: Object.fromEntries(TYPED.map(([name, type]) => [name, type])),
    };
  });
}

/** The WinEvent part of a writer event (what the reader gives back). */
function plain(ev: EvtxWriterEvent): WinEvent {
  const out: WinEvent = {
    provider: ev.provider,
    channel: ev.channel,
    eventId: ev.eventId,
    timeCreated: ev.timeCreated,
    computer: ev.computer,
    data: ev.data,
  };
  for (const k of ['recordId', 'executionPid', 'executionTid', 'userSid'] as const)
    if (ev[k] !== undefined) Object.assign(out, { [k]: ev[k] });
  return out;
}

function split(buf: Buffer): { records: EvtxRecord[]; problems: EvtxProblem[] } {
  const all = [...readEvtxBuffer(buf)];
  return { records: all.filter((r): r is EvtxRecord => !isEvtxProblem(r)), problems: all.filter(isEvtxProblem) };
}

/** GUID-shaped values compared without case (the reader renders them lower case, exports upper). */
function caseless(ev: WinEvent): WinEvent {
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(ev.data)) data[k] = /^\{[0-9a-f-]{36}\}$/i.test(v) ? v.toLowerCase() : v;
  return { ...ev, timeCreated: String(isoToFiletime(ev.timeCreated)), data };
}

/** python-evtx's XML for a file, as WinEvents (through our own XML mapping). */
function oracle(buf: Buffer): WinEvent[] {
  const dir = mkdtempSync(join(tmpdir(), 'coalmine-evtx-'));
  try {
    const path = join(dir, 'x.evtx');
    writeFileSync(path, buf);
    const r = spawnSync(ORACLE, [path], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const out: WinEvent[] = [];
    for (const m of r.stdout.matchAll(/<Event[\s>][\s\S]*?<\/Event>/g)) {
      const root = parseXmlElement(m[0]);
      assert.equal(typeof root, 'object', `oracle XML: ${String(root)}`);
      if (typeof root === 'string') continue;
      const ev = winEventFromXml(root);
      assert.equal(typeof ev, 'object', `oracle event: ${String(ev)}`);
      if (typeof ev !== 'string') out.push(ev);
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A typed value as python-evtx renders it, in the reader's convention. */
function fromPython(type: EvtxValueType, v: string): string {
  switch (type) {
    case 'hex32':
    case 'hex64':
      return `0x${BigInt(v).toString(16)}`;
    case 'bool':
      return v.toLowerCase();
    case 'binary':
      return Buffer.from(v, 'base64').toString('hex').toUpperCase();
    case 'filetime':
      return String(isoToFiletime(v) / 10n); // python keeps microseconds
    default:
      return v;
  }
}

function assertOracleAgrees(written: EvtxWriterEvent[], seen: WinEvent[]): void {
  assert.equal(seen.length, written.length);
  written.forEach((w, i) => {
    const o = seen[i];
    const at = `record ${w.recordId}`;
    assert.equal(o.eventId, w.eventId, at);
    assert.equal(o.recordId, w.recordId, at);
    assert.equal(o.provider, w.provider, at);
    assert.equal(o.channel, w.channel, at);
    assert.equal(o.computer, w.computer, at);
    assert.equal(o.userSid, w.userSid, at);
    assert.equal(o.executionPid, w.executionPid, at);
    // python-evtx goes through a float and rounds to microseconds: a few microseconds either way
    const dt = Number(isoToFiletime(o.timeCreated) - isoToFiletime(w.timeCreated));
    assert.ok(Math.abs(dt) <= 50, `${at}: oracle time ${o.timeCreated} vs ${w.timeCreated}`);
    assert.deepEqual(Object.keys(o.data), Object.keys(w.data), at);
    for (const [k, v] of Object.entries(w.data)) {
      const type = w.dataTypes?.[k] ?? 'string';
      const got = fromPython(type, o.data[k]);
      if (type === 'filetime') assert.ok(Math.abs(Number(BigInt(got) - isoToFiletime(v) / 10n)) <= 5, `${at} ${k}`);
      else if (type === 'guid') assert.equal(got.toLowerCase(), v.toLowerCase(), `${at} ${k}`);
      else assert.equal(got, v, `${at} ${k}`);
    }
  });
}

const many = synthetic(600);
const manyLayout = layoutEvtx(many);

test('writer: a valid file header and chunks, records spread over several chunks', () => {
  const buf = manyLayout.buf;
  assert.ok(manyLayout.chunks >= 2, `${manyLayout.chunks} chunks`);
  assert.equal(buf.length, FILE_HEADER_BYTES + manyLayout.chunks * CHUNK_BYTES);
  assert.equal(buf.toString('latin1', 0, 8), 'ElfFile\0');
  assert.equal(buf.readUInt16LE(0x2a), manyLayout.chunks);
  assert.equal(buf.readBigUInt64LE(0x18), 700n);
  // templates are per chunk: each chunk defines its own on first use
  for (let c = 0; c < manyLayout.chunks; c++) {
    const inChunk = manyLayout.records.filter((r) => r.chunk === c);
    assert.equal(inChunk.filter((r) => r.residentTemplate).length, 3, `chunk ${c}`);
  }
});

test('writer → readEvtxBuffer: every value round-trips (all substitution types, unnamed Data, ≥2 chunks)', () => {
  const { records, problems } = split(manyLayout.buf);
  assert.deepEqual(problems, []);
  assert.deepEqual(
    records.map((r) => [r.chunk, r.recordId]),
    manyLayout.records.map((r) => [r.chunk, r.recordId]),
  );
  records.forEach((r, i) => {
    assert.deepEqual(r.event, plain(many[i]), `record ${r.recordId}`);
    assert.equal(r.written, many[i].timeCreated);
  });
});

test('writer: dirty flag and stale header fields as asked', () => {
  const buf = writeEvtx(many.slice(0, 10), { dirty: true, full: true, headerChunkCount: 7, headerNextRecordId: 3 });
  assert.equal(buf.readUInt32LE(0x78), 3);
  assert.equal(buf.readUInt16LE(0x2a), 7);
  assert.equal(buf.readBigUInt64LE(0x18), 3n);
  assert.equal(split(buf).records.length, 10);
});

test('oracle: python-evtx renders the writer output with the same ids, times and data', (t) => {
  if (!hasOracle) return t.skip(`${ORACLE} not installed (apt-get install python3-evtx)`);
  assertOracleAgrees(many, oracle(manyLayout.buf));
});

const fixtures = buildFixtures();
const good = eventsFromXml(readXmlFile(join(REPO, 'test', 'fixtures', 'evtx-xml', 'good.xml'))).events;

test('fixtures: the committed .evtx files are what make-evtx --fixtures writes', () => {
  for (const [name, buf] of Object.entries(fixtures))
    assert.ok(readFileSync(join(FIXTURES, name)).equals(buf), `${name} is stale: rerun scripts/fixtures/make-evtx.ts`);
});

test('fixtures: sysmon-small.evtx reads back as good.xml', () => {
  const { records, problems } = split(readFileSync(join(FIXTURES, 'sysmon-small.evtx')));
  assert.deepEqual(problems, []);
  assert.deepEqual(
    records.map((r) => [r.chunk, r.recordId]),
    [
      [0, 1001],
      [0, 1002],
      [0, 1003],
      [1, 52001],
      [1, 52002],
      [1, 52003],
    ],
  );
  assert.deepEqual(
    records.map((r) => caseless(r.event)),
    good.map((e) => caseless(plain(e))),
  );
});

test('fixtures: damaged.evtx names the bad record and chunk, and every other record is read', () => {
  const { records, problems } = split(readFileSync(join(FIXTURES, 'damaged.evtx')));
  assert.deepEqual(
    problems.map((p) => [p.chunk, p.recordId]),
    [
      [0, 7],
      [1, undefined],
    ],
  );
  assert.match(problems[0].reason, /token/);
  assert.match(problems[1].reason, /checksum/);
  const ids = records.map((r) => r.recordId);
  assert.deepEqual(ids, [1, 2, 3, 4, 5, 6, 8, 17, 18, 19, 20, 21, 22, 23, 24]);
  for (const r of records) assert.equal(r.event.eventId, good[(r.recordId - 1) % good.length].eventId);
});

test('fixtures: dirty.evtx is read whole, past its stale header and free space offset', (t) => {
  const buf = readFileSync(join(FIXTURES, 'dirty.evtx'));
  assert.equal(buf.readUInt32LE(0x78) & 1, 1);
  assert.equal(buf.readUInt16LE(0x2a), 1);
  const { records, problems } = split(buf);
  assert.deepEqual(problems, []);
  assert.deepEqual(
    records.map((r) => caseless(r.event)),
    good.map((e) => caseless(plain(e))),
  );
  if (!hasOracle) return t.skip(`${ORACLE} not installed`);
  // python-evtx stops at the free space offset: it misses the record appended after the header
  assert.deepEqual(
    oracle(buf).map((e) => e.recordId),
    good.slice(0, -1).map((e) => e.recordId),
  );
});

test('oracle: python-evtx agrees on sysmon-small.evtx', (t) => {
  if (!hasOracle) return t.skip(`${ORACLE} not installed`);
  assertOracleAgrees(good, oracle(fixtures['sysmon-small.evtx']));
});

test('fixtures: each AN0741 scenario .evtx holds its XML export (and python-evtx agrees)', () => {
  const scenarios = join(REPO, 'test', 'fixtures', 'scenarios');
  const dirs = existsSync(FIXTURES) ? readdirSync(FIXTURES).filter((d) => d.startsWith('an0741-')) : [];
  for (const dir of dirs)
    for (const name of readdirSync(join(FIXTURES, dir))) {
      const xml = join(scenarios, dir, name.replace(/\.evtx$/, '.xml'));
      if (!existsSync(xml)) continue;
      const want = eventsFromXml(readXmlFile(xml)).events;
      const buf = readFileSync(join(FIXTURES, dir, name));
      const { records, problems } = split(buf);
      assert.deepEqual(problems, [], `${dir}/${name}`);
      assert.deepEqual(
        records.map((r) => caseless(r.event)),
        want.map((e) => caseless(plain(e))),
        `${dir}/${name} is stale: rerun make-evtx.ts --scenarios`,
      );
      if (hasOracle) assertOracleAgrees(want, oracle(buf));
    }
});
