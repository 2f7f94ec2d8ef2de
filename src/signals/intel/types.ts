/**
 * The nouns of intel: indicator kinds and how much each proves by default, a match and the set it came
 * from, the `Intel` lookups the classifiers use, and what a parser returns. The loaders (list, STIX,
 * Zeek) and the store depend on this file; it depends on none of them.
 */
import type { Strength } from '../../model/signal.js';

export type IndicatorKind =
  | 'pool-domain'
  | 'pool-ip'
  | 'mining-port'
  | 'miner-name'
  | 'miner-hash'
  | 'proxyware-name'
  | 'proxyware-domain'
  | 'proxyware-image'
  | 'miner-image'
  | 'wallet'
  /** Sites that echo the caller's address or headers: proxy resellers test each relay with them. */
  | 'proxy-checker'
  /**
   * Names of rival campaigns' processes (miners, loaders, watchdogs) that kill scripts aim at: a kill of
   * one is a competitor kill. Not a miner name: some (kswapd0) are also real kernel threads' names.
   */
  | 'rival-name'
  /**
   * A proxyware client's own start-up options (`-accept-tos`, `start accept --token=`): words in order,
   * each a whole word of the command line; a last word ending in `=` must be followed by its value.
   */
  | 'proxyware-flag';

export interface IntelMatch {
  kind: IndicatorKind;
  indicator: string;
  set: string;
  strength: Strength;
  note?: string;
  /** The set it came from (shared by all its matches): where the list came from and its stated version. */
  about?: IntelSetInfo;
}

export interface IntelSetInfo {
  name: string;
  kind: IndicatorKind | 'mixed';
  source: string;
  /** The feed's own version or date when it states one (STIX: newest `modified`, a `# version:` header). */
  version?: string;
  /** Where the feed is published (a bundled list's `# url:` header), so a match can be traced to its origin. */
  url?: string;
  /** The feed's licence when the list states one (`# license:`). */
  license?: string;
  /** When the file was last changed (user files), so "since when" has an answer when no version is stated. */
  modified?: string;
  count: number;
}

export interface Intel {
  /** Pool and proxyware domains: suffix match on label boundaries, case-insensitive, trailing dot ignored. */
  domain(name: string): IntelMatch | undefined;
  /**
   * Proxy-checker sites (same suffix match as `domain`). Kept apart from `domain` on purpose: ordinary
   * scripts call them too, so code that treats any `domain` hit as a pool or proxyware never sees them.
   */
  proxyChecker(name: string): IntelMatch | undefined;
  /** Exact IPv4/IPv6 addresses and CIDR ranges. */
  ip(ip: string): IntelMatch | undefined;
  /** Mining ports: always weak evidence. */
  port(port: number): IntelMatch | undefined;
  /** Miner and proxyware executable base names (case-insensitive, trailing .exe ignored). */
  processName(name: string): IntelMatch | undefined;
  /** Rival campaigns' process names a kill may aim at (exact, case-insensitive); kept apart from `processName`. */
  rivalName(name: string): IntelMatch | undefined;
  /** The first proxyware client option sequence a command line carries, in the order the sets list them. */
  proxywareFlag(command: string): IntelMatch | undefined;
  /** SHA-256, SHA-1 or MD5 of a miner binary. */
  hash(hex: string): IntelMatch | undefined;
  /** Container images by repository (registry host, tag and digest ignored). */
  image(ref: string): IntelMatch | undefined;
  /** The first cryptocurrency wallet address in a text (see `findWallet`). */
  wallet(text: string): IntelMatch | undefined;
  sets(): IntelSetInfo[];
}

export const INDICATOR_KINDS: readonly IndicatorKind[] = [
  'pool-domain',
  'pool-ip',
  'mining-port',
  'miner-name',
  'miner-hash',
  'proxyware-name',
  'proxyware-domain',
  'proxyware-image',
  'miner-image',
  'wallet',
  'proxy-checker',
  'rival-name',
  'proxyware-flag',
];

/**
 * How much one indicator of each kind proves when a list does not say: names of pools, binaries and
 * images are specific; addresses rotate and sit behind shared hosting; ports are shared with
 * ordinary services.
 */
export const DEFAULT_STRENGTH: Record<IndicatorKind, Strength> = {
  'pool-domain': 'strong',
  'pool-ip': 'medium',
  'mining-port': 'weak',
  'miner-name': 'strong',
  'miner-hash': 'strong',
  'proxyware-name': 'strong',
  'proxyware-domain': 'strong',
  'proxyware-image': 'strong',
  'miner-image': 'strong',
  wallet: 'strong',
  'proxy-checker': 'weak',
  'rival-name': 'strong',
  'proxyware-flag': 'strong',
};

/** Longest line we look at in an intel file; real indicators are far shorter. */
export const MAX_INTEL_LINE_CHARS = 4096;

export interface IntelEntry {
  kind: IndicatorKind;
  value: string;
  strength: Strength;
  note?: string;
  line: number;
}

export interface BadLine {
  line: number;
  reason: string;
}

export interface ParsedIntel {
  /** `bundled` for our own lists; the detected format for user files. */
  format: 'bundled' | 'csv' | 'hosts' | 'list' | 'stix' | 'zeek-intel';
  /** From `# set:` / `# kind:` / `# source:` headers (bundled lists only). */
  set?: string;
  kind?: IndicatorKind | 'mixed';
  source?: string;
  /** What the feed says its version is (a STIX bundle's newest `modified`). */
  version?: string;
  /** `# url:` and `# license:` headers (bundled lists only): where the feed is published and under what terms. */
  url?: string;
  license?: string;
  entries: IntelEntry[];
  bad: BadLine[];
}
