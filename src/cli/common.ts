/** What the commands share: exit codes, version, option parsers. */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import type { Severity } from '../model/finding.js';
import { packagePath } from '../util/package-root.js';
import { MAX_DURATION_MS, parseDurationMs } from '../util/time.js';

/** `noInput`: not one input could be read (all missing, empty, unknown formats…); the reasons go to stderr. */
export const EXIT = { ok: 0, findings: 1, usage: 2, runtime: 3, noInput: 4 } as const;

export const VERSION: string = (JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string })
  .version;

export const SEVERITIES: Severity[] = ['informational', 'low', 'medium', 'high', 'critical'];

export function parseSeverity(value: string): Severity {
  const v = value.toLowerCase() as Severity;
  if (!SEVERITIES.includes(v)) throw new InvalidArgumentError(`must be one of ${SEVERITIES.join(', ')}`);
  return v;
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** An option parser for a duration (`90s`, `15m`, or bare seconds) up to `maxMs` (at most a year). */
export function durationOption(maxMs: number, hint: string): (value: string) => number {
  return (value) => {
    const ms = parseDurationMs(/^\d+(\.\d+)?$/.test(value) ? `${value}s` : value);
    if (ms === undefined || ms <= 0 || ms > Math.min(maxMs, MAX_DURATION_MS)) throw new InvalidArgumentError(hint);
    return ms;
  };
}
