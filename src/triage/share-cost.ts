/**
 * The cost of mining measured from Stratum shares (a finding's `shares`), for findings with no CPU
 * sampled: each session's hashrate ÷ the typical rate of one core for its family (coalmine.yaml
 * `hashrates:` first, else `intel/hashrates.csv`) is its core-equivalents; × its mining time, its
 * core-hours; × `prices.core_hour`, its cost. The basis says every figure it used.
 */
import type { Cost, Finding } from '../model/finding.js';
import type { Policy } from '../model/policy.js';
import { formatRate } from '../model/shares.js';
import { equivalents, familyLabel, hashrateRow, roughCount } from '../signals/hashrate.js';

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function duration(minutes: number): string {
  return minutes >= 90 ? `${Math.round(minutes / 6) / 10} h` : `${minutes} min`;
}

/** Core-hours and cost of the finding's share-measured sessions; a note instead when no family has a per-core rate. */
export function shareCost(f: Finding, policy: Policy): { cost: Cost | null; note?: string } {
  let coreHours = 0;
  const parts: string[] = [];
  const unpriced: string[] = [];
  for (const s of f.shares ?? []) {
    const row = hashrateRow(s.family, policy.hashrates);
    const eq = equivalents(s.hashrate, row);
    if (!row?.perCore || eq.cores === undefined) {
      unpriced.push(familyLabel(s.family));
      continue;
    }
    const hours = eq.cores * (s.mining_minutes / 60);
    coreHours += hours;
    const gpu =
      row.device === 'gpu' && eq.gpus !== undefined
        ? `; usually GPU-mined: ≈ ${roughCount(eq.gpus)} GPUs at ${formatRate(row.perGpu ?? 0, s.unit)}`
        : '';
    parts.push(
      `${formatRate(s.hashrate, s.unit)} ${familyLabel(s.family)} to ${s.destination} ÷ ${formatRate(row.perCore, s.unit)} a core (${row.from}) ≈ ${roughCount(eq.cores)} cores × ${duration(s.mining_minutes)} = ${round2(hours)} core-hours${gpu}`,
    );
  }
  if (parts.length === 0)
    return {
      cost: null,
      note: `no typical per-core rate for ${[...new Set(unpriced)].join(', ')}: set hashrates.<family>.per_core in coalmine.yaml to price its shares`,
    };
  const price = policy.prices.coreHour;
  const skipped = unpriced.length > 0 ? ` (not priced: ${[...new Set(unpriced)].join(', ')}, no per-core rate)` : '';
  return {
    cost: {
      core_hours: round2(coreHours),
      price_per_core_hour: price,
      currency: policy.prices.currency,
      amount: round2(coreHours * price),
      basis: `from Stratum shares, no CPU sampled: ${parts.join('; ')}${skipped}`,
    },
  };
}
