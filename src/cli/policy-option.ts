/** `--policy FILE` as every reading command takes it: the file given, else ./coalmine.yaml when present. */
import { existsSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { formatRef } from '../model/issue.js';
import { defaultPolicy, type Policy } from '../model/policy.js';
import { loadPolicy } from '../run/policy.js';
import { inert } from '../util/hostile.js';

export interface PolicyChoice {
  policy: Policy;
  /** The file read, when one was. */
  path?: string;
}

/** The policy to run with; undefined (errors already written to stderr) when the file is bad: a usage error. */
export async function policyOption(flag: string | undefined): Promise<PolicyChoice | undefined> {
  const path = flag ?? (existsSync('coalmine.yaml') ? 'coalmine.yaml' : undefined);
  if (!path) return { policy: defaultPolicy() };
  const loaded = await loadPolicy(path);
  if (loaded.errors.length > 0) {
    for (const e of loaded.errors)
      process.stderr.write(`coalmine: ${inert(formatRef(e))}: ${e.code}: ${inert(e.reason)}\n`);
    return undefined;
  }
  return { policy: loaded.policy, path };
}

const PLACEHOLDER_FLAG = /^([A-Za-z0-9_.-]{1,64})=(.{0,4096})$/s;

/**
 * `--sigma-placeholder name=v1,v2` (repeatable), as commander collects it: one Sigma placeholder's values
 * (`%name%` in a rule's `|expand` value), comma-separated; the same name again adds values.
 */
export function collectPlaceholder(value: string, previous: Record<string, string[]> = {}): Record<string, string[]> {
  const m = PLACEHOLDER_FLAG.exec(value);
  const values = m ? m[2].split(',').filter((v) => v !== '') : [];
  if (!m || values.length === 0 || values.length > 1000 || values.some((v) => /[\u0000-\u001f\u007f]/.test(v)))
    throw new InvalidArgumentError('must be name=value[,value…] (a placeholder name and up to 1000 one-line values)');
  return { ...previous, [m[1]]: [...(previous[m[1]] ?? []), ...values] };
}

/** The policy with `--sigma-placeholder` values over coalmine.yaml's `sigma.placeholders` (the flag wins per name). */
export function withPlaceholders(policy: Policy, flags: Record<string, string[]> | undefined): Policy {
  if (!flags || Object.keys(flags).length === 0) return policy;
  return { ...policy, sigma: { placeholders: { ...policy.sigma?.placeholders, ...flags } } };
}
