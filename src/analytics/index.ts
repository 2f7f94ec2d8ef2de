/**
 * The analytics, one line each, and the detector that runs them over the engine's closed clusters.
 */
import { Engine, type EngineOptions } from '../engine/index.js';
import type { CoalEvent } from '../model/event.js';
import type { Finding } from '../model/finding.js';
import { type Policy, thresholdsFor } from '../model/policy.js';
import type { Signal } from '../model/signal.js';
import { an0741Windows } from './an0741-windows.js';
import { an0742Linux } from './an0742-linux.js';
import { cryptoNode } from './crypto-node.js';
import { toFinding } from './finding.js';
import type { Analytic } from './types.js';

export const analytics: Analytic[] = [an0741Windows, an0742Linux, cryptoNode];

export interface DetectorOptions extends Omit<EngineOptions, 'onClose' | 'classify'> {
  policy: Policy;
  classify: (event: CoalEvent, out: Signal[]) => void;
  onFinding: (finding: Finding) => void;
  analytics?: Analytic[];
}

/** An engine whose closed clusters are graded by every analytic that applies to the host's platform. */
export function createDetector(options: DetectorOptions): Engine {
  const list = options.analytics ?? analytics;
  const hijacking = list.filter((a) => !a.onlyWhenNoOther);
  return new Engine({
    ...options,
    // the first hijacking analytic for the platform owns its resource thresholds (AN0741 on Windows, AN0742 else)
    thresholdsForPlatform: (platform) => {
      const owner =
        hijacking.find((a) => a.platforms.includes(platform)) ?? hijacking.find((a) => a.platforms.includes('unknown'));
      return owner ? thresholdsFor(options.policy, owner.id) : options.policy.thresholds;
    },
    onClose: (view) => {
      const platform = view.host.platform ?? 'unknown';
      let found = false;
      for (const analytic of list) {
        if (!analytic.platforms.includes(platform) && !analytic.platforms.includes('*')) continue;
        if (analytic.onlyWhenNoOther && found) continue;
        const draft = analytic.evaluate(view, thresholdsFor(options.policy, analytic.id));
        if (!draft) continue;
        found = true;
        options.onFinding(toFinding(draft, view.host.name));
      }
    },
  });
}
