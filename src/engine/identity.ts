/**
 * One process, one key, whatever each source knows of it. Sysmon names a process by its ProcessGuid
 * (the stable key: pids are reused), while Security 4688/5156 events carry only a pid and `typeperf`
 * only an instance name (`xmrig`, `xmrig#1`), sometimes with its pid. Before an event is keyed, a
 * missing entity_id is filled from the latest process seen with that pid, and a metric that names
 * only an instance gets the pid and entity_id of the latest process started with that name. Kept per
 * host by number and name (no key string per event), updated in place. Bounded;
 * an exit forgets the pid so its reuse starts a new process.
 */
import { UNKNOWN_HOST } from '../model/entity.js';
import type { CoalEvent, ProcessFields } from '../model/event.js';
import { basename } from './process-table.js';

const MAX_ALIASES = 65536;
/** `xmrig#1` is typeperf's second instance of `xmrig`; `.exe` is dropped by typeperf but not by Sysmon. */
const INSTANCE_SUFFIX = /#\d{1,6}$/;

/** A process name as typeperf and Sysmon both can spell it: lowercase, no `.exe`, no `#n`. */
export function instanceName(name: string): string {
  let n = name.slice(0, 260).toLowerCase();
  // every process start is named here: the pattern only runs for a name that can hold `#n`
  if (n.includes('#')) n = n.replace(INSTANCE_SUFFIX, '');
  return n.endsWith('.exe') ? n.slice(0, -4) : n;
}

interface NamedProcess {
  pid?: number;
  entityId?: string;
}

/** One host's aliases, by pid and by instance name: no `host|pid` string per event. */
interface HostAliases {
  guidByPid: Map<number, string>;
  byName: Map<string, NamedProcess>;
}

export class ProcessIdentity {
  private readonly hosts = new Map<string, HostAliases>();
  /** The host last looked up: `resolve` and `learn` of one event find it once. */
  private lastHostName: string | undefined;
  private lastHost: HostAliases | undefined;
  private pids = 0;
  private names = 0;

  get size(): number {
    return this.pids + this.names;
  }

  /** Fill the event's missing process and parent identity from what earlier events said. Mutates the event. */
  resolve(event: CoalEvent): void {
    const p = event.process;
    if (!p) return;
    const h = this.aliasesOf(event.host?.name ?? UNKNOWN_HOST);
    if (!h) return;
    if (p.pid === undefined && p.entity_id === undefined && p.name && event.event.kind === 'metric') {
      const known = h.byName.get(instanceName(p.name));
      if (known) {
        if (known.pid !== undefined) p.pid = known.pid;
        if (known.entityId !== undefined) p.entity_id = known.entityId;
      }
    }
    fill(h, p);
    if (p.parent) fill(h, p.parent);
  }

  /** Learn from an event already resolved: its pid → entity_id, its name → this process. */
  learn(event: CoalEvent): void {
    const p = event.process;
    if (!p || (p.pid === undefined && p.entity_id === undefined)) return;
    const action = event.event.action;
    const isStart = action === 'exec' || action === 'process-seen';
    const hasGuid = p.entity_id !== undefined && p.pid !== undefined;
    const hasParentGuid = p.parent?.entity_id !== undefined && p.parent.pid !== undefined;
    if (!isStart && !hasGuid && !hasParentGuid) return;
    const h = this.hostAliases(event.host?.name ?? UNKNOWN_HOST);
    if (hasGuid) {
      const pid = p.pid!;
      if (action === 'exit') {
        if (h.guidByPid.get(pid) === p.entity_id) {
          h.guidByPid.delete(pid);
          this.pids--;
        }
      } else if (action === 'exec' || !h.guidByPid.has(pid)) this.rememberGuid(h, pid, p.entity_id!);
    }
    if (hasParentGuid && !h.guidByPid.has(p.parent!.pid!)) this.rememberGuid(h, p.parent!.pid!, p.parent!.entity_id!);
    if (isStart) {
      const name = p.name ?? (p.executable ? basename(p.executable) : undefined);
      if (!name) return;
      const key = instanceName(name);
      const known = h.byName.get(key);
      if (known) {
        // the latest process started with the name, updated in place
        known.pid = p.pid;
        known.entityId = p.entity_id;
      } else {
        h.byName.set(key, { pid: p.pid, entityId: p.entity_id });
        if (++this.names > MAX_ALIASES) this.dropOldest('byName');
      }
    }
  }

  /** The entity_id of the latest process seen with this pid on this host. */
  guidOf(host: string, pid: number): string | undefined {
    return this.aliasesOf(host)?.guidByPid.get(pid);
  }

  private aliasesOf(host: string): HostAliases | undefined {
    if (host === this.lastHostName) return this.lastHost;
    const h = this.hosts.get(host);
    if (h) {
      this.lastHostName = host;
      this.lastHost = h;
    }
    return h;
  }

  private hostAliases(host: string): HostAliases {
    let h = this.aliasesOf(host);
    if (!h) {
      h = { guidByPid: new Map(), byName: new Map() };
      this.hosts.set(host, h);
    }
    return h;
  }

  private rememberGuid(h: HostAliases, pid: number, guid: string): void {
    const had = h.guidByPid.has(pid);
    h.guidByPid.set(pid, guid);
    if (!had && ++this.pids > MAX_ALIASES) this.dropOldest('guidByPid');
  }

  /** The bound: the first-learned alias of the first-seen host that holds one goes. */
  private dropOldest(kind: keyof HostAliases): void {
    for (const [name, h] of this.hosts) {
      const map = h[kind];
      const oldest = map.keys().next();
      if (oldest.done) continue;
      map.delete(oldest.value as never);
      if (kind === 'byName') this.names--;
      else this.pids--;
      if (h.guidByPid.size === 0 && h.byName.size === 0) {
        this.hosts.delete(name);
        if (this.lastHost === h) this.lastHostName = this.lastHost = undefined;
      }
      return;
    }
  }
}

function fill(h: HostAliases, p: Pick<ProcessFields, 'pid' | 'entity_id'>): void {
  if (p.entity_id !== undefined || p.pid === undefined) return;
  const guid = h.guidByPid.get(p.pid);
  if (guid !== undefined) p.entity_id = guid;
}
