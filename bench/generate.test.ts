import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CoalEvent } from '../src/model/event.js';
import { type GenerateResult, generateEvents, mulberry32 } from './generate.js';

describe('bench generator', () => {
  let dir: string;
  let result: GenerateResult;
  let events: CoalEvent[];
  let text: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coalmine-bench-'));
    result = await generateEvents({ events: 30_000, seed: 7, path: join(dir, 'a.ndjson') });
    text = await readFile(join(dir, 'a.ndjson'), 'utf8');
    events = text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as CoalEvent);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('mulberry32 gives the same sequence for the same seed and a different one for another', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const c = mulberry32(43);
    const seqA = [a(), a(), a()];
    assert.deepEqual(seqA, [b(), b(), b()]);
    assert.notDeepEqual(seqA, [c(), c(), c()]);
    assert.ok(seqA.every((x) => x >= 0 && x < 1));
  });

  test('the same seed and count write the same bytes', async () => {
    await generateEvents({ events: 30_000, seed: 7, path: join(dir, 'b.ndjson') });
    assert.equal(await readFile(join(dir, 'b.ndjson'), 'utf8'), text);
  });

  test('writes exactly the requested count, numbered by line, with the reported byte size', () => {
    assert.equal(events.length, 30_000);
    assert.equal(result.events, 30_000);
    assert.equal(result.bytes, Buffer.byteLength(text));
    events.forEach((e, i) => {
      assert.equal(e.coalmine.ref.line, i + 1);
      assert.equal(Date.parse(e['@timestamp']), e.coalmine.ts);
    });
  });

  test('mixes exec, connect, metric and the rest roughly 40/25/30/5', () => {
    const share = (action: string) => events.filter((e) => e.event.action === action).length / events.length;
    assert.ok(Math.abs(share('exec') - 0.4) < 0.02, `exec ${share('exec')}`);
    assert.ok(Math.abs(share('connect') - 0.25) < 0.02, `connect ${share('connect')}`);
    assert.ok(Math.abs(share('metric') - 0.3) < 0.02, `metric ${share('metric')}`);
    const rest = share('dns-query') + share('file-write') + share('kill');
    assert.ok(Math.abs(rest - 0.05) < 0.02, `rest ${rest}`);
  });

  test('keeps time mostly increasing, with a few events less than a minute out of order', () => {
    let newest = Number.NEGATIVE_INFINITY;
    let late = 0;
    for (const e of events) {
      const ts = e.coalmine.ts;
      if (ts < newest) {
        late++;
        assert.ok(newest - ts < 60_000, `line ${e.coalmine.ref.line} is ${newest - ts} ms late`);
      } else newest = ts;
    }
    assert.ok(late > 0 && late < events.length * 0.1, `${late} late events`);
  });

  test('plants miners: a /tmp-style executable with a stratum URL, pool connects to 3333 and ~390% CPU', () => {
    assert.ok(result.miners.length >= 3);
    for (const m of result.miners) {
      const own = events.filter((e) => e.host?.name === m.host && e.process?.pid === m.pid);
      const exec = own.find((e) => e.event.action === 'exec');
      assert.match(exec?.process?.command_line ?? '', /stratum\+tcp:\/\/[a-z0-9.-]+:3333/);
      assert.match(m.executable, /^\/(tmp|var\/tmp|dev\/shm)\//);
      assert.ok(own.some((e) => e.event.action === 'connect' && e.destination?.port === 3333));
      const cpu = own.filter((e) => e.event.action === 'metric').map((e) => e.metrics?.cpu_pct ?? 0);
      assert.ok(cpu.length >= 3 && cpu.every((p) => p >= 380 && p <= 400), `${m.host}: ${cpu}`);
    }
  });
});
