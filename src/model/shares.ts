/**
 * Shares prove the work: what a Stratum session says about the hashing behind it. A pool accepts a
 * share only for a nonce whose hash meets the target it set, so the expected hashes behind one share
 * are fixed by that target (its difficulty), per algorithm family:
 *   Monero-style (CryptoNight, RandomX): `target` hex, little-endian, 4 bytes → 2^32/t, 8 bytes → 2^64/t
 *   Bitcoin-style Stratum v1: `mining.set_difficulty` d → d × 2^32 (SHA-256d difficulty 1)
 *   Ethereum (EthProxy/getwork): the boundary (256-bit, big-endian) → 2^256/boundary
 *   Equihash (Zcash, `mining.set_target`): the 256-bit target → 2^256/target solutions
 * The session summary (`StratumSession`) is what a reader keeps per session, bounded; the estimate is
 * the rate of a Poisson process: shares ÷ ∫ dt / hashes-per-share(t).
 */

export type StratumDialect = 'v1' | 'monero' | 'ethereum' | 'getwork';

/** Algorithm families the hashrate table (`intel/hashrates.csv`) prices; `unknown` has no figure. */
export type AlgorithmFamily =
  | 'randomx'
  | 'cryptonight'
  | 'cryptonight-lite'
  | 'cryptonight-heavy'
  | 'argon2'
  | 'sha256d'
  | 'ethash'
  | 'equihash'
  | 'kawpow'
  | 'unknown';

const FAMILY_LABEL: Record<AlgorithmFamily, string> = {
  randomx: 'RandomX',
  cryptonight: 'CryptoNight',
  'cryptonight-lite': 'CryptoNight-Lite',
  'cryptonight-heavy': 'CryptoNight-Heavy',
  argon2: 'Argon2',
  sha256d: 'SHA-256d',
  ethash: 'Ethash',
  equihash: 'Equihash',
  kawpow: 'KawPow',
  unknown: 'an unnamed algorithm',
};

/**
 * A family as people write it (`RandomX`, `SHA-256d`, `KawPow`), for evidence, costs and the views; a
 * name that is no family (a finding read from elsewhere) is given back as it is, for the caller to escape.
 */
export function familyLabel(family: string): string {
  return Object.hasOwn(FAMILY_LABEL, family) ? FAMILY_LABEL[family as AlgorithmFamily] : family;
}

/** One slice of a session's time: shares answered in it and the exposure (∫ dt / hashes per share, in s/H). */
export interface ShareBucket {
  startMs: number;
  widthMs: number;
  accepted: number;
  rejected: number;
  exposure: number;
}

/** A difficulty in force from a time on, in expected hashes per share. */
export interface DifficultyChange {
  ms: number;
  hashesPerShare: number;
}

/**
 * A Stratum session as a reader saw it, whole (every message, not the first bytes), bounded: counts
 * and sums, ≤ 16 difficulty changes, ≤ 64 time buckets (they double in width as the session grows).
 */
export interface StratumSession {
  dialect: StratumDialect;
  family: AlgorithmFamily;
  /** Where the family came from: `job algo rx/0`, `subscribe agent EthereumStratum/1.0.0`, `assumed: …`. */
  familyBasis: string;
  /** The algorithm as the session named it (job or login `algo`), clipped. */
  algorithm?: string;
  agent?: string;
  worker?: string;
  /** First and last activity of the session (ms). */
  startMs: number;
  endMs: number;
  /** Time with work in hand (a job or difficulty known) summed over the session's connections. */
  miningMs: number;
  /** TCP connections the session spans (a miner reconnecting to the same pool continues it). */
  connections: number;
  submitted: number;
  accepted: number;
  rejected: number;
  /** ∫ dt / hashes-per-share over the mining time, in seconds per hash: shares ÷ exposure = H/s. */
  exposure: number;
  difficulties: DifficultyChange[];
  /** Difficulty changes past the kept 16. */
  difficultyChangesOmitted: number;
  buckets: ShareBucket[];
  /** True for the session's last report (its connections closed or the input ended). */
  final: boolean;
}

/** A session's hashrate, as evidence and findings carry it. */
export interface HashrateEstimate {
  /** Hashes (or Equihash solutions) per second: accepted ÷ exposure. */
  hs: number;
  /** The 90% interval on it (Poisson bounds on the share count). */
  low: number;
  high: number;
  /** What the unit counts: `H/s`, or `Sol/s` for Equihash. */
  unit: 'H/s' | 'Sol/s';
}

export const MAX_DIFFICULTY_CHANGES = 16;
export const MAX_BUCKETS = 64;

/** `a` hex digits as a non-negative BigInt; undefined for anything else (bounded: ≤ 64 digits). */
function hexValue(hex: string, maxDigits: number): bigint | undefined {
  const h = hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex;
  if (h.length === 0 || h.length > maxDigits || !/^[0-9a-fA-F]+$/.test(h)) return undefined;
  return BigInt(`0x${h}`);
}

const TWO_256 = 1n << 256n;

/** 2^bits ÷ t as a float; undefined for a zero or absurd target. */
function ratio(bits: bigint, t: bigint): number | undefined {
  if (t <= 0n) return undefined;
  // scaled so the quotient keeps ~53 bits whatever the target's size
  const q = bits / t;
  if (q > 1n << 60n) return Number(q);
  const scaled = (bits << 64n) / t;
  return Number(scaled) / 2 ** 64;
}

/**
 * A Monero-style job target: 8 hex digits (4 bytes) or 16 (8 bytes), little-endian. Expected hashes
 * per share = 2^32/t or 2^64/t (XMRig's difficulty).
 */
export function moneroHashesPerShare(target: string): number | undefined {
  if (target.length !== 8 && target.length !== 16) return undefined;
  if (!/^[0-9a-fA-F]+$/.test(target)) return undefined;
  let le = '';
  for (let i = target.length - 2; i >= 0; i -= 2) le += target.slice(i, i + 2);
  const t = BigInt(`0x${le}`);
  return ratio(target.length === 8 ? 1n << 32n : 1n << 64n, t);
}

/** A 256-bit big-endian target or boundary (Ethereum, Equihash `set_target`): 2^256 ÷ target. */
export function targetHashesPerShare(target: string): number | undefined {
  const t = hexValue(target, 64);
  return t === undefined ? undefined : ratio(TWO_256, t);
}

/** Stratum v1 `mining.set_difficulty`: difficulty 1 is 2^32 hashes (SHA-256d; NiceHash's Ethereum Stratum the same). */
export function difficultyHashesPerShare(difficulty: number): number | undefined {
  return Number.isFinite(difficulty) && difficulty > 0 && difficulty < 2 ** 200 ? difficulty * 2 ** 32 : undefined;
}

/** The family of an algorithm name as miners and pools spell it (`rx/0`, `cn/r`, `cryptonight`, `ethash`). */
export function familyOfAlgorithm(name: string): AlgorithmFamily {
  const a = name.toLowerCase();
  if (a.startsWith('rx/') || a.startsWith('randomx') || a === 'rx') return 'randomx';
  if (a.startsWith('cn-lite') || a.startsWith('cn_lite') || a.startsWith('cryptonight-lite')) return 'cryptonight-lite';
  if (a.startsWith('cn-heavy') || a.startsWith('cn_heavy') || a.startsWith('cryptonight-heavy'))
    return 'cryptonight-heavy';
  if (a.startsWith('cn/') || a.startsWith('cn-') || a.startsWith('cryptonight') || a === 'cn') return 'cryptonight';
  if (a.startsWith('argon2')) return 'argon2';
  if (a === 'sha256' || a === 'sha256d' || a === 'sha-256d') return 'sha256d';
  if (a === 'ethash' || a === 'etchash' || a === 'daggerhashimoto') return 'ethash';
  if (a.startsWith('equihash') || a === 'zhash') return 'equihash';
  if (a === 'kawpow' || a === 'progpow') return 'kawpow';
  return 'unknown';
}

/**
 * The family a single-algorithm miner mines, by the agent it names itself with (`mining.subscribe`'s
 * first parameter, a login's `agent`, an HTTP User-Agent); `unknown` for miners of many algorithms
 * (XMRig, SRBMiner, cpuminer: their job or login says) and for anything else.
 */
export function familyOfAgent(agent: string): AlgorithmFamily {
  const a = agent.slice(0, 64).toLowerCase();
  if (a.includes('kawpowminer')) return 'kawpow';
  if (/ethminer|nsfminer|phoenixminer|ethdcrminer|claymore|genoil/.test(a)) return 'ethash';
  if (/nheqminer|equihash|ewbf|zecminer/.test(a)) return 'equihash';
  if (/cgminer|bfgminer|bmminer|bosminer|braiins/.test(a)) return 'sha256d';
  return 'unknown';
}

/** Monero switched from the CryptoNight family to RandomX at block 1,978,433 (2019-11-30). */
export const RANDOMX_SINCE_MS = Date.UTC(2019, 10, 30);

/** The family a Monero-style session mines when it names no algorithm: Monero's own at the time. */
export function moneroFamilyAt(ms: number): { family: AlgorithmFamily; basis: string } {
  return ms < RANDOMX_SINCE_MS
    ? { family: 'cryptonight', basis: "assumed: Monero's CryptoNight (no algorithm named; session before 2019-11-30)" }
    : { family: 'randomx', basis: "assumed: Monero's RandomX (no algorithm named)" };
}

/** Shares ÷ exposure, with the 90% Poisson interval; undefined when no difficulty was ever known. */
export function estimateOf(
  accepted: number,
  exposure: number,
  family: AlgorithmFamily,
  interval: (count: number) => { low: number; high: number },
): HashrateEstimate | undefined {
  if (!(exposure > 0)) return undefined;
  const b = interval(accepted);
  return { hs: accepted / exposure, low: b.low / exposure, high: b.high / exposure, unit: unitOf(family) };
}

export function unitOf(family: AlgorithmFamily): 'H/s' | 'Sol/s' {
  return family === 'equihash' ? 'Sol/s' : 'H/s';
}

/** `3.1 kH/s`, `280 Sol/s`, `1.4 GH/s`: three significant digits at most. */
export function formatRate(value: number, unit: string): string {
  const prefixes = ['', 'k', 'M', 'G', 'T', 'P', 'E'];
  let v = value;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < prefixes.length - 1) {
    v /= 1000;
    i++;
  }
  const shown = v >= 100 ? Math.round(v).toString() : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  return `${shown.replace(/\.0+$|(\.\d*[1-9])0+$/, '$1')} ${prefixes[i]}${unit}`;
}

/** `2.8–3.4 kH/s`, or `900 H/s–1.2 kH/s` when the bounds differ in prefix. */
export function formatRange(low: number, high: number, unit: string): string {
  const a = formatRate(low, unit);
  const b = formatRate(high, unit);
  const suffix = a.slice(a.indexOf(' '));
  return suffix === b.slice(b.indexOf(' ')) ? `${a.slice(0, a.indexOf(' '))}–${b}` : `${a}–${b}`;
}

/**
 * The hashrate facts of one session on a finding: the estimate, what it implies, and its timeline
 * (bucket rates), for triage's cost and the explain/report views.
 */
export interface ShareSessionFacts {
  /** Where the shares went (`pool:port`) and how (`Monero Stratum`). */
  destination: string;
  dialect: StratumDialect;
  family: AlgorithmFamily;
  family_basis: string;
  algorithm?: string;
  worker?: string;
  agent?: string;
  first_seen: string;
  last_seen: string;
  mining_minutes: number;
  connections: number;
  submitted: number;
  accepted: number;
  rejected: number;
  /** H/s (Sol/s for Equihash), with its 90% interval. */
  hashrate: number;
  hashrate_low: number;
  hashrate_high: number;
  unit: 'H/s' | 'Sol/s';
  /** Expected hashes per share over time. */
  difficulty: Array<[string, number]>;
  /** [bucket start (ISO), width in minutes, accepted shares, H/s in the bucket]. */
  timeline: Array<[string, number, number, number]>;
  /** Evidence source (`file#record`) of the session's report. */
  source: string;
}
