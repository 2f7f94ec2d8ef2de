/**
 * Grading shared by all analytics (PRODUCT.md §5): all three legs → high, two → medium, one strong
 * mining-specific signal alone → low with the missing telemetry named. Weak evidence is shown but
 * never makes a leg.
 */

import type { Severity } from '../model/finding.js';
import { type Signal, type SignalKind, STRENGTH_RANK, type Strength } from '../model/signal.js';
import { round2 } from '../util/number.js';

export interface Leg {
  name: string;
  signals: Signal[];
  holds: boolean;
}

export function strongest(signals: Signal[]): Strength | undefined {
  let best: Strength | undefined;
  for (const s of signals) if (!best || STRENGTH_RANK[s.strength] > STRENGTH_RANK[best]) best = s.strength;
  return best;
}

export function atLeast(signals: Signal[], min: Strength): Signal[] {
  return signals.filter((s) => STRENGTH_RANK[s.strength] >= STRENGTH_RANK[min]);
}

export function leg(name: string, signals: Signal[], holds?: boolean): Leg {
  return { name, signals, holds: holds ?? atLeast(signals, 'medium').length > 0 };
}

/** Signal kinds specific enough to mining/proxyjacking that one strong instance is a (low) finding. */
const SINGLE_SIGNAL_KINDS = new Set<SignalKind>([
  'miner-process',
  'pool-contact',
  'proxyware-process',
  'proxyware-endpoint',
  'proxy-relay',
  'competitor-kill',
  'mining-shares',
]);

export function gradeSeverity(legs: Leg[], evidence: Signal[]): Severity | undefined {
  const held = legs.filter((l) => l.holds).length;
  if (held >= 3) return 'high';
  if (held === 2) return 'medium';
  if (evidence.some((s) => s.strength === 'strong' && SINGLE_SIGNAL_KINDS.has(s.kind))) return 'low';
  return undefined;
}

/**
 * 0..1: how sure we are this is hijacking. Legs held carry most of it; independent strong evidence
 * kinds add a little; each named telemetry gap takes some away, since the missing part might have
 * told us otherwise.
 */
export function confidenceOf(legs: Leg[], evidence: Signal[], gapCount: number): number {
  const held = legs.filter((l) => l.holds).length;
  const base = held >= 3 ? 0.85 : held === 2 ? 0.65 : 0.4;
  const strongKinds = new Set(evidence.filter((s) => s.strength === 'strong').map((s) => s.kind)).size;
  const value = base + Math.min(0.12, 0.03 * strongKinds) - 0.08 * gapCount;
  return round2(Math.min(0.99, Math.max(0.05, value)));
}
