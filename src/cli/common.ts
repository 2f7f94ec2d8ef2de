/** What the commands share: exit codes, version, option parsers. */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import type { Severity } from '../model/finding.js';

export const EXIT = { ok: 0, findings: 1, usage: 2, runtime: 3 } as const;

export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export const SEVERITIES: Severity[] = ['informational', 'low', 'medium', 'high', 'critical'];

export function parseSeverity(value: string): Severity {
  const v = value.toLowerCase() as Severity;
  if (!SEVERITIES.includes(v)) throw new InvalidArgumentError(`must be one of ${SEVERITIES.join(', ')}`);
  return v;
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
