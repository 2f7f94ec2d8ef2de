/**
 * A signal is one piece of evidence: a stateless classifier's (or the engine's) verdict on one event.
 * Signals never alert on their own; analytics correlate them into findings.
 */
import type { EntityKey } from './entity.js';
import type { SourceRef } from './event.js';
import type { ShareSessionFacts } from './shares.js';

export type Strength = 'weak' | 'medium' | 'strong';

export const STRENGTH_RANK: Record<Strength, number> = { weak: 1, medium: 2, strong: 3 };

/** Evidence classes, as PRODUCT.md §4 groups them. */
export type SignalClass = 'resource' | 'process' | 'network' | 'persistence' | 'kill' | 'authorization' | 'cloud';

/**
 * Signal kinds. Stable names: they appear in findings, rules (`coalmine.kind`) and policy.
 */
export type SignalKind =
  | 'miner-process'
  | 'proxyware-process'
  | 'dropper'
  | 'masquerade'
  | 'miner-tuning'
  | 'obfuscation'
  | 'persistence'
  | 'competitor-kill'
  | 'pool-contact'
  | 'mining-port'
  | 'proxyware-endpoint'
  /** A host fetching many unrelated sites for many different clients: relaying for others (engine state). */
  | 'proxy-relay'
  /** Inbound remote logins (SSH sessions, tool clients) to a host flagged as a relay: context, never a finding alone. */
  | 'inbound-access'
  /** Cryptocurrency node traffic (Bitcoin/Monero/Ethereum P2P, node RPC): not mining; no hijacking leg reads it, only the informational crypto-node analytic. */
  | 'crypto-p2p'
  /** A workload no approval covers and the data does not show as established: anonymous, denied, not approved, first-seen creator (AN0745). */
  | 'unauthorized-workload'
  /** A pod spec asking for the host: privileged, hostPID/hostNetwork, a hostPath of `/` (context; AN0745 weighs it by who asked). */
  | 'privileged-workload'
  /** A command run inside a running container through the API (`pods/exec`, `docker exec`). */
  | 'container-exec'
  /** Creation or scaling far beyond the workload's own history, by an identity that is not a controller. */
  | 'workload-burst'
  /** Cloud compute created off the approved path (policy) or by a first-seen principal, region, family or count; a denied attempt (AN0744). */
  | 'unauthorized-launch'
  | 'sustained-cpu'
  /** GPU utilisation held at or above the bar for the sustain time, by a process or a host's GPUs. */
  | 'sustained-gpu'
  /** Shares a mining pool accepted: hashing proven from the Stratum session itself, with its rate (resource). */
  | 'mining-shares'
  | 'high-memory'
  | 'hidden-cpu';

export interface IntelProvenance {
  set: string;
  source: string;
  /** The list's stated version or date, else (user files) the date it was last modified. */
  version?: string;
  /** Where the list's feed is published, when the list says (bundled lists do). */
  url?: string;
}

/** A persistence entry as it stands on disk, so a containment plan can name the exact line to remove. */
export interface PersistenceDetail {
  mechanism: string;
  /** The file holding it (a crontab, a unit file, a Run key path). */
  file: string;
  line?: number;
  /** The entry's text, clipped. */
  entry: string;
  /** Whose crontab or unit it is, when the source says. */
  user?: string;
}

export interface Signal {
  kind: SignalKind;
  class: SignalClass;
  strength: Strength;
  /** The process the evidence is about (its key), or the host when no process is known. */
  entity: EntityKey;
  host: string;
  /** Event time, epoch ms. */
  ts: number;
  ref: SourceRef;
  /** One line a human can check against the source record. */
  explanation: string;
  /** Rule or classifier id that produced it (`rule:<id>`, `intel:<set>`, `engine:cpu`). */
  by: string;
  /** The intel set behind it, when an indicator matched: which list, where it came from, which version. */
  intel?: IntelProvenance;
  /** For persistence entries: the entry itself. */
  persistence?: PersistenceDetail;
  /** For `mining-shares`: the session's rate and timeline, which the finding carries for triage's cost. */
  shares?: ShareSessionFacts;
  /** What the evidence is about, for correlation: the executable it concerns, a destination, a victim. */
  subject?: {
    executable?: string;
    destination?: string;
    victim?: string;
    victimPid?: number;
    persistenceTarget?: string;
    /**
     * For `mining-shares`: which Stratum session (the miner's address and the session's first activity). Evidence is merged per session: its reports and a second reading of it are one, two
     * sessions to one pool are two.
     */
    session?: string;
  };
}
