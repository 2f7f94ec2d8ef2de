/**
 * Suppression by the policy's allowlist. A suppressed finding is still reported, with the entry
 * that suppressed it; nothing is dropped. Expiry is judged against the finding's last_seen (event
 * time), so re-running the same logs gives the same answer; an expired entry does not suppress and
 * the finding says so. A host entry names its host however the logs spell it: the engine names a
 * finding's host by its display name (engine/host-names.ts), and an entry's plain host name is compared
 * with the display name the engine gives it (the policy's allowlist hosts seed the engine's names
 * first, in this order, so the allowlist alone tells which); a glob is matched ignoring case.
 */

import { allowlistHostSpellings, HostNames } from '../engine/host-names.js';
import type { Finding } from '../model/finding.js';
import type { AllowlistEntry, AllowlistField } from '../model/policy.js';
import { compileGlob, type GlobMatcher } from '../util/glob.js';

interface CompiledEntry {
  entry: AllowlistEntry;
  matchers: Array<[AllowlistField, GlobMatcher]>;
  expiresMs: number;
}

const FACT_OF: Record<AllowlistField, string> = {
  executable: 'executable',
  hash: 'sha256',
  host: 'host',
  user: 'user',
  command: 'command_line',
};

/**
 * The host name an entry's `match.host` stands for, as the engine names that host: a plain name the
 * display name its spellings join under (the policy seeds the engine's names in this order), a glob as
 * written. Coverage (run/coverage.ts) judges authorization by the same names.
 */
export function allowlistHostPatterns(entries: readonly AllowlistEntry[]): Array<string | undefined> {
  const names = new HostNames();
  const displayOf = new Map<string, string>();
  for (const host of allowlistHostSpellings(entries)) displayOf.set(host, names.seed(host));
  return entries.map((e) => (e.match.host === undefined ? undefined : (displayOf.get(e.match.host) ?? e.match.host)));
}

export class Allowlist {
  private readonly entries: CompiledEntry[];

  constructor(entries: AllowlistEntry[]) {
    const hosts = allowlistHostPatterns(entries);
    this.entries = entries.map((entry, i) => ({
      entry,
      matchers: (Object.entries(entry.match) as Array<[AllowlistField, string]>).map(([field, pattern]) => [
        field,
        compileGlob(field === 'host' ? (hosts[i] ?? pattern) : pattern, field === 'hash' || field === 'host'),
      ]),
      // an expiry date means "through that day"
      expiresMs: Date.parse(entry.expires) + (entry.expires.length <= 10 ? 86_400_000 - 1 : 0),
    }));
  }

  /** Set `suppressed_by` when an unexpired entry matches; note an expired one that would have. */
  apply(finding: Finding): Finding {
    const lastSeen = Date.parse(finding.last_seen);
    for (const c of this.entries) {
      if (c.entry.analytics.length > 0 && !c.entry.analytics.includes(finding.analytic)) continue;
      if (c.matchers.length === 0) continue;
      const matched = c.matchers.every(([field, match]) => {
        const value = finding.facts[FACT_OF[field]];
        return typeof value === 'string' && match(value);
      });
      if (!matched) continue;
      if (lastSeen > c.expiresMs) {
        finding.gaps.push(
          `allowlist entry ${c.entry.ref} (owner ${c.entry.owner}) matched but expired on ${c.entry.expires}`,
        );
        continue;
      }
      finding.suppressed_by = {
        list: c.entry.ref,
        match: c.matchers.map(([f]) => `${f}=${c.entry.match[f]}`).join(' '),
        owner: c.entry.owner,
        reason: c.entry.reason,
        expires: c.entry.expires,
      };
      return finding;
    }
    return finding;
  }
}
