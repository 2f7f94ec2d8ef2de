/**
 * The normalised event: an ECS-shaped subset every source produces and every signal reads.
 * `original` keeps the untouched source record; `coalmine` holds only fields we computed.
 */
import type { StratumSession } from './shares.js';

/** Where an event or issue came from: a file and a 1-based line, or a record id for binary formats. */
export interface SourceRef {
  file: string;
  line?: number;
  record?: string;
}

export type EventKind = 'event' | 'metric' | 'state';

/**
 * The shared verbs. Signals and the engine switch on these, never on a format's own names.
 * - exec: a process started (process.*, process.parent.* when known)
 * - process-seen: a running process observed by a snapshot (osquery, /proc), maybe with metrics
 * - exit: a process ended
 * - connect: an outbound connection (process.* when known, destination.*, network.transport)
 * - listen: a listening socket
 * - dns-query: a name looked up (dns.question.name, dns.resolved_ip)
 * - kill: a signal sent (process.* is the sender, process.target.* the victim)
 * - file-write: a file created, written or renamed (file.path; process.* is the writer)
 * - persistence-entry: a cron line / unit ExecStart / rc line / preload entry on disk (kind 'state'),
 *   or a persistence mechanism created at a known time (a Windows scheduled task, kind 'event')
 * - driver-load: a kernel driver loaded (file.path, file.hash; Sysmon 6)
 * - registry-set: a registry value written (registry.path, registry.value; Sysmon 12/13/14)
 * - metric: a resource sample for a host, process or container (metrics.*; container.* for a container)
 * - workload-change: a Kubernetes API request on a workload, pod, exec or RBAC object (coalmine.workload:
 *   verb, kind, spec facts; orchestrator.*, user.*, source.ip, user_agent; event.outcome failure = denied)
 * - cloud-change: a cloud control-plane call (CloudTrail, GCP Cloud Audit Logs, Azure Activity Log) on compute,
 *   identity, quotas or regions (coalmine.cloud: provider, operation, principal, instances, userData; cloud.*,
 *   user.*, source.ip, user_agent; event.outcome failure = denied or failed)
 * - container-seen: a container as an inventory (kubectl get -o json, docker inspect: kind 'state') or a
 *   runtime event (docker events: create/start/die/kill/exec) reports it (container.*, orchestrator.*)
 */
export type EventAction =
  | 'exec'
  | 'process-seen'
  | 'exit'
  | 'connect'
  | 'listen'
  | 'dns-query'
  | 'kill'
  | 'file-write'
  | 'persistence-entry'
  | 'driver-load'
  | 'registry-set'
  | 'metric'
  | 'workload-change'
  | 'container-seen'
  | 'cloud-change'
  /** A source record no analytic reads (a Windows event id with no mapping): the engine ignores it, Sigma rules read it. */
  | 'log-record';

export interface ProcessParent {
  pid?: number;
  entity_id?: string;
  name?: string;
  executable?: string;
  command_line?: string;
}

export interface ProcessFields {
  pid?: number;
  entity_id?: string;
  name?: string;
  executable?: string;
  command_line?: string;
  args?: string[];
  working_directory?: string;
  start?: string;
  hash?: { sha256?: string; md5?: string; sha1?: string };
  /** The name the binary was built with (PE version resource; Sysmon OriginalFileName): survives a rename. */
  pe?: { original_file_name?: string };
  /** Executable was unlinked while running (`/proc/PID/exe` ends in " (deleted)"). */
  exe_deleted?: boolean;
  parent?: ProcessParent;
  user?: { name?: string; id?: string };
  /** The process a kill/signal event was aimed at. */
  target?: { pid?: number; name?: string; executable?: string; signal?: number };
}

export interface Endpoint {
  ip?: string;
  port?: number;
  domain?: string;
  bytes?: number;
}

export interface EventMetrics {
  /** Percent of one core for a process (can exceed 100); percent of all cores for a host. */
  cpu_pct?: number;
  mem_pct?: number;
  /**
   * GPU utilisation: percent of one GPU summed over those used for a process or container (can exceed
   * 100); percent of all its GPUs for a host or cloud instance.
   */
  gpu_pct?: number;
  rss_bytes?: number;
  /** Cumulative user+system CPU time, for sources that report counters rather than rates. */
  cpu_time_ms?: number;
  cores?: number;
  /** A host's or instance's GPU count, when the sample says it (GPU-hours are `gpu_pct` × `gpus`). */
  gpus?: number;
  /** A container's CPU limit in cores (quota ÷ period, or the pod spec's limit), when known. */
  cpu_limit_cores?: number;
}

/** One container of a workload as its spec or inventory states it (bounded, as read). */
export interface WorkloadContainer {
  name?: string;
  image?: string;
  command?: string[];
  args?: string[];
  /** `NAME=value` pairs (values clipped; secrets from valueFrom are not resolved). */
  env?: string[];
  privileged?: boolean;
  cpuLimitCores?: number;
  cpuRequestCores?: number;
}

/** What a Kubernetes API request or an inventory record says about a workload. */
export interface WorkloadFacts {
  /** create, update, patch, delete, deletecollection, get, list, watch; `scale` and `exec` for those subresources. */
  verb: string;
  /** Pod, Deployment, ReplicaSet, DaemonSet, StatefulSet, Job, CronJob, ClusterRoleBinding, RoleBinding, … */
  kind: string;
  name?: string;
  namespace?: string;
  /** The owner chain's top (Pod → ReplicaSet → Deployment gives Deployment), when known. */
  owner?: { kind: string; name: string };
  replicas?: number;
  containers?: WorkloadContainer[];
  hostPID?: boolean;
  hostNetwork?: boolean;
  hostPaths?: string[];
  serviceAccount?: string;
  node?: string;
  /** The API server's answer (audit `responseStatus.code`). */
  status?: number;
  /** For pods/exec: the command run in the container. */
  execCommand?: string[];
  labels?: Record<string, string>;
  /** When the object was created (inventory `metadata.creationTimestamp`), epoch ms. */
  createdMs?: number;
  /** The pod's or container's own addresses (inventory `status.podIPs`, docker `NetworkSettings`), so flows join it. */
  podIPs?: string[];
}

/** One instance a cloud call names or returns (bounded, as read). */
export interface CloudInstanceFacts {
  /** `i-0abc…` (AWS), the numeric id or name (GCP), the VM resource id (Azure). */
  id?: string;
  name?: string;
  type?: string;
  image?: string;
  zone?: string;
  privateIps?: string[];
  publicIps?: string[];
  /** Network interfaces (AWS ENI ids), so flow records naming only an interface join. */
  interfaces?: string[];
  tags?: Record<string, string>;
  state?: string;
}

/** What a cloud control-plane call says (CloudTrail, GCP audit, Azure activity). */
export interface CloudFacts {
  provider: 'aws' | 'gcp' | 'azure';
  /** As the provider names it: `RunInstances`, `v1.compute.instances.insert`, `Microsoft.Compute/virtualMachines/write`. */
  operation: string;
  /** `ec2.amazonaws.com`, `compute.googleapis.com`, `Microsoft.Compute`. */
  service?: string;
  /** AWS account, GCP project, Azure subscription. */
  account?: string;
  region?: string;
  principal?: {
    /** ARN, email or object id: who it was. */
    id?: string;
    /** IAMUser, AssumedRole, Root, AWSService, serviceAccount, user, ServicePrincipal, … */
    type?: string;
    accessKeyId?: string;
    /** The role session's issuer (the role an assumed-role session came from). */
    sessionIssuer?: string;
    /** An AWS service acting for the account (`autoscaling.amazonaws.com`), or a GCP/Azure delegate. */
    invokedBy?: string;
    mfa?: boolean;
  };
  /** Instances the request names or the response returns. */
  instances?: CloudInstanceFacts[];
  /** Network interfaces a call makes or changes, with the addresses they hold (Azure NIC writes): flows name them so. */
  interfaces?: Array<{ id: string; mac?: string; privateIps?: string[]; publicIps?: string[] }>;
  /** Instances asked for (MaxCount, targetSize, capacity), when the request says. */
  count?: number;
  instanceType?: string;
  image?: string;
  /** Startup script / userData, decoded from base64 when it was, clipped. */
  userData?: string;
  /** The provider's error (`Client.UnauthorizedOperation`, `PERMISSION_DENIED`, `AuthorizationFailed`). */
  errorCode?: string;
  errorMessage?: string;
  /** Other things the call names: autoscaling group, fleet, launch template, task definition, key pair, security group, quota, region. */
  resources?: Array<{ type: string; name: string }>;
  /** Tags or labels the request sets on what it creates. */
  tags?: Record<string, string>;
  /** Container definitions (ECS task definitions, GCP container VMs): image, command, CPU. */
  containers?: WorkloadContainer[];
}

export interface CoalEvent {
  '@timestamp': string;
  event: {
    kind: EventKind;
    /** ECS categories: process, network, file, host, configuration, … */
    category: string[];
    type?: string[];
    /** What happened, independent of the source; see EventAction. */
    action: EventAction;
    /** `<format>.<table/record type>`, e.g. `auditd.syscall`, `osquery.processes`. */
    dataset: string;
    id?: string;
    outcome?: 'success' | 'failure' | 'unknown';
  };
  host?: {
    name?: string;
    id?: string;
    ip?: string[];
    os?: { platform?: 'linux' | 'windows' | 'macos' | string };
  };
  process?: ProcessFields;
  user?: { name?: string; id?: string; roles?: string[]; effective?: { name?: string; id?: string } };
  source?: Endpoint;
  destination?: Endpoint;
  network?: {
    transport?: string;
    /** Application protocol as the source names it (`dns`, `tls`, `http`, `stratum`, `bitcoin`, …), lowercase. */
    protocol?: string;
    direction?: string;
    /** Both directions, when the source counts them (flow logs, pcap). */
    bytes?: number;
    packets?: number;
  };
  /** TLS ClientHello facts (pcap, Zeek ssl, Suricata tls). */
  tls?: { client?: { server_name?: string; ja3?: string }; version?: string };
  /** HTTP request facts (pcap, Zeek http, Suricata http): method, Host header, path. */
  http?: { request?: { method?: string; host?: string; path?: string } };
  user_agent?: { original?: string };
  /** A detection another tool made (Suricata alert, Zeek notice/intel): its name, id and category. */
  rule?: { name?: string; id?: string; category?: string };
  dns?: { question?: { name?: string }; resolved_ip?: string[] };
  url?: { full?: string; domain?: string };
  file?: {
    path?: string;
    name?: string;
    mtime?: string;
    /** One meaningful line of a config/persistence file, e.g. a cron entry or ExecStart. */
    line?: string;
    hash?: { sha256?: string; md5?: string; sha1?: string };
    /** Authenticode signature state of a loaded driver or image (Sysmon 6/7): `Signed`, `Signature`. */
    signed?: boolean;
    signature?: string;
    /** Where a file read through a symlink points, as the host resolves it (`path` names the link). */
    target_path?: string;
  };
  /** Windows registry writes (Sysmon 13): full key path with value name, and the data written. */
  registry?: { path?: string; value?: string; data?: string };
  container?: {
    id?: string;
    name?: string;
    image?: { name?: string; tag?: string; hash?: { all?: string[] } };
    runtime?: string;
    security_context?: { privileged?: boolean };
  };
  orchestrator?: {
    namespace?: string;
    resource?: { type?: string; name?: string; parent?: { type?: string; name?: string } };
    cluster?: { name?: string };
  };
  cloud?: {
    provider?: string;
    account?: { id?: string };
    instance?: { id?: string; name?: string };
    region?: string;
    availability_zone?: string;
    machine?: { type?: string };
    /** The network interface a flow record names (AWS ENI id, Azure NIC), when no instance is named. */
    network_interface?: string;
  };
  metrics?: EventMetrics;
  /** The source record as read, unchanged (parsed fields for text formats). */
  original: Record<string, unknown>;
  coalmine: {
    /** Event time in epoch milliseconds (derived from @timestamp). */
    ts: number;
    format: string;
    ref: SourceRef;
    /**
     * What a flow carried and how it behaved (pcap, flow logs): the first bytes of each direction as
     * text (bounded, non-printables escaped) for protocol recognition such as Stratum, and its shape.
     */
    flow?: {
      clientPayload?: string;
      serverPayload?: string;
      durationMs?: number;
      clientBytes?: number;
      serverBytes?: number;
      /** Application messages (e.g. newline-delimited JSON lines) seen from the client. */
      clientMessages?: number;
      /** A Stratum session read whole (pcap): its shares and difficulty, bounded (model/shares.ts). */
      stratum?: StratumSession;
    };
    /** Kubernetes API requests and inventory records: the workload facts (see WorkloadFacts). */
    workload?: WorkloadFacts;
    /** Cloud control-plane calls: the cloud facts (see CloudFacts). */
    cloud?: CloudFacts;
    /** Persistence artefacts found on a collected filesystem: what the entry launches. */
    persistence?: {
      mechanism: 'cron' | 'systemd' | 'rc' | 'preload' | 'init' | 'scheduled-task' | 'run-key' | 'service';
      target?: string;
    };
  };
}

export function isoFromMs(ms: number): string {
  return new Date(ms).toISOString();
}
