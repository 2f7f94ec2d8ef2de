/**
 * The analytics, one line each, and the detector that runs them over the engine's closed clusters.
 */
import { type ClusterView, Engine, type EngineOptions, type LaunchView, type WorkloadView } from '../engine/index.js';
import type { CoalEvent } from '../model/event.js';
import { type Finding, SEVERITY_RANK } from '../model/finding.js';
import { type Policy, thresholdsFor } from '../model/policy.js';
import type { Signal } from '../model/signal.js';
import { isEntryCommand } from '../signals/persistence.js';
import { an0741Windows } from './an0741-windows.js';
import { an0742Linux } from './an0742-linux.js';
import { an0744Cloud } from './an0744-cloud.js';
import { an0745Containers } from './an0745-containers.js';
import { cryptoNode } from './crypto-node.js';
import { toFinding } from './finding.js';
import type { Analytic, FindingDraft, LaunchAnalytic, WorkloadAnalytic } from './types.js';

export const analytics: Analytic[] = [an0741Windows, an0742Linux, cryptoNode];
/** Analytics over workloads (container → pod → workload): evidence inside containers is theirs, not a host's. */
export const workloadAnalytics: WorkloadAnalytic[] = [an0745Containers];
/** Analytics over cloud launches (account → region → instance): evidence of an instance is its launch's. */
export const launchAnalytics: LaunchAnalytic[] = [an0744Cloud];

export interface DetectorOptions
  extends Omit<
    EngineOptions,
    'onClose' | 'onUpdate' | 'onWorkloadClose' | 'onWorkloadUpdate' | 'onLaunchClose' | 'classify'
  > {
  policy: Policy;
  classify: (event: CoalEvent, out: Signal[]) => void;
  /** `revision` counts reports of the same finding id: 1 first, higher when a live update raised it. */
  onFinding: (finding: Finding, revision: number) => void;
  analytics?: Analytic[];
  workloadAnalytics?: WorkloadAnalytic[];
  /**
   * Live clock (`watch`): grade open clusters on every `tick` and report a finding as soon as it
   * holds, then again (same id, next revision) only when its severity rises, a leg is added or a new
   * kind of evidence joins it (pool contact, a kill).
   */
  live?: boolean;
  /**
   * What was last reported per finding id (live): the detector's only state outside its engine, made by a
   * caller that checkpoints the detector (run/live.ts) and kept with the engine's.
   */
  reports?: Map<string, ReportedFinding>;
}

/** What was last reported for a finding id, so a live update is reported only when it says more. */
export interface ReportedFinding {
  revision: number;
  severity: number;
  legs: number;
  kinds: number;
}

const MAX_REPORTED = 100_000;

/** Persistence entries (their source lines) a process's finding carried, remembered up to this many. */
const MAX_CLAIMED_ENTRIES = 65_536;

/** A source line as a key: a persistence entry's, which the evidence of what it will run shares. */
const refKey = (s: Signal) => `${s.ref.file}\u0000${s.ref.line ?? ''}\u0000${s.ref.record ?? ''}`;

/** What a process's finding already reported, which a host-level finding must not report again. */
interface Claimed {
  shares: WeakSet<Signal>;
  entries: Set<string>;
}

/**
 * A host-level view without the `mining-shares` evidence a process's finding already reported, nor what a
 * persistence entry it carried will run (the entry's own signal stays, as it always did).
 */
function withoutClaimed(view: ClusterView, claimed: Claimed): ClusterView {
  const gone = (s: Signal) => claimed.shares.has(s) || (isEntryCommand(s) && claimed.entries.has(refKey(s)));
  if (!view.evidence.some(gone)) return view;
  return { ...view, evidence: view.evidence.filter((s) => !gone(s)) };
}

/**
 * When the unit's evidence first made a finding at all, in event time: the earliest evidence time t at
 * which the analytic, given only the evidence up to t, reports the unit — the moment a live sensor would
 * have alerted (time to detect is it less the first evidence's time; a later rise in severity is the same
 * alert's next revision). More evidence only adds legs, so a binary search over the distinct evidence
 * times finds it in a few evaluations; the last time is the answer when no earlier one holds.
 */
export function detectedTs<V extends { evidence: Signal[] }>(
  view: V,
  draft: FindingDraft,
  evaluate: (view: V) => FindingDraft | undefined,
): number {
  const times = [...new Set(draft.evidence.map((s) => s.ts))].sort((a, b) => a - b);
  const holdsAt = (t: number) => evaluate({ ...view, evidence: view.evidence.filter((s) => s.ts <= t) }) !== undefined;
  let lo = 0;
  let hi = times.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (holdsAt(times[mid])) hi = mid;
    else lo = mid + 1;
  }
  return times[hi] ?? Number.NaN;
}

/** An engine whose clusters are graded by every analytic that applies to the host's platform. */
export function createDetector(options: DetectorOptions): Engine {
  const list = options.analytics ?? analytics;
  const hijacking = list.filter((a) => !a.onlyWhenNoOther);
  const reported = options.reports ?? new Map<string, ReportedFinding>();
  /** Report a graded finding: at once in hunt; live, only when it says more than its last report. */
  const report = (draft: FindingDraft, host: string) => {
    const finding = toFinding(draft, host);
    if (!options.live) {
      options.onFinding(finding, 1);
      return;
    }
    const before = reported.get(finding.id);
    const now = {
      severity: SEVERITY_RANK[finding.severity],
      legs: finding.legs.length,
      kinds: new Set(finding.evidence.map((e) => e.kind)).size,
    };
    if (before && now.severity <= before.severity && now.legs <= before.legs && now.kinds <= before.kinds) return;
    const revision = (before?.revision ?? 0) + 1;
    if (reported.size >= MAX_REPORTED) reported.delete(reported.keys().next().value as string);
    reported.set(finding.id, { revision, ...now });
    options.onFinding(finding, revision);
  };
  const workloadList = options.workloadAnalytics ?? workloadAnalytics;
  const gradeWorkload = (view: WorkloadView) => {
    for (const analytic of workloadList) {
      const thresholds = thresholdsFor(options.policy, analytic.id);
      const draft = analytic.evaluate(view, thresholds);
      if (!draft) continue;
      draft.detectedTs = detectedTs(view, draft, (v) => analytic.evaluate(v, thresholds));
      report(draft, typeof draft.facts.host === 'string' ? draft.facts.host : view.workload.cluster);
    }
  };
  const gradeLaunch = (view: LaunchView) => {
    for (const analytic of launchAnalytics) {
      const thresholds = thresholdsFor(options.policy, analytic.id);
      const draft = analytic.evaluate(view, thresholds);
      if (!draft) continue;
      draft.detectedTs = detectedTs(view, draft, (v) => analytic.evaluate(v, thresholds));
      report(draft, typeof draft.facts.host === 'string' ? draft.facts.host : view.launch.provider);
    }
  };
  // shares a process's finding already carries (its host's capture joined it) are not the host-level
  // cluster's to report again: the hashing would be counted, and priced, twice. Nor is what a persistence
  // entry it carries will run (the exec of the entry's target joined it): the host would get a second
  // finding for the one entry
  const claimed: Claimed = { shares: new WeakSet(), entries: new Set() };
  const grade = (clusterView: ClusterView, closing: boolean) => {
    const view = clusterView.cluster.isHostLevel ? withoutClaimed(clusterView, claimed) : clusterView;
    const platform = view.host.platform ?? 'unknown';
    let found = false;
    for (const analytic of list) {
      if (!analytic.platforms.includes(platform) && !analytic.platforms.includes('*')) continue;
      if (analytic.onlyWhenNoOther && found) continue;
      const thresholds = thresholdsFor(options.policy, analytic.id);
      const draft = analytic.evaluate(view, thresholds);
      if (!draft) continue;
      found = true;
      // an informational finding on an open cluster may yet be displaced by a hijacking one: wait for close
      if (!closing && analytic.onlyWhenNoOther) continue;
      if (!view.cluster.isHostLevel)
        for (const s of draft.evidence) {
          if (s.kind === 'mining-shares') claimed.shares.add(s);
          else if (s.class === 'persistence') {
            if (claimed.entries.size >= MAX_CLAIMED_ENTRIES)
              claimed.entries.delete(claimed.entries.values().next().value as string);
            claimed.entries.add(refKey(s));
          }
        }
      draft.detectedTs = detectedTs(view, draft, (v) => analytic.evaluate(v, thresholds));
      report(draft, view.host.name);
    }
  };
  return new Engine({
    ...options,
    // the first hijacking analytic for the platform owns its resource thresholds (AN0741 on Windows, AN0742 else)
    thresholdsForPlatform: (platform) => {
      const owner =
        hijacking.find((a) => a.platforms.includes(platform)) ?? hijacking.find((a) => a.platforms.includes('unknown'));
      return owner ? thresholdsFor(options.policy, owner.id) : options.policy.thresholds;
    },
    onClose: (view) => grade(view, true),
    onUpdate: options.live ? (view) => grade(view, false) : undefined,
    onWorkloadClose: gradeWorkload,
    onWorkloadUpdate: options.live ? gradeWorkload : undefined,
    onLaunchClose: gradeLaunch,
  });
}
