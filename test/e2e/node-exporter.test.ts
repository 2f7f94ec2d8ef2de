/**
 * Host CPU from node_exporter through the real CLI: a host whose only CPU telemetry is Prometheus'
 * `node_cpu_seconds_total` (as `promtool tsdb dump` prints it) gives a miner's finding its host's sustained
 * CPU once the CPUs stay busy past the sustain. The events are written here: a renamed miner
 * started from /tmp with its pool connection, and the host's counters, idle until the miner starts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { huntNdjson } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'coalmine-node-exporter-'));
after(() => process.env.KEEP_TEST_DIR || rmSync(dir, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 10, 20, 3, 0, 0);
const HOST = 'db-07';
const at = (minute: number): string => new Date(T0 + minute * 60_000).toISOString();
const MODES = ['idle', 'iowait', 'irq', 'nice', 'softirq', 'steal', 'system', 'user'] as const;
/** The miner starts here; the dump runs to minute 45: 35 busy minutes. */
const START = 10;
const MINUTES = 45;

/**
 * Seconds each mode of a CPU gains in minute `m`: idle but for a little housekeeping, then the miner's
 * user time on both CPUs (and some steal, which counts neither way).
 */
function perMinute(m: number, mode: (typeof MODES)[number]): number {
  const busy = m >= START;
  switch (mode) {
    case 'idle':
      return busy ? 0.5 : 57.5;
    case 'user':
      return busy ? 58.5 : 1.5;
    case 'system':
      return 1;
    case 'steal':
      return busy ? 2 : 0;
    default:
      return 0;
  }
}

/** node_exporter's counters of two CPUs, one scrape a minute, series by series as promtool prints them. */
function nodeDump(): string {
  const rows: string[] = [];
  for (const cpu of ['0', '1'])
    for (const mode of MODES) {
      let v = 1000;
      for (let m = 0; m <= MINUTES; m++) {
        if (m > 0) v += perMinute(m, mode);
        rows.push(
          `{__name__="node_cpu_seconds_total", cpu="${cpu}", instance="${HOST}:9100", job="node", mode="${mode}"} ${v} ${T0 + m * 60_000}`,
        );
      }
    }
  return `${rows.join('\n')}\n`;
}

const MINER = {
  pid: 5150,
  name: 'kworker-update',
  executable: '/tmp/.cache/kworker-update',
  command_line: '/tmp/.cache/kworker-update -o stratum+tcp://xmr.example-pool.test:3333 -u 44AFFq5kSiGBoZ.w1 -k',
  parent: { pid: 1 },
};

function minerEvents(): string {
  const host = { name: HOST, os: { platform: 'linux' } };
  const events = [
    {
      '@timestamp': at(START),
      event: { kind: 'event', category: ['process'], type: ['start'], action: 'exec', dataset: 'test.exec' },
      host,
      process: MINER,
      original: {},
    },
    {
      '@timestamp': at(START),
      event: {
        kind: 'event',
        category: ['network'],
        type: ['connection', 'start'],
        action: 'connect',
        dataset: 'test.net',
      },
      host,
      process: { pid: MINER.pid, name: MINER.name, executable: MINER.executable },
      destination: { ip: '198.51.100.61', port: 3333 },
      network: { transport: 'tcp', direction: 'outbound' },
      original: {},
    },
  ];
  return `${events.map((e) => JSON.stringify(e)).join('\n')}\n`;
}

test("a miner on a host with only node_exporter: its CPUs' 35 busy minutes are the finding's sustained CPU", () => {
  const prom = join(dir, 'node.txt');
  const ndjson = join(dir, 'miner.ndjson');
  writeFileSync(prom, nodeDump());
  writeFileSync(ndjson, minerEvents());
  const r = huntNdjson([ndjson, prom]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /prometheus 1/);
  assert.equal(r.findings.length, 1, r.stdout);
  const f = r.findings[0];
  assert.equal(f.analytic, 'AN0742');
  const cpu = f.evidence.filter((e) => e.kind === 'sustained-cpu');
  // 0.5 idle of 60 counted seconds a CPU (steal left out): 99.17 % of both; held from minute 10, told at 25,
  // cited at that scrape's first point (CPU 0's idle series, its 26th line)
  assert.deepEqual(
    cpu.map((e) => [e.by, e.strength, e.source]),
    [['engine:host-cpu', 'weak', `${prom}:26`]],
  );
  assert.match(cpu[0].explanation, /^host db-07 CPU held ≥85% for 15m \(mean 99%\)$/);
  // total host CPU is not tied to the process: weak evidence, which alone does not make the resource leg
  assert.deepEqual(f.legs, ['process', 'reach']);
  // steal counts in neither sum: its series are skipped, 46 scrapes of 2 CPUs
  assert.match(r.stderr, /skipped: 92 records of event types no analytic uses/);
});
