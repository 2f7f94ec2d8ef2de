/**
 * Shares prove the work: a Stratum session's accepted shares as resource evidence for the host that
 * sent them. The rate is a Poisson estimate (shares ÷ ∫ dt / hashes-per-share, model/shares.ts) with
 * its 90% interval; what it implies in compute comes from the bundled table of typical per-core and
 * per-GPU hashrates (`intel/hashrates.csv`, read once), overridden per family by `hashrates:` in
 * coalmine.yaml (the classifier context carries them: evidence and triage's cost use the same figure
 * and name it).
 * Accepted shares: medium (strong from 10 on, and only in a session's final report; progress reports
 * are weak, so the final one replaces them as the cited evidence). Rejected-only and share-less
 * sessions hold no resource leg.
 */
import { readFileSync } from 'node:fs';
import { isMap, isScalar, type Node } from 'yaml';
import { type CoalEvent, isoFromMs } from '../model/event.js';
import { formatRef } from '../model/issue.js';
import type { HashrateOverride } from '../model/policy.js';
import {
  type AlgorithmFamily,
  estimateOf,
  familyLabel,
  formatRange,
  formatRate,
  type HashrateEstimate,
  MAX_BUCKETS,
  MAX_DIFFICULTY_CHANGES,
  type ShareSessionFacts,
  type StratumSession,
} from '../model/shares.js';
import type { Signal } from '../model/signal.js';
import { clip } from '../util/hostile.js';
import { packagePath } from '../util/package-root.js';
import { poissonInterval } from '../util/poisson.js';
import { signalFor } from './make.js';
import { endpoint, who } from './network.js';

const BUNDLED = packagePath('intel', 'hashrates.csv');
const MAX_TABLE_BYTES = 64 * 1024;
const MAX_ROWS = 256;
const MAX_BAD = 100;
const MAX_LINE = 512;
const HEADER = 'family,per_core_hs,per_gpu_hs,device,note';
/** No real device does 10^15 H/s (an exahash is a whole network's): bigger figures are mistakes. */
export const MAX_RATE = 1e15;
const FAMILY = /^[a-z0-9][a-z0-9-]{0,31}$/;
/** Accepted shares from which a final report is strong evidence. */
const STRONG_SHARES = 10;

export interface HashrateRow {
  family: string;
  perCore?: number;
  perGpu?: number;
  device: 'cpu' | 'gpu';
  /** Where the figure came from: `hashrates 2026-12-07` or `coalmine.yaml:12`. */
  from: string;
}

export interface HashrateTable {
  /** `hashrates 2026-12-07`: the set and version its header says. */
  name: string;
  rows: Map<string, HashrateRow>;
  bad: Array<{ line: number; reason: string }>;
}

function rate(text: string | undefined): number | undefined | 'bad' {
  if (text === undefined || text === '') return undefined;
  if (!/^\d{1,16}(?:\.\d{1,6})?$/.test(text)) return 'bad';
  const n = Number(text);
  return n > 0 && n <= MAX_RATE ? n : 'bad';
}

/** The table's text → rows; a bad row is reported with its line and left out (in the bundled file, our bug). */
export function parseHashrateTable(text: string): HashrateTable {
  const table: HashrateTable = { name: 'hashrates', rows: new Map(), bad: [] };
  let set = 'hashrates';
  let version = '';
  let header = false;
  const lines = text.slice(0, MAX_TABLE_BYTES).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '').trim();
    const n = i + 1;
    if (line === '') continue;
    if (table.bad.length >= MAX_BAD) {
      table.bad.push({ line: n, reason: `over ${MAX_BAD} bad lines: the rest is not read` });
      break;
    }
    if (line.length > MAX_LINE) {
      table.bad.push({ line: n, reason: `line over ${MAX_LINE} characters` });
      continue;
    }
    if (line.startsWith('#')) {
      const kv = /^#\s*(set|version):\s*(\S.{0,63})$/.exec(line);
      if (kv?.[1] === 'set') set = kv[2].trim();
      else if (kv?.[1] === 'version') version = kv[2].trim();
      continue;
    }
    if (!header) {
      if (line.toLowerCase() === HEADER) header = true;
      else table.bad.push({ line: n, reason: `expected the header "${HEADER}"` });
      continue;
    }
    if (table.rows.size >= MAX_ROWS) {
      table.bad.push({ line: n, reason: `over ${MAX_ROWS} rows: the rest is not read` });
      break;
    }
    const fields = line.split(',');
    const family = fields[0]?.trim().toLowerCase() ?? '';
    const perCore = rate(fields[1]?.trim());
    const perGpu = rate(fields[2]?.trim());
    const device = fields[3]?.trim().toLowerCase();
    if (fields.length < 5) table.bad.push({ line: n, reason: 'expected 5 fields' });
    else if (!FAMILY.test(family)) table.bad.push({ line: n, reason: 'not an algorithm family name' });
    else if (perCore === 'bad' || perGpu === 'bad')
      table.bad.push({ line: n, reason: `a rate must be a number above 0 and at most ${MAX_RATE}` });
    else if (perCore === undefined && perGpu === undefined) table.bad.push({ line: n, reason: 'no rate given' });
    else if (device !== 'cpu' && device !== 'gpu') table.bad.push({ line: n, reason: 'device must be cpu or gpu' });
    else if (table.rows.has(family)) table.bad.push({ line: n, reason: `a second row for ${family}` });
    else table.rows.set(family, { family, perCore, perGpu, device, from: '' });
  }
  table.name = version ? `${set} ${version}` : set;
  for (const row of table.rows.values()) row.from = table.name;
  return table;
}

let bundled: HashrateTable | undefined;

/** The bundled table, read on first use; unreadable, it is an empty table whose `bad` says why. */
export function bundledHashrates(): HashrateTable {
  if (!bundled) {
    try {
      bundled = parseHashrateTable(readFileSync(BUNDLED, 'utf8'));
    } catch (err) {
      bundled = {
        name: 'hashrates',
        rows: new Map(),
        bad: [{ line: 0, reason: `unreadable: ${(err as Error).message}` }],
      };
    }
  }
  return bundled;
}

/** The figure for a family: the override's rates and device where it gives them, else the bundled row's. */
export function hashrateRow(
  family: AlgorithmFamily,
  overrides?: Readonly<Record<string, HashrateOverride>>,
  table: HashrateTable = bundledHashrates(),
): HashrateRow | undefined {
  const base = table.rows.get(family);
  const own = overrides && Object.hasOwn(overrides, family) ? overrides[family] : undefined;
  if (!own) return base;
  const perCore = own.perCore ?? base?.perCore;
  const perGpu = own.perGpu ?? base?.perGpu;
  if (perCore === undefined && perGpu === undefined) return undefined;
  return { family, perCore, perGpu, device: own.device ?? base?.device ?? 'cpu', from: own.ref };
}

/** What a hashrate takes: CPU cores and GPUs of the row's typical rates (undefined where the row has none). */
export function equivalents(hs: number, row: HashrateRow | undefined): { cores?: number; gpus?: number } {
  const out: { cores?: number; gpus?: number } = {};
  if (row?.perCore) out.cores = hs / row.perCore;
  if (row?.perGpu) out.gpus = hs / row.perGpu;
  return out;
}

/** The compute a hashrate is priced as: so many GPUs (GPU-hours) or CPU cores (core-hours), at the row's rate each. */
export interface PricedCompute {
  device: 'cpu' | 'gpu';
  /** GPU-equivalents or core-equivalents. */
  count: number;
  /** The typical rate of one GPU or one core it was divided by. */
  perDevice: number;
}

/**
 * What a session's hashrate is priced as: a GPU family's (the table's `device`, or the override's) in
 * GPU-equivalents, a CPU family's in cores; either by the other's rate when the row has only that one.
 */
export function pricedCompute(hs: number, row: HashrateRow | undefined): PricedCompute | undefined {
  if (!row) return undefined;
  const gpu = row.perGpu !== undefined && (row.device === 'gpu' || row.perCore === undefined);
  if (gpu && row.perGpu) return { device: 'gpu', count: hs / row.perGpu, perDevice: row.perGpu };
  if (row.perCore) return { device: 'cpu', count: hs / row.perCore, perDevice: row.perCore };
  return undefined;
}

/** `4`, `0.3`, `1,200`: two significant digits below 10, whole numbers above. */
export function roughCount(n: number): string {
  if (n >= 10) return Math.round(n).toLocaleString('en-US');
  if (n >= 1) return (Math.round(n * 10) / 10).toString();
  return n.toPrecision(1);
}

/** `1 GPU`, `2.5 GPUs`, `0.4 CPU cores`: a rough count and its noun, singular only for exactly 1. */
export function roughCountOf(n: number, one: string, many: string): string {
  const count = roughCount(n);
  return `${count} ${count === '1' ? one : many}`;
}

/** The session's rate, or undefined when no difficulty was ever known (nothing to weigh shares by). */
export function sessionEstimate(s: StratumSession): HashrateEstimate | undefined {
  return estimateOf(s.accepted, s.exposure, s.family, poissonInterval);
}

/**
 * `~3.1 kH/s RandomX (90%: 2.8–3.4 kH/s) ≈ 6 CPU cores at 500 H/s a core or 2 GPUs at 1.5 kH/s a GPU
 * (hashrates 2026-12-07)`; a GPU family's in GPU-equivalents only (thousands of cores would be no
 * machine anyone runs): `~89 MH/s Ethash (…) ≈ 3 GPU-equivalents at 30 MH/s a GPU (…)`.
 */
export function describeRate(est: HashrateEstimate, family: AlgorithmFamily, row: HashrateRow | undefined): string {
  const label = familyLabel(family);
  const rateText = `~${formatRate(est.hs, est.unit)} ${label} (90%: ${formatRange(est.low, est.high, est.unit)})`;
  const priced = pricedCompute(est.hs, row);
  if (!row || !priced) return `${rateText}; no typical ${label} rate to compare`;
  if (priced.device === 'gpu')
    return `${rateText} ≈ ${roughCountOf(priced.count, 'GPU-equivalent', 'GPU-equivalents')} at ${formatRate(priced.perDevice, est.unit)} a GPU (${row.from})`;
  const parts = [
    `${roughCountOf(priced.count, 'CPU core', 'CPU cores')} at ${formatRate(priced.perDevice, est.unit)} a core`,
  ];
  const eq = equivalents(est.hs, row);
  if (eq.gpus !== undefined && row.perGpu)
    parts.push(`${roughCountOf(eq.gpus, 'GPU', 'GPUs')} at ${formatRate(row.perGpu, est.unit)} a GPU`);
  return `${rateText} ≈ ${parts.join(' or ')} (${row.from})`;
}

function minutes(ms: number): string {
  const m = ms / 60_000;
  return m >= 10 ? `${Math.round(m)} min` : m >= 1 ? `${Math.round(m * 10) / 10} min` : `${Math.round(ms / 1000)} s`;
}

const DIALECT_LABEL: Record<StratumSession['dialect'], string> = {
  v1: 'Stratum',
  monero: 'Monero Stratum',
  ethereum: 'Ethereum Stratum',
  getwork: 'getwork',
};

/**
 * Which session a report is of: the miner's address and the session's first activity. Its progress and
 * final reports share it, and so does the same session read again (the capture given twice); two miners
 * behind one address, or a reconnect after the grace, begin at other times. Not the port: a session's
 * report names its latest connection's (a reconnect within the grace, getwork's connection per request).
 */
function sessionOf(event: CoalEvent, s: StratumSession): string {
  const ip = event.source?.ip;
  return `${typeof ip === 'string' ? clip(ip, 100) : '?'} ${isoFromMs(s.startMs)}`;
}

/**
 * The resource signal a session report gives, if any (classify's part for `coalmine.flow.stratum`);
 * `overrides` are coalmine.yaml's `hashrates:`, the figures triage prices the shares by.
 */
export function hashrateSignal(
  event: CoalEvent,
  out: Signal[],
  overrides?: Readonly<Record<string, HashrateOverride>>,
): void {
  const s = event.coalmine.flow?.stratum;
  if (!s || typeof s !== 'object' || !isSession(s)) return;
  const dst = event.destination;
  const destination = endpoint(dst?.domain ?? dst?.ip ?? '?', dst?.port);
  const answered = s.accepted + s.rejected;
  const over = `over ${minutes(s.miningMs)} of mining time${s.connections > 1 ? ` on ${s.connections} connections` : ''}`;
  const where = `${DIALECT_LABEL[s.dialect] ?? 'Stratum'} to ${destination}`;
  if (s.accepted === 0) {
    if (s.rejected === 0) return; // a login, jobs, no share answered: contact only, which stratum.ts says
    out.push(
      signalFor(event, {
        kind: 'mining-shares',
        class: 'resource',
        strength: 'weak',
        by: 'stratum:shares',
        explanation: `${who(event)}: ${s.rejected} share${s.rejected === 1 ? '' : 's'} submitted, all rejected, ${over} (${where}): no work proven`,
        subject: { destination, session: sessionOf(event, s) },
      }),
    );
    return;
  }
  const est = sessionEstimate(s);
  const rateText = est
    ? describeRate(est, s.family, hashrateRow(s.family, overrides))
    : `no difficulty was seen, so the rate is unknown (${familyLabel(s.family)})`;
  const rejected = s.rejected > 0 ? `, ${s.rejected} rejected` : '';
  const unanswered = s.submitted > answered ? `, ${s.submitted - answered} unanswered` : '';
  const progress = s.final ? '' : 'so far: ';
  const signal = signalFor(event, {
    kind: 'mining-shares',
    class: 'resource',
    strength: !s.final ? 'weak' : s.accepted >= STRONG_SHARES ? 'strong' : 'medium',
    by: 'stratum:shares',
    explanation: `${who(event)}: ${progress}${rateText}, from ${s.accepted} accepted share${s.accepted === 1 ? '' : 's'}${rejected}${unanswered} ${over} (${where}; family ${s.familyBasis})`,
    subject: { destination, session: sessionOf(event, s) },
  });
  if (est) signal.shares = factsOf(s, est, destination, formatRef(event.coalmine.ref));
  out.push(signal);
}

/** Three significant digits: a rate's precision is its interval's, not the float's. */
function sig3(n: number): number {
  return n === 0 || !Number.isFinite(n) ? 0 : Number(n.toPrecision(3));
}

/** The session as a finding carries it: bounded (≤ 16 difficulties, ≤ 64 buckets), strings clipped. */
function factsOf(s: StratumSession, est: HashrateEstimate, destination: string, source: string): ShareSessionFacts {
  const text = (v: unknown) => (typeof v === 'string' ? clip(v, 80) : undefined);
  const facts: ShareSessionFacts = {
    destination: clip(destination, 200),
    dialect: s.dialect,
    family: s.family,
    family_basis: clip(s.familyBasis, 160),
    first_seen: isoFromMs(s.startMs),
    last_seen: isoFromMs(s.endMs),
    mining_minutes: Math.round(s.miningMs / 6000) / 10,
    connections: s.connections,
    submitted: s.submitted,
    accepted: s.accepted,
    rejected: s.rejected,
    hashrate: sig3(est.hs),
    hashrate_low: sig3(est.low),
    hashrate_high: sig3(est.high),
    unit: est.unit,
    difficulty: s.difficulties
      .slice(0, MAX_DIFFICULTY_CHANGES)
      .filter((d) => isMs(d?.ms) && typeof d.hashesPerShare === 'number')
      .map((d) => [isoFromMs(d.ms), sig3(d.hashesPerShare)]),
    timeline: timelineOf(s),
    source,
  };
  const algorithm = text(s.algorithm);
  const worker = text(s.worker);
  const agent = text(s.agent);
  if (algorithm) facts.algorithm = algorithm;
  if (worker) facts.worker = worker;
  if (agent) facts.agent = agent;
  return facts;
}

/**
 * The session's buckets as a finding shows them: [start, minutes, accepted, H/s]. The last one ends with
 * the session, so it is as wide as the time it covers, and one under half a bucket's width (the session
 * ended seconds into it: "+1 min, 0 H/s") is folded into the one before, whose rate it then shares.
 */
function timelineOf(s: StratumSession): ShareSessionFacts['timeline'] {
  const rows = s.buckets
    .slice(0, MAX_BUCKETS)
    .filter(
      (b) =>
        isMs(b?.startMs) &&
        typeof b.widthMs === 'number' &&
        b.widthMs >= 0 &&
        typeof b.accepted === 'number' &&
        typeof b.exposure === 'number',
    )
    .map((b) => ({ startMs: b.startMs, widthMs: b.widthMs, accepted: b.accepted, exposure: b.exposure }));
  const last = rows[rows.length - 1];
  if (last) {
    const covered = Math.max(0, Math.min(last.widthMs, s.endMs - last.startMs));
    const before = rows[rows.length - 2];
    if (before && covered < last.widthMs / 2) {
      before.widthMs += covered;
      before.accepted += last.accepted;
      before.exposure += last.exposure;
      rows.pop();
    } else last.widthMs = covered;
  }
  return rows.map((b) => [
    isoFromMs(b.startMs),
    Math.round(b.widthMs / 6000) / 10,
    b.accepted,
    b.exposure > 0 ? sig3(b.accepted / b.exposure) : 0,
  ]);
}

/** A time a Date holds (±8.64e15 ms). */
function isMs(v: unknown): v is number {
  return typeof v === 'number' && Math.abs(v) <= 8.64e15;
}

/** A session summary as the pcap reader writes it; an NDJSON event claiming one is checked, not trusted. */
function isSession(s: StratumSession): boolean {
  const counts = [s.accepted, s.rejected, s.submitted, s.miningMs, s.exposure, s.connections];
  return (
    counts.every((n) => typeof n === 'number' && Number.isFinite(n) && n >= 0) &&
    isMs(s.startMs) &&
    isMs(s.endMs) &&
    typeof s.family === 'string' &&
    typeof s.dialect === 'string' &&
    typeof s.familyBasis === 'string' &&
    Array.isArray(s.buckets) &&
    Array.isArray(s.difficulties)
  );
}

const MAX_OVERRIDES = 64;

/**
 * `hashrates:` in coalmine.yaml, read beside the table it overrides (run/policy.ts calls it): family →
 * `{ per_core, per_gpu, device }`, rates above 0 and at most 10^15, device `cpu` or `gpu` (what its
 * shares are priced as). A bad entry is reported with its line and left out; the rest still applies.
 */
export function readHashrates(
  node: Node | null,
  err: (n: Node | null | undefined, code: string, reason: string) => void,
  refOf: (n: Node) => string,
): Record<string, HashrateOverride> {
  const out = Object.create(null) as Record<string, HashrateOverride>;
  if (!isMap(node)) {
    err(node, 'POLICY_SHAPE', 'hashrates must be a mapping of algorithm family to { per_core, per_gpu, device }');
    return out;
  }
  if (node.items.length > MAX_OVERRIDES) {
    err(node, 'POLICY_BAD_VALUE', `hashrates has over ${MAX_OVERRIDES} entries`);
    return out;
  }
  for (const pair of node.items) {
    const keyNode = pair.key as Node;
    const family = isScalar(keyNode) && typeof keyNode.value === 'string' ? keyNode.value.toLowerCase() : undefined;
    if (family === undefined || !FAMILY.test(family)) {
      err(
        keyNode,
        'POLICY_BAD_VALUE',
        'hashrates: a key must be an algorithm family (randomx, cryptonight, equihash…)',
      );
      continue;
    }
    const value = pair.value as Node | null;
    if (!isMap(value)) {
      err(value ?? keyNode, 'POLICY_SHAPE', `hashrates.${family} must be a mapping (per_core, per_gpu, device)`);
      continue;
    }
    const entry: HashrateOverride = { ref: refOf(keyNode) };
    let ok = true;
    for (const item of value.items) {
      const name = isScalar(item.key) ? String(item.key.value) : '';
      const v = isScalar(item.value) ? item.value.value : undefined;
      if (name === 'device') {
        if (v === 'cpu' || v === 'gpu') entry.device = v;
        else {
          err(
            (item.value as Node) ?? (item.key as Node),
            'POLICY_BAD_VALUE',
            `hashrates.${family}.device must be cpu or gpu`,
          );
          ok = false;
        }
      } else if (name !== 'per_core' && name !== 'per_gpu') {
        err(
          item.key as Node,
          'POLICY_UNKNOWN_KEY',
          `unknown key "hashrates.${family}.${name.slice(0, 64)}" (known: per_core, per_gpu, device)`,
        );
        ok = false;
      } else if (typeof v !== 'number' || !(v > 0 && v <= MAX_RATE)) {
        err(
          (item.value as Node) ?? (item.key as Node),
          'POLICY_BAD_VALUE',
          `hashrates.${family}.${name} must be a rate above 0 and at most ${MAX_RATE}`,
        );
        ok = false;
      } else if (name === 'per_core') entry.perCore = v;
      else entry.perGpu = v;
    }
    if (ok && (entry.perCore !== undefined || entry.perGpu !== undefined || entry.device !== undefined))
      out[family] = entry;
  }
  return out;
}
