/**
 * The cost of mining measured from Stratum shares (a finding's `shares`), for findings with no CPU
 * sampled: each session's hashrate ÷ the typical rate of one device for its family (coalmine.yaml
 * `hashrates:` first, else `intel/hashrates.csv`) is its equivalents, GPUs for a GPU-mined family and
 * CPU cores for the rest; × its mining time, its GPU-hours or core-hours; × `prices.gpu_hour` or
 * `prices.core_hour`, its cost. The basis says every figure it used.
 */
import type { Cost, Finding } from '../model/finding.js';
import type { Policy } from '../model/policy.js';
import { familyLabel, formatRate } from '../model/shares.js';
import { hashrateRow, pricedCompute, roughCountOf } from '../signals/hashrate.js';

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function duration(minutes: number): string {
  return minutes >= 90 ? `${Math.round(minutes / 6) / 10} h` : `${minutes} min`;
}

/** Core-hours, GPU-hours and cost of the finding's share-measured sessions; a note instead when no family has a rate. */
export function shareCost(f: Finding, policy: Policy): { cost: Cost | null; note?: string } {
  let coreHours = 0;
  let gpuHours = 0;
  let gpuSessions = 0;
  const parts: string[] = [];
  const unpriced: string[] = [];
  for (const s of f.shares ?? []) {
    const row = hashrateRow(s.family, policy.hashrates);
    const priced = pricedCompute(s.hashrate, row);
    if (!row || !priced) {
      unpriced.push(familyLabel(s.family));
      continue;
    }
    const hours = priced.count * (s.mining_minutes / 60);
    const [device, unit] = priced.device === 'gpu' ? ['GPU', 'GPU-hours'] : ['core', 'core-hours'];
    if (priced.device === 'gpu') {
      gpuHours += hours;
      gpuSessions++;
    } else coreHours += hours;
    parts.push(
      `${formatRate(s.hashrate, s.unit)} ${familyLabel(s.family)} to ${s.destination} ÷ ${formatRate(priced.perDevice, s.unit)} a ${device} (${row.from}) ≈ ${roughCountOf(priced.count, device, `${device}s`)} × ${duration(s.mining_minutes)} = ${round2(hours)} ${unit}`,
    );
  }
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
