/** `--policy FILE` as every reading command takes it: the file given, else ./coalmine.yaml when present. */
import { existsSync } from 'node:fs';
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
