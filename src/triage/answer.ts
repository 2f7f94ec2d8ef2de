/** The pieces every playbook answer is built from (playbook.ts for hosts and workloads, cloud-playbook.ts for launches). */
import type { ContextMatch, Evidence, Finding, Question } from '../model/finding.js';
import { clip } from '../util/hostile.js';

/** Days an allowlist suggestion is valid for: long enough to matter, short enough to be re-reviewed. */
export const SUGGESTED_EXPIRY_DAYS = 90;

/** The evidence sources (`file:line`) an answer cites, at most `max`. */
export function sources(evidence: Array<Pick<Evidence, 'source'>>, max = 6): string[] {
  return [...new Set(evidence.map((e) => e.source))].slice(0, max);
}

export function strong(e: Evidence): boolean {
  return e.strength !== 'weak';
}

/** Answered from the evidence when some is given, else a question for the analyst with what to look at. */
export function question(
  id: Question['id'],
  text: string,
  answer: string,
  evidence: Array<Pick<Evidence, 'source'>> | undefined,
): Question {
  return evidence
    ? { id, question: text, status: 'answered', answer, evidence: sources(evidence) }
    : { id, question: text, status: 'needs-analyst', answer, evidence: [] };
}

/** YAML scalars as JSON strings: always valid YAML, whatever the value holds. */
export function yamlString(value: string): string {
  return JSON.stringify(value);
}

/** The date a suggested entry expires: `SUGGESTED_EXPIRY_DAYS` after the finding's last event (YYYY-MM-DD). */
export function suggestedExpiry(lastSeen: string): string {
  const ms = Date.parse(lastSeen);
  return new Date((Number.isNaN(ms) ? 0 : ms) + SUGGESTED_EXPIRY_DAYS * 86_400_000).toISOString().slice(0, 10);
}

/**
 * A `containers:`/`cloud:` list entry written with its terms, as YAML lines at `indent` spaces: `- key:
 * "value"` then owner and reason placeholders and the expiry, for the analyst to fill in.
 */
export function approvalEntryLines(indent: number, key: string, value: string, expires: string): string[] {
  const pad = ' '.repeat(indent);
  return [
    `${pad}- ${key}: ${yamlString(value)}`,
    `${pad}  owner: "<team or person accountable>"`,
    `${pad}  reason: "<why it is approved, with a ticket>"`,
    `${pad}  expires: ${expires}`,
  ];
}

/** The CVE ids a match's rule names (`cve.2021-44228` → `CVE-2021-44228`). */
function cves(c: ContextMatch): string[] {
  return c.tags.filter((t) => /^cve\.\d{4}-\d{1,7}$/.test(t)).map((t) => `CVE-${t.slice(4)}`);
}

/**
 * What the context says of the way in: the Sigma detections of exploitation or initial access on the
 * finding's host (T1190, T1133, web shells, `cve.*` tags), in words, with the matches cited; undefined
 * when there are none.
 */
export function exploitationContext(f: Finding): { answer: string; cited: ContextMatch[] } | undefined {
  const cited = (f.context ?? []).filter((c) => c.reasons.includes('exploitation'));
  if (cited.length === 0) return undefined;
  const said = cited.slice(0, 3).map((c) => {
    const named = cves(c);
    const what = c.facts.command_line ?? c.facts.process ?? c.facts.url ?? c.facts.operation;
    return `${c.relative}: ${clip(c.title, 160)} (rule ${clip(c.rule_id, 64)}, level ${c.level}${named.length ? `, ${named.join(', ')}` : ''}) on ${clip(c.host, 120)}${what ? `: ${clip(what, 160)}` : ''}`;
  });
  const named = [...new Set(cited.flatMap(cves))];
  return {
    answer: `Yes, a detection of exploitation or initial access: ${said.join('; ')}.${named.length ? ` Check whether ${named.slice(0, 4).join(', ')} is patched on ${f.host} and on every other host running the same service.` : ' Find which vulnerability it used (the service version, its advisories) and patch it.'}`,
    cited,
  };
}
