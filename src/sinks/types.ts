/** The sink contract: findings in (already ranked), text out. Sinks import only model and util. */
import type { Case, Finding } from '../model/finding.js';

export interface RenderContext {
  /** Use ANSI colours (only when writing to a terminal). */
  color: boolean;
  /** Product version stamped into formats that carry one (OCSF metadata). */
  version: string;
  /** The run's cases (findings grouped into incidents), for sinks that report incidents. */
  cases?: Case[];
}

export interface Sink {
  name: string;
  summary: string;
  render(findings: Finding[], context: RenderContext): string;
}
