import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Signal } from '../model/signal.js';
import { addEvidence, newCluster } from './clusters.js';

const shares = (session: string | undefined, ts: number, strength: Signal['strength'] = 'medium'): Signal => ({
  kind: 'mining-shares',
  class: 'resource',
  strength,
  entity: 'host:web-01',
  host: 'web-01',
  ts,
  ref: { file: 'gen.pcap', record: String(ts) },
  explanation: `shares of ${session}`,
  by: 'stratum:shares',
  subject: { destination: '198.51.100.7:3333', ...(session ? { session } : {}) },
});

test('two Stratum sessions to one pool are two pieces of evidence; the same session again is one, counted twice', () => {
  const c = newCluster('host:web-01', 'web-01', true, 0);
  const a = '10.0.0.5 2026-11-02T09:00:00.000Z';
  const b = '10.0.0.5 2026-11-02T09:00:07.000Z';
  addEvidence(c, shares(a, 1000, 'weak'));
  addEvidence(c, shares(b, 2000));
  addEvidence(c, shares(a, 3000));
  addEvidence(c, shares(a, 3000));
  const items = [...c.evidence.values()];
  assert.deepEqual(
    items.map((i) => [i.signal.subject?.session, i.signal.strength, i.signal.ts, i.count]),
    [
      // the final report (stronger) replaces the progress report it continues; a second reading adds a count
      [a, 'medium', 3000, 3],
      [b, 'medium', 2000, 1],
    ],
  );
});

test('evidence with no session merges as before: by kind, verdict, entity, destination and victim', () => {
  const c = newCluster('host:web-01', 'web-01', true, 0);
  addEvidence(c, shares(undefined, 1000));
  addEvidence(c, shares(undefined, 2000));
  assert.deepEqual(
    [...c.evidence.values()].map((i) => [i.signal.ts, i.count, i.lastTs]),
    [[1000, 2, 2000]],
  );
});

test('of one session read twice with equally strong reports, the one that measured more shares stands (a cut-off copy read first does not)', () => {
  const c = newCluster('host:web-01', 'web-01', true, 0);
  const a = '10.0.0.5 2026-11-02T09:00:00.000Z';
  const measured = (ts: number, accepted: number, minutes: number): Signal => ({
    ...shares(a, ts),
    shares: { accepted, mining_minutes: minutes } as NonNullable<Signal['shares']>,
  });
  addEvidence(c, measured(1000, 12, 10)); // the copy cut after 10 minutes
  addEvidence(c, measured(2000, 57, 35)); // the whole capture
  addEvidence(c, measured(3000, 57, 20)); // as many shares over less time: not more
  const [item] = [...c.evidence.values()];
  assert.deepEqual([item.signal.ts, item.signal.shares?.accepted, item.count], [2000, 57, 3]);
});

test('two persistence entries of one kind on one host are two pieces of evidence; one entry read twice is one', () => {
  const entry = (line: number, ts: number): Signal => ({
    kind: 'persistence',
    class: 'persistence',
    strength: 'strong',
    entity: 'host:web-01',
    host: 'web-01',
    ts,
    ref: { file: 'var/spool/cron/crontabs/redis', line },
    explanation: `cron entry on line ${line}`,
    by: 'persistence:cron',
    persistence: { mechanism: 'cron', file: '/var/spool/cron/crontabs/redis', line, entry: `line ${line}` },
  });
  const c = newCluster('host:web-01', 'web-01', true, 0);
  addEvidence(c, entry(4, 1000));
  addEvidence(c, entry(5, 1000));
  addEvidence(c, entry(5, 2000));
  assert.deepEqual(
    [...c.evidence.values()].map((i) => [i.signal.persistence?.line, i.count]),
    [
      [4, 1],
      [5, 2],
    ],
  );
});
