/**
 * Test-only: a finding's cost as triage prices a GPU-mined session measured from Stratum shares (Ethash
 * ≈ 2.5 GPU-equivalents for 30 min at the default 0.50 a GPU-hour), for the views and totals that show it.
 */
import type { Cost } from '../../src/model/finding.js';

export function gpuCost(over: Partial<Cost> = {}): Cost {
  return {
    core_hours: 0,
    price_per_core_hour: 0.05,
    gpu_hours: 1.26,
    price_per_gpu_hour: 0.5,
    currency: 'USD',
    amount: 0.63,
    basis: 'from Stratum shares, no CPU sampled: …',
    ...over,
  };
}
