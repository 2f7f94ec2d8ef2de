/** The pieces every playbook answer is built from (playbook.ts for hosts and workloads, cloud-playbook.ts for launches). */
import type { Evidence, Question } from '../model/finding.js';

/** Days an allowlist suggestion is valid for: long enough to matter, short enough to be re-reviewed. */
export const SUGGESTED_EXPIRY_DAYS = 90;

/** The evidence sources (`file:line`) an answer cites, at most `max`. */
export function sources(evidence: Evidence[], max = 6): string[] {
  return [...new Set(evidence.map((e) => e.source))].slice(0, max);
}

export function strong(e: Evidence): boolean {
  return e.strength !== 'weak';
}

/** Answered from the evidence when some is given, else a question for the analyst with what to look at. */
export function question(id: Question['id'], text: string, answer: string, evidence: Evidence[] | undefined): Question {
  return evidence
    ? { id, question: text, status: 'answered', answer, evidence: sources(evidence) }
    : { id, question: text, status: 'needs-analyst', answer, evidence: [] };
}

/** YAML scalars as JSON strings: always valid YAML, whatever the value holds. */
export function yamlString(value: string): string {
  return JSON.stringify(value);
}
