/**
 * The cost of mining measured from Stratum shares (a finding's `shares`), for findings with no CPU
 * sampled, and for GPU-mined families on top of a CPU-sampled cost (`withGpuShares`): each session's
 * hashrate ÷ the typical rate of one device for its family (coalmine.yaml `hashrates:` first, else
 * `intel/hashrates.csv`) is its equivalents, GPUs for a GPU-mined family and CPU cores for the rest;
 * × its mining time, its GPU-hours or core-hours; × `prices.gpu_hour` or `prices.core_hour`, its cost.
 * The basis says every figure it used.
 */

import type { Cost, Finding } from '../model/finding.js';
import type { Policy } from '../model/policy.js';
import { familyLabel, formatRate } from '../model/shares.js';
import { hashrateRow, pricedCompute, roughCountOf } from '../signals/hashrate.js';
import { round2 } from '../util/number.js';

function duration(minutes: number): string {
  return minutes >= 90 ? `${Math.round(minutes / 6) / 10} h` : `${minutes} min`;
}

interface PricedSessions {
  coreHours: number;
  gpuHours: number;
  gpuSessions: number;
  /** Each priced session's arithmetic, as the basis says it. */
  parts: string[];
  /** Families with no typical rate. */
  unpriced: string[];
}

/** The finding's share-measured sessions priced by device; `gpuOnly` leaves CPU-mined families out. */
function pricedSessions(f: Finding, policy: Policy, gpuOnly: boolean): PricedSessions {
  const out: PricedSessions = { coreHours: 0, gpuHours: 0, gpuSessions: 0, parts: [], unpriced: [] };
  for (const s of f.shares ?? []) {
    const row = hashrateRow(s.family, policy.hashrates);
    const priced = pricedCompute(s.hashrate, row);
    if (!row || !priced) {
      if (!gpuOnly) out.unpriced.push(familyLabel(s.family));
      continue;
    }
    if (gpuOnly && priced.device !== 'gpu') continue;
    const hours = priced.count * (s.mining_minutes / 60);
    const [device, unit] = priced.device === 'gpu' ? ['GPU', 'GPU-hours'] : ['core', 'core-hours'];
    if (priced.device === 'gpu') {
      out.gpuHours += hours;
      out.gpuSessions++;
    } else out.coreHours += hours;
    out.parts.push(
      `${formatRate(s.hashrate, s.unit)} ${familyLabel(s.family)} to ${s.destination} ÷ ${formatRate(priced.perDevice, s.unit)} a ${device} (${row.from}) ≈ ${roughCountOf(priced.count, device, `${device}s`)} × ${duration(s.mining_minutes)} = ${round2(hours)} ${unit}`,
    );
  }
  return out;
}

/** Core-hours, GPU-hours and cost of the finding's share-measured sessions; a note instead when no family has a rate. */
export function shareCost(f: Finding, policy: Policy): { cost: Cost | null; note?: string } {
  const { coreHours, gpuHours, gpuSessions, parts, unpriced } = pricedSessions(f, policy, false);
  const skipped = [...new Set(unpriced)].join(', ');
  if (parts.length === 0)
    return {
      cost: null,
      note: `no typical rate for ${skipped}: set hashrates.<family>.per_core (or per_gpu) in coalmine.yaml to price its shares`,
    };
  const { coreHour, gpuHour, currency } = policy.prices;
  return {
    cost: {
      core_hours: round2(coreHours),
      price_per_core_hour: coreHour,
      ...(gpuSessions > 0 ? { gpu_hours: round2(gpuHours), price_per_gpu_hour: gpuHour } : {}),
      currency,
      amount: round2(coreHours * coreHour + gpuHours * gpuHour),
      basis: `from Stratum shares, no CPU sampled: ${parts.join('; ')}${unpriced.length > 0 ? ` (not priced: ${skipped}, no typical rate)` : ''}`,
    },
  };
}

/**
 * A CPU-sampled cost with the finding's GPU-mined sessions added: CPU samples do not see what GPUs
 * spend, so those sessions' GPU-hours (from their shares) are priced on top; CPU-mined sessions are
 * what the samples already measured, and are not counted twice. Unchanged when no session is GPU-mined.
 */
export function withGpuShares(cost: Cost | null, f: Finding, policy: Policy): Cost | null {
  if (!cost || !f.shares || f.shares.length === 0) return cost;
  const { gpuHours, gpuSessions, parts } = pricedSessions(f, policy, true);
  if (gpuSessions === 0) return cost;
  const gpuHour = policy.prices.gpuHour;
  return {
    ...cost,
    gpu_hours: round2((cost.gpu_hours ?? 0) + gpuHours),
    price_per_gpu_hour: gpuHour,
    amount: round2(cost.amount + gpuHours * gpuHour),
    basis: `${cost.basis}; plus GPUs, which CPU samples do not see, from Stratum shares: ${parts.join('; ')}`,
  };
}
