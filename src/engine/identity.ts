/**
 * One process, one key, whatever each source knows of it. Sysmon names a process by its ProcessGuid
 * (the stable key: pids are reused), while Security 4688/5156 events carry only a pid and `typeperf`
 * only an instance name (`xmrig`, `xmrig#1`), sometimes with its pid. Before an event is keyed, a
 * missing entity_id is filled from the latest process seen with that pid, and a metric that names
 * only an instance gets the pid and entity_id of the latest process started with that name. Bounded;
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
  const n = name.slice(0, 260).toLowerCase().replace(INSTANCE_SUFFIX, '');
  return n.endsWith('.exe') ? n.slice(0, -4) : n;
}

interface NamedProcess {
  pid?: number;
  entityId?: string;
}

/** Insert as the newest entry of a bounded Map, dropping the oldest past the bound. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_ALIASES) {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
}

export class ProcessIdentity {
  private readonly guidByPid = new Map<string, string>();
  private readonly byName = new Map<string, NamedProcess>();

  get size(): number {
    return this.guidByPid.size + this.byName.size;
  }

  /** Fill the event's missing process and parent identity from what earlier events said. Mutates the event. */
  resolve(event: CoalEvent): void {
    const p = event.process;
    if (!p) return;
    const host = event.host?.name ?? UNKNOWN_HOST;
    if (p.pid === undefined && p.entity_id === undefined && p.name && event.event.kind === 'metric') {
      const known = this.byName.get(`${host}|${instanceName(p.name)}`);
      if (known) {
        if (known.pid !== undefined) p.pid = known.pid;
        if (known.entityId !== undefined) p.entity_id = known.entityId;
      }
    }
    this.fill(host, p);
    if (p.parent) this.fill(host, p.parent);
  }

  /** Learn from an event already resolved: its pid → entity_id, its name → this process. */
  learn(event: CoalEvent): void {
    const p = event.process;
    if (!p || (p.pid === undefined && p.entity_id === undefined)) return;
    const host = event.host?.name ?? UNKNOWN_HOST;
    const action = event.event.action;
    if (p.entity_id !== undefined && p.pid !== undefined) {
      const pidKey = `${host}|${p.pid}`;
      if (action === 'exit') {
        if (this.guidByPid.get(pidKey) === p.entity_id) this.guidByPid.delete(pidKey);
      } else if (action === 'exec' || !this.guidByPid.has(pidKey)) remember(this.guidByPid, pidKey, p.entity_id);
    }
    if (p.parent?.entity_id !== undefined && p.parent.pid !== undefined) {
      const parentKey = `${host}|${p.parent.pid}`;
      if (!this.guidByPid.has(parentKey)) remember(this.guidByPid, parentKey, p.parent.entity_id);
    }
    if (action === 'exec' || action === 'process-seen') {
      const name = p.name ?? (p.executable ? basename(p.executable) : undefined);
      if (name) remember(this.byName, `${host}|${instanceName(name)}`, { pid: p.pid, entityId: p.entity_id });
    }
  }

  /** The entity_id of the latest process seen with this pid on this host. */
  guidOf(host: string, pid: number): string | undefined {
    return this.guidByPid.get(`${host}|${pid}`);
  }

  private fill(host: string, p: Pick<ProcessFields, 'pid' | 'entity_id'>): void {
    if (p.entity_id !== undefined || p.pid === undefined) return;
    const guid = this.guidByPid.get(`${host}|${p.pid}`);
    if (guid !== undefined) p.entity_id = guid;
  }
}
