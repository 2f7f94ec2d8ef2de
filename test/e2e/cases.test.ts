/**
 * End to end: findings grouped into cases through the real CLI. Two hosts mining to the same pool are
 * one campaign (one OCSF Incident Finding listing both detections); a crypto node elsewhere is its own
 * informational case; the table says which case each finding belongs to.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'coalmine.js');
const INPUTS = [
  join(ROOT, 'examples', 'kinsing-like'),
  join(ROOT, 'test', 'fixtures', 'scenarios', 'an0741-miner'),
  join(ROOT, 'test', 'fixtures', 'pcap', 'monero-p2p.pcap'),
];

interface Incident {
  class_uid: number;
  type_uid: number;
  severity: string;
  priority: string;
  is_suspected_breach: boolean;
  status: string;
  desc: string;
  metadata: { uid: string; profiles: string[] };
  finding_info_list: Array<{ uid: string; analytic: { uid: string }; attacks: Array<{ technique: { uid: string } }> }>;
  unmapped: { tier: string; hosts: string[]; campaign: { destinations: string[] }; core_hours: number };
}

function hunt(format: string) {
  const r = spawnSync(process.execPath, [BIN, 'hunt', ...INPUTS, '--format', format, '--no-summary'], {
    encoding: 'utf8',
    cwd: ROOT,
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('two hosts mining to one pool are one campaign incident; a crypto node elsewhere is its own informational case', () => {
  const incidents = hunt('ocsf-incident')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Incident);
  assert.equal(incidents.length, 2);
  const [campaign, node] = incidents;
  assert.equal(campaign.class_uid, 2005);
  assert.equal(campaign.type_uid, 200501);
  assert.deepEqual(campaign.metadata.profiles, ['incident']);
  assert.match(campaign.metadata.uid, /^case-[0-9a-f]{16}$/);
  assert.equal(campaign.status, 'New');
  assert.deepEqual([...campaign.unmapped.hosts].sort(), ['WS-FIN-07', 'web-01']);
  assert.deepEqual(campaign.finding_info_list.map((f) => f.analytic.uid).sort(), ['AN0741', 'AN0742']);
  assert.ok(campaign.finding_info_list.every((f) => f.attacks.some((a) => a.technique.uid === 'T1496.001')));
  assert.equal(campaign.unmapped.tier, 'Tier 2');
  assert.equal(campaign.priority, 'High');
  assert.equal(campaign.is_suspected_breach, true);
  assert.ok(campaign.unmapped.campaign.destinations.some((d) => d.startsWith('pool.supportxmr.com:3333')));
  assert.ok(campaign.unmapped.core_hours > 0);
  assert.match(campaign.desc, /^Campaign on 2 hosts \((web-01|WS-FIN-07), (web-01|WS-FIN-07)\), 2 findings; worst: /);

  assert.equal(node.severity, 'Informational');
  assert.equal(node.is_suspected_breach, false);
  assert.equal(node.finding_info_list.length, 1);
  assert.equal(node.finding_info_list[0].analytic.uid, 'crypto-node');
});

test('the same run as OCSF detections carries each finding once, with its triage', () => {
  const detections = hunt('ocsf')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { class_uid: number; unmapped: { triage?: { escalation: { tier: string } } } });
  assert.equal(detections.length, 3);
  assert.ok(detections.every((d) => d.class_uid === 2004 && d.unmapped.triage?.escalation.tier));
});

test('the table gives each finding its tier, cost, case and the explain command', () => {
  const table = hunt('table');
  const blocks = table.split('\n\n');
  assert.equal(blocks.length, 3);
  const mining = blocks.filter((b) => /^HIGH/.test(b));
  assert.equal(mining.length, 2);
  const caseIds = mining.map((b) => /; case (case-[0-9a-f]{16}) \(2 findings on 2 host\(s\)\)/.exec(b)?.[1]);
  assert.ok(caseIds[0] && caseIds[0] === caseIds[1], table);
  for (const b of mining) {
    assert.match(b, /\n {7}triage: Tier 2: unauthorized high CPU/);
    assert.match(b, /cost \d+(\.\d+)? core-hours ≈ \d+(\.\d+)? USD/);
    const id = /id (cm-[0-9a-f]+)/.exec(b)?.[1];
    assert.ok(b.includes(`next: coalmine explain ${id} `), b);
  }
  const info = blocks.find((b) => b.startsWith('INFORM'));
  assert.match(info ?? '', /triage: L1: informational/);
});
