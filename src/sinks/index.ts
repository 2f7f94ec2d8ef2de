/** The sinks, one line each. */
import { explain } from './explain.js';
import { ndjson } from './ndjson.js';
import { ocsf, ocsfIncident } from './ocsf.js';
import { table } from './table.js';
import type { Sink } from './types.js';

export const sinks: Sink[] = [table, ndjson, ocsf, ocsfIncident, explain];

export function sinkNamed(name: string): Sink | undefined {
  return sinks.find((s) => s.name === name);
}
