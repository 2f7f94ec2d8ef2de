/**
 * Correlation units. Evidence about processes is gathered per lineage root (the top-most ancestor
 * below a service root such as cron or sshd), and a flagged executable keeps its cluster when cron
 * relaunches it under a new pid. Host-level evidence (hidden CPU, DNS without a pid) has its own
 * cluster per host. Evidence is de-duplicated by (kind, source of the verdict, entity, record; a
 * Stratum session's shares by their session).
 */
import type { EntityKey } from '../model/entity.js';
import type { Signal } from '../model/signal.js';
import { STRENGTH_RANK } from '../model/signal.js';
import type { ProcInfo } from './process-table.js';

export interface EvidenceItem {
  signal: Signal;
  /** How many times the same verdict was repeated (same rule, entity and kind). */
  count: number;
  lastTs: number;
}

export interface Cluster {
  key: string;
  host: string;
  isHostLevel: boolean;
  firstTs: number;
  lastTs: number;
  evidence: Map<string, EvidenceItem>;
  processes: Map<EntityKey, ProcInfo>;
  /** Executables and absolute paths in command lines of member processes: what persistence may launch. */
  paths: Set<string>;
}

const MAX_EVIDENCE = 256;
const MAX_PROCESSES = 128;
const MAX_PATHS = 128;

export function newCluster(key: string, host: string, isHostLevel: boolean, ts: number): Cluster {
  return {
    key,
    host,
    isHostLevel,
    firstTs: ts,
    lastTs: ts,
    evidence: new Map(),
    processes: new Map(),
    paths: new Set(),
  };
}

export function addEvidence(cluster: Cluster, signal: Signal): void {
  // a mining session's identity keeps two sessions to one pool apart (two miners behind one address, a
  // reconnect after the grace) while its own reports, and the same session read twice, stay one
  // and a persistence entry by its place: two cron lines on one host are two entries, not one seen twice
  const entry = signal.persistence ? `${signal.persistence.file}:${signal.persistence.line ?? ''}` : '';
  const dedupe = `${signal.kind}|${signal.by}|${signal.entity}|${signal.subject?.destination ?? ''}|${signal.subject?.victim ?? ''}|${signal.subject?.session ?? ''}|${entry}`;
  const item = cluster.evidence.get(dedupe);
  if (item) {
    item.count++;
    if (signal.ts > item.lastTs) item.lastTs = signal.ts;
    // keep the earliest record as the one we cite, but a stronger verdict replaces a weaker one, and of one
    // mining session's equally strong reports the one that measured more (a cut-off copy of the capture
    // read first must not stand for the whole session)
    const stronger = STRENGTH_RANK[signal.strength] - STRENGTH_RANK[item.signal.strength];
    if (stronger > 0 || (stronger === 0 && measuredMore(signal, item.signal))) item.signal = signal;
  } else if (cluster.evidence.size < MAX_EVIDENCE) {
    cluster.evidence.set(dedupe, { signal, count: 1, lastTs: signal.ts });
  }
  if (signal.ts < cluster.firstTs) cluster.firstTs = signal.ts;
  if (signal.ts > cluster.lastTs) cluster.lastTs = signal.ts;
}

/** Whether `a` reports more of one mining session than `b`: more accepted shares, or as many over a longer time. */
function measuredMore(a: Signal, b: Signal): boolean {
  if (!a.shares || !b.shares) return false;
  if (a.shares.accepted !== b.shares.accepted) return a.shares.accepted > b.shares.accepted;
  return a.shares.mining_minutes > b.shares.mining_minutes;
}

const PATH_IN_COMMAND = /(?:^|[\s'"=])((?:\/|\.\/)[^\s'";|&<>]{1,255})/g;
/** Windows paths: quoted ones may hold spaces (`"C:\Program Files\…"`), bare ones end at a blank. */
const QUOTED_WINDOWS_PATH = /"([A-Za-z]:\\[^"<>|\r\n]{1,255})"/g;
const BARE_WINDOWS_PATH = /(?:^|[\s'=])([A-Za-z]:\\[^\s'";|&<>]{1,255})/g;
const DRIVE_PATH = /^(?:[A-Za-z]:\\|\\\\)/;

/** A shell's `-c` string: what cron or a unit ran (`/bin/sh -c curl … | bash` → `curl … | bash`). */
const SHELL_COMMAND_STRING = /^\S*?\b(?:sh|bash|dash|zsh|ksh|ash)\s+(?:-[a-z]+\s+)*-[a-z]*c\s+(.+)$/is;

/**
 * How a command is compared with a persistence entry's: whitespace collapsed, outer quotes gone,
 * marked so it never collides with a path. A cron line that re-runs a dropper (`curl … | bash`) is
 * the persistence of whatever that dropper's cluster holds.
 */
export function commandKey(command: string): string {
  const text = command.slice(0, 2048).trim().replace(/\s+/g, ' ');
  const inner = SHELL_COMMAND_STRING.exec(text)?.[1] ?? text;
  return `cmd:${inner.replace(/^(['"])(.*)\1$/s, '$2')}`;
}

/** How a path is compared: Windows paths (drive or UNC) case-insensitively, POSIX paths exactly. */
export function pathKey(path: string): string {
  // a POSIX path (the usual one) is its own key: no pattern run for it
  return path.charCodeAt(0) !== 47 && DRIVE_PATH.test(path) ? path.toLowerCase() : path;
}

export function addProcess(cluster: Cluster, proc: ProcInfo): void {
  if (!cluster.processes.has(proc.key) && cluster.processes.size < MAX_PROCESSES) cluster.processes.set(proc.key, proc);
  if (proc.executable && cluster.paths.size < MAX_PATHS) cluster.paths.add(pathKey(proc.executable));
  if (proc.commandLine) {
    if (cluster.paths.size < MAX_PATHS) cluster.paths.add(commandKey(proc.commandLine));
    const command = proc.commandLine.slice(0, 4096);
    for (const pattern of [PATH_IN_COMMAND, QUOTED_WINDOWS_PATH, BARE_WINDOWS_PATH])
      for (const m of command.matchAll(pattern)) {
        if (cluster.paths.size >= MAX_PATHS) return;
        cluster.paths.add(pathKey(m[1]));
      }
  }
}
