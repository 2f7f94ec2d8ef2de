/**
 * Policy: what users tune without touching code (`coalmine.yaml`): thresholds per analytic and
 * allowlists. Every allowlist entry carries an owner, a reason and an expiry; an expired entry no
 * longer suppresses (and the run says so).
 */

export interface Thresholds {
  /** Correlation window: evidence further apart than this is not one incident. */
  windowMs: number;
  /** How long CPU must stay high to count as sustained (MITRE's analytics use 15 minutes). */
  sustainMs: number;
  /** Per-process CPU, percent of one core, at or above which a sample counts as high. */
  processCpuPct: number;
  /** Host CPU, percent of all cores, at or above which a host sample counts as high. */
  hostCpuPct: number;
  /** Host CPU minus the sum of its processes' CPU (percent of all cores) that counts as hidden. */
  hiddenCpuGapPct: number;
  /** Memory percent at or above which a process sample counts as high. */
  memPct: number;
  /** GPU utilisation at or above which a sample counts as high: percent of one GPU (process), of all its GPUs (host). */
  gpuPct: number;
  /** Relay fan-out: distinct sites within `relayWindowMs` that, with `relayUserAgents` clients, look like relaying (twice both: strong). */
  relayDestinations: number;
  /** Relay fan-out: distinct client fingerprints (User-Agent, JA3) from one host or process within the window. */
  relayUserAgents: number;
  relayWindowMs: number;
}

export type AllowlistField = 'executable' | 'hash' | 'host' | 'user' | 'command';

export interface AllowlistEntry {
  /** Which fields must match (all given fields must match: AND). `command` is a glob with `*`. */
  match: Partial<Record<AllowlistField, string>>;
  /** Analytic ids this entry applies to; empty = all. */
  analytics: string[];
  owner: string;
  reason: string;
  /** ISO date; the entry stops suppressing after it. */
  expires: string;
  /** Where the entry was defined (`coalmine.yaml:12`), for the suppressed_by record. */
  ref: string;
}

/**
 * Who answers for one `containers:` or `cloud:` entry and until when it approves: an entry written as a
 * mapping (`- image: docker.io/x`, `owner:`, `reason:`, `expires:`). All optional; an entry written as a
 * plain string carries none and approves with no end, as before.
 */
export interface ApprovalTerms {
  owner?: string;
  reason?: string;
  /**
   * `YYYY-MM-DD` (through that day, UTC) or a date-time with its zone: past it the entry approves nothing,
   * judged against the time of the write or launch it would approve, never the clock.
   */
  expires?: string;
  /** Where the entry was written (`coalmine.yaml:44`). */
  ref: string;
}

/**
 * `containers:` in coalmine.yaml: what is approved to run (AN0745). A workload matching any entry is
 * authorized, except that an anonymous or denied creator is never authorized by it. Globs use `*`.
 */
export interface ContainerPolicy {
  /** The cluster name for inputs that do not carry one (audit logs, kubectl output). Default `cluster`. */
  cluster?: string;
  /** Registries (`registry.example.com`, `docker.io/library`): an image under one is approved. */
  registries: string[];
  /** Image repositories by glob (`registry.gitlab.com/gitlab-org/*`) or digests (`sha256:…`). */
  images: string[];
  /** Namespaces whose workloads are approved (their creators still must not be anonymous). */
  namespaces: string[];
  /** Identities allowed to create workloads (users, `system:serviceaccount:NS:NAME`), by glob. */
  creators: string[];
  /** Labels that approve a workload (e.g. a change ticket): name → value glob. */
  labels: Record<string, string>;
  /** Where the section was defined (`coalmine.yaml:40`), for findings that cite it. */
  ref: string;
  /** The terms of entries written as mappings: per list aligned with it by index, per label by name. */
  terms?: {
    registries?: Array<ApprovalTerms | undefined>;
    images?: Array<ApprovalTerms | undefined>;
    namespaces?: Array<ApprovalTerms | undefined>;
    creators?: Array<ApprovalTerms | undefined>;
    labels?: Record<string, ApprovalTerms>;
  };
}

/**
 * `cloud:` in coalmine.yaml: the approved path for creating compute (AN0744). A launch is approved when
 * an approved identity made it (a principal, a pipeline's user agent, or an AWS service acting for a
 * group) and it stays inside the listed regions and instance families and carries the required tags.
 * Empty region, family and tag lists do not restrict; with no identity entry nothing is approved. Globs use `*`.
 */
export interface CloudPolicy {
  /** Principals (ARNs, role patterns such as `arn:aws:iam::*:role/terraform-*`, emails, object ids). */
  principals: string[];
  /** Pipelines by user agent (`Terraform/*`, `aws-sdk-go*`…) when their principal is shared. */
  pipelines: string[];
  /** Services launching for the account (`autoscaling.amazonaws.com`, `spot.amazonaws.com`). */
  services: string[];
  regions: string[];
  /** Instance types by glob (`m5.*`, `n2-standard-*`, `Standard_D*`). */
  instanceFamilies: string[];
  /** Tags every approved launch carries: name → value glob (e.g. a change ticket). */
  tags: Record<string, string>;
  /** Where the section was defined (`coalmine.yaml:60`). */
  ref: string;
  /** The terms of entries written as mappings: per list aligned with it by index, per tag by name. */
  terms?: {
    principals?: Array<ApprovalTerms | undefined>;
    pipelines?: Array<ApprovalTerms | undefined>;
    services?: Array<ApprovalTerms | undefined>;
    regions?: Array<ApprovalTerms | undefined>;
    instanceFamilies?: Array<ApprovalTerms | undefined>;
    tags?: Record<string, ApprovalTerms>;
  };
}

export interface Policy {
  thresholds: Thresholds;
  /** Per analytic overrides of the thresholds. */
  analytics: Record<string, Partial<Thresholds>>;
  allowlist: AllowlistEntry[];
  /** Known host core counts (osquery system_info, inventory); used for hidden CPU and share of machine. */
  hostCores: Record<string, number>;
  /** Inventory: address (lowercase) → host name, so network telemetry without host names joins its host. */
  hostIps: Record<string, string>;
  /** What stolen compute costs, for the cost of each finding. */
  prices: Prices;
  /** Approved containers (AN0745); absent when coalmine.yaml has no `containers:` section. */
  containers?: ContainerPolicy;
  /** The approved path for cloud compute (AN0744); absent when coalmine.yaml has no `cloud:` section. */
  cloud?: CloudPolicy;
  /** `sigma:` in coalmine.yaml: values for Sigma rules' `%name%` placeholders (`|expand`); absent without one. */
  sigma?: SigmaPolicy;
  /**
   * `hashrates:` in coalmine.yaml: typical rates per algorithm family (`randomx`, `equihash`…) replacing
   * the bundled `intel/hashrates.csv` figures when a hashrate from Stratum shares is turned into cores.
   */
  hashrates?: Record<string, HashrateOverride>;
}

/** One family's rates in `hashrates:` (H/s; Sol/s for Equihash); what it leaves out stays the bundled figure. */
export interface HashrateOverride {
  perCore?: number;
  perGpu?: number;
  /**
   * What its shares are priced as: `gpu` (GPU-hours) or `cpu` (core-hours); default the bundled table's
   * `device` (`cpu` for a family it lacks). `cpu` for a GPU family when the fleet has no GPUs.
   */
  device?: 'cpu' | 'gpu';
  /** Where it was defined (`coalmine.yaml:12`), for the cost basis that uses it. */
  ref: string;
}

export interface SigmaPolicy {
  /** Placeholder name (without `%`) → its values. */
  placeholders: Record<string, string[]>;
}

export interface Prices {
  currency: string;
  /** Price of one core (vCPU) for one hour. */
  coreHour: number;
  /** Price of one GPU for one hour: what the shares of a GPU-mined algorithm (Ethash, KawPow…) cost. */
  gpuHour: number;
  /**
   * Price of one instance-hour by instance type (lowercase), in `currency`: overrides the bundled
   * on-demand table (`intel/cloud-prices.csv`) for AN0744 launches, in every region.
   */
  instanceHour?: Record<string, number>;
}

/**
 * A general-purpose cloud vCPU-hour on demand is a few cents; 0.05 is a round middle. A mid-range cloud
 * GPU on demand is about half a dollar an hour (one NVIDIA T4: AWS g4dn.xlarge, its 4 vCPUs included, is
 * 0.526 in `intel/cloud-prices.csv`), the class of the per-GPU rates in `intel/hashrates.csv`; 0.50.
 * Set your own (`prices.core_hour`, `prices.gpu_hour`): the figure is only as good as these numbers.
 */
export const DEFAULT_PRICES: Prices = { currency: 'USD', coreHour: 0.05, gpuHour: 0.5 };

export const DEFAULT_THRESHOLDS: Thresholds = {
  windowMs: 60 * 60 * 1000,
  sustainMs: 15 * 60 * 1000,
  processCpuPct: 80,
  hostCpuPct: 85,
  hiddenCpuGapPct: 50,
  memPct: 50,
  gpuPct: 80,
  relayDestinations: 50,
  relayUserAgents: 10,
  relayWindowMs: 10 * 60 * 1000,
};

export function defaultPolicy(): Policy {
  return {
    thresholds: { ...DEFAULT_THRESHOLDS },
    analytics: {},
    allowlist: [],
    hostCores: {},
    hostIps: {},
    prices: { ...DEFAULT_PRICES },
  };
}

export function thresholdsFor(policy: Policy, analytic: string): Thresholds {
  return { ...policy.thresholds, ...policy.analytics[analytic] };
}
