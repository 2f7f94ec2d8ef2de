import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CoalEvent } from '../model/event.js';
import { idsAlert } from '../signals/ids-alert.js';
import { signalsOf } from '../signals/test-events.js';
import {
  HiddenCpuTrigger,
  HotProcesses,
  hiddenProcessEvents,
  inspectionEvents,
  type ProcessInspection,
} from './inspect.js';

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

function hostCpu(pct: number, cores: number): CoalEvent {
  return {
    '@timestamp': '',
    event: { kind: 'metric', category: ['host'], action: 'metric', dataset: 'proc.stat' },
    metrics: { cpu_pct: pct, cores },
    original: {},
    coalmine: { ts: 0, format: 'proc', ref: { file: '' } },
  };
}

describe('watch --inspect: when to look for hidden processes', () => {
  it('after the host CPU outran its listed processes by the gap for the sustain, once per interval', () => {
    const trigger = new HiddenCpuTrigger({ gapPct: 50, sustainSamples: 3, minIntervalMs: 60_000 });
    // 2 cores, 5 s samples: the host at 80% of the machine while its one process uses 10% of one core (5%)
    const sample = (i: number, hostPct = 80) => trigger.observe([hostCpu(hostPct, 2), seen(10, i * 500)], i * 5000);
    const due = [0, 1, 2, 3, 4].map((i) => sample(i));
    assert.deepEqual(
      due,
      [false, false, false, true, false],
      'the first sample is the baseline; three gaps make it due',
    );
    assert.equal(trigger.lastGapPct, 75);
    // the processes account for the CPU: the run resets; after the interval a new sustained gap is due again
    assert.equal(sample(5, 10), false);
    assert.deepEqual(
      [20, 21, 22].map((i) => sample(i)),
      [false, false, true],
    );
  });

  it('a busy process the listing shows is no gap', () => {
    const trigger = new HiddenCpuTrigger({ gapPct: 50, sustainSamples: 1 });
    // one process at 1.6 cores of 2 (80% of the machine): the host's 82% is accounted for
    const due = [0, 1, 2, 3].map((i) => trigger.observe([hostCpu(82, 2), seen(10, i * 8000)], i * 5000));
    assert.deepEqual(due, [false, false, false, false]);
    assert.equal(trigger.lastGapPct, 2);
  });
});

describe('hidden process events', () => {
  it('name the pid, its program and CPU, and are read as a strong masquerade of that process', () => {
    const events = hiddenProcessEvents(
      [
        {
          pid: 4242,
          name: 'kswapd0',
          ppid: 1,
          executable: '/var/tmp/.x/kswapd0',
          commandLine: 'kswapd0 -c config.json',
          cpuTicks: 91_000,
          threads: 4,
          answersKill: true,
        },
      ],
      'web-01',
      60_000,
    );
    assert.deepEqual(
      events.map((e) => [
        e.event.dataset,
        e.process?.pid,
        e.process?.executable,
        e.process?.parent?.pid,
        e.coalmine.ref,
      ]),
      [['inspect.hidden', 4242, '/var/tmp/.x/kswapd0', 1, { file: '/proc/4242', record: 'hidden' }]],
    );
    const out = signalsOf(idsAlert, events[0]);
    assert.deepEqual(
      out.map((s) => [s.kind, s.class, s.strength, s.by]),
      [['masquerade', 'process', 'strong', 'ids:inspect']],
    );
    assert.match(
      out[0].explanation,
      /the \/proc listing hides it, yet \/proc\/4242 answers by name, 91000 CPU ticks used/,
    );
  });
});
