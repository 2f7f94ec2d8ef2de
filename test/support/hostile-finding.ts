/** A finding whose every input-derived string carries HOSTILE_TEXT, for the sinks' inertness tests. */
import type { Case, Finding } from '../../src/model/finding.js';
import { HOSTILE_TEXT as H } from './invisible.js';

export function hostileFinding(): Finding {
  return {
    id: 'cm-0123456789abcdef',
    analytic: 'AN0742',
    title: `Cryptomining by ${H}`,
    attack: ['T1496.001'],
    severity: 'high',
    confidence: 0.9,
    entity: `process:web:${H}`,
    related: [],
    host: `web${H}`,
    first_seen: '2025-03-14T02:10:00.000Z',
    last_seen: '2025-03-14T02:40:00.000Z',
    legs: ['process'],
    summary: `summary ${H}`,
    evidence: [
      {
        kind: 'miner-process',
        class: 'process',
        strength: 'strong',
        time: '2025-03-14T02:12:00.000Z',
        source: `audit${H}.log:7`,
        explanation: `command line ${H}`,
        by: 'test',
        entity: 'process:web:1',
        intel: { set: `set${H}`, source: `src${H}`, version: `v${H}` },
      },
    ],
    gaps: [`gap ${H}`],
    suppressed_by: {
      list: `coalmine${H}.yaml`,
      match: `executable=${H}`,
      reason: `reason ${H}`,
      owner: `owner ${H}`,
      expires: `2099-01-01${H}`,
    },
    facts: { command_line: `/tmp/${H}` },
    usage: {
      core_hours: 2,
      basis: `basis ${H}`,
      series: [{ entity: 'process:web:1', label: `xmrig ${H}`, points: [['2025-03-14T02:10:00.000Z', 390]] }],
    },
    processes: [{ entity: 'process:web:1', pid: 1, executable: `/tmp/${H}`, user: `u${H}`, command_line: `cmd ${H}` }],
    context: [
      {
        time: '2025-03-14T00:10:00.000Z',
        host: `web${H}`,
        rule_id: `rule${H}`,
        title: `context title ${H}<script>`,
        level: `high${H}`,
        tags: [`attack.t1003${H}`],
        source: `sysmon${H}.json:3`,
        facts: { command_line: `ctxcmd ${H}<b>`, [`key${H}`]: `value${H}` },
        correlation: `counted ${H}`,
        mining: false,
        relative: `2 h before ${H}`,
        reasons: ['credential-access'],
      },
    ],
    context_omitted: 3,
    triage: {
      escalation: { tier: 'Tier 2', reasons: [`reason ${H}`], next_steps: [`step ${H}`] },
      questions: [
        {
          id: 'legitimate-process',
          question: 'Legitimate?',
          status: 'answered',
          answer: `a ${H}`,
          evidence: [`e${H}`],
        },
      ],
      containment: { platform: 'linux', steps: [{ phase: 'remove', action: `act ${H}`, commands: [`kill ${H}`] }] },
      cost: { core_hours: 2, price_per_core_hour: 0.05, currency: 'USD', amount: 0.1, basis: `basis ${H}` },
      allowlist_suggestion: `allowlist:\n  - match: "${H}"`,
    },
  };
}

export const HOSTILE_CASE: Case = {
  id: 'case-1',
  title: `Case ${H}`,
  severity: 'high',
  tier: 'Tier 2',
  status: 'new',
  hosts: [`web${H}`],
  entities: [],
  campaign: { destinations: [], executables: [], hashes: [] },
  findings: ['cm-0123456789abcdef', 'cm-other'],
  first_seen: '2025-03-14T02:10:00.000Z',
  last_seen: '2025-03-14T02:40:00.000Z',
  core_hours: 2,
  cost: 0.1,
  currency: 'USD',
};
