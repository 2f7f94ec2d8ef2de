/** A hunt's executive summary (`coalmine report`): the run's findings, cases, totals and coverage summed up by triage. */
import type { ExecutiveSummary } from '../model/executive.js';
import { executiveSummary } from '../triage/executive.js';
import type { HuntResult } from './hunt.js';
import { badInputTotal } from './summary.js';

export function executiveReport(result: HuntResult): ExecutiveSummary {
  const s = result.summary;
  return executiveSummary(result.findings, result.cases, { ...s, badInput: badInputTotal(s) }, result.coverage);
}
