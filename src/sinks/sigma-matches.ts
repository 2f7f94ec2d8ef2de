/**
 * Every Sigma match of a hunt as a timeline (`hunt --rules PATH --format sigma-matches`), one line per
 * match as it is found in event time, like Hayabusa's: time, host, level, title, rule id, key fields and
 * the record it matched. A general Sigma hunt: it needs no mining finding. `sigma-matches-ndjson` gives
 * the same records as JSON lines. Text lines are clipped and made inert for the terminal.
 */
import type { RuleMatchRecord } from '../model/finding.js';
import { clip, inert } from '../util/hostile.js';
import { factsLine } from './explain.js';

export interface MatchFormat {
  name: string;
  summary: string;
  /** One match as it is written: a whole line, newline included. */
  line(record: RuleMatchRecord, color: boolean): string;
}

const LEVEL: Record<string, string> = {
  critical: 'crit',
  high: 'high',
  medium: 'med',
  low: 'low',
  informational: 'info',
};
const LEVEL_COLOR: Record<string, string> = {
  critical: '\u001b[1;31m',
  high: '\u001b[31m',
  medium: '\u001b[33m',
  low: '\u001b[32m',
};

function safe(text: string, max: number): string {
  return inert(clip(text, max));
}

function textLine(r: RuleMatchRecord, color: boolean): string {
  const level = (LEVEL[r.level] ?? safe(r.level, 8)).padEnd(4);
  const shownLevel = color && LEVEL_COLOR[r.level] ? `${LEVEL_COLOR[r.level]}${level}\u001b[0m` : level;
  const parts = [
    r.time.replace('T', ' ').replace('Z', ''),
    safe(r.host || '-', 120),
    shownLevel,
    `${safe(r.title, 200)}${r.mining ? ' [compute hijacking: evidence]' : ''}`,
    safe(r.rule_id, 80),
  ];
  if (r.correlation) parts.push(safe(r.correlation, 300));
  const facts = factsLine(r.facts, 800);
  if (facts) parts.push(safe(facts, 800));
  parts.push(safe(r.source, 200));
  return `${parts.join(' · ')}\n`;
}

export const sigmaMatches: MatchFormat = {
  name: 'sigma-matches',
  summary: 'every Sigma rule match as a timeline line (time · host · level · title · rule id · key fields · source)',
  line: textLine,
};

export const sigmaMatchesNdjson: MatchFormat = {
  name: 'sigma-matches-ndjson',
  summary: 'every Sigma rule match as one JSON object per line (the same fields)',
  line: (r) => `${JSON.stringify(r)}\n`,
};

export const matchFormats: MatchFormat[] = [sigmaMatches, sigmaMatchesNdjson];

export function matchFormatNamed(name: string): MatchFormat | undefined {
  return matchFormats.find((f) => f.name === name);
}
