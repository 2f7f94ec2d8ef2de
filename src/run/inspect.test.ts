import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CoalEvent } from '../model/event.js';
import { HotProcesses, inspectionEvents, type ProcessInspection } from './inspect.js';

function seen(pid: number, cpuMs: number): CoalEvent {
  return {
    '@timestamp': '',
    event: { kind: 'event', category: ['process'], action: 'process-seen', dataset: 'proc.processes' },
    process: { pid, entity_id: `${pid}@1` },
    metrics: { cpu_time_ms: cpuMs },
    original: {},
    coalmine: { ts: 0, format: 'proc', ref: { file: '' } },
  };
}

describe('watch --inspect: whom to inspect', () => {
  it('picks a process whose mean CPU over the window clears the bar, once, and at most one per interval', () => {
    const hot = new HotProcesses({ cpuPct: 50, sustainSamples: 3, minIntervalMs: 10_000 });
    const due: (number | undefined)[] = [];
    // pid 10 near 80% of a core with one dip to 10% (the window's mean still clears 50%), pid 11 at 52%, pid 12 at 20%
    const steps10 = [0, 800, 800, 100, 800, 800, 800, 800, 800];
    let c10 = 0;
    for (let i = 0; i <= 8; i++) {
      c10 += steps10[i];
      due.push(hot.observe([seen(10, c10), seen(11, i * 520), seen(12, i * 200)], i * 1000)?.pid);
    }
    assert.deepEqual(due, [undefined, undefined, undefined, 10, undefined, undefined, undefined, undefined, undefined]);
    assert.equal(hot.observe([seen(11, 20 * 520)], 20_000)?.pid, 11, 'the next one after the interval');
    assert.equal(hot.observe([seen(11, 40 * 520)], 40_000), undefined, 'never twice');
  });
});

describe('inspection events', () => {
  it('gives one indicator event per rule matched and one for the shape, on the sampler’s entity', () => {
    const p: ProcessInspection = {
      pid: 7,
      name: 'kthreadd2',
      entityId: '7@55',
      executable: '/tmp/.x/k',
      matches: ['a', 'a', 'b'].map((rule) => ({
        rule,
        kind: 'miner',
        strength: 'strong' as const,
        bundled: true,
        region: '[heap]@1000',
        regionPerms: 'rw-p',
        regionPath: '[heap]',
        hits: [{ pattern: '$x', address: '0x1010', offset: 16, text: 'mining.submit' }],
      })),
      shapeSays: '1 /dev/cpu/*/msr open',
      regions: 1,
      bytes: 4096,
      failedReads: 0,
      durationMs: 1,
    };
    const events = inspectionEvents(p, 'h1', 1000);
    assert.deepEqual(
      events.map((e) => [e.rule?.name, e.rule?.category, e.process?.entity_id, e.coalmine.format, e.event.type]),
      [
        ['a', 'miner', '7@55', 'inspect', ['indicator']],
        ['b', 'miner', '7@55', 'inspect', ['indicator']],
        ['RandomX memory shape', 'shape', '7@55', 'inspect', ['indicator']],
      ],
    );
    assert.equal(events[0].original.text, 'mining.submit');
    assert.equal(events[0].host?.name, 'h1');
  });
});
