/**
 * Sigma matches that are not compute hijacking, kept per host in event time: the scope of a
 * compromise (credential dumping, an exploited web server) that a finding on the same host shows as
 * its `context`. `hunt` and `watch` both feed one `ContextStore` from the classifier's `onRuleMatch`;
 * it is per host, so a partition of the input by host keeps its own store whole.
 *
 * Bounds: per host at most `perHost` matches and `perRule` of one rule (a noisy rule cannot push a rare
 * Mimikatz hit out), at most `total` matches over all hosts; the oldest go first, the least recently
 * matched host first when the total is full. Every match let go is counted (`dropped`).
 */
import type { CoalEvent } from '../model/event.js';
import type { ContextReason, RuleMatchRecord } from '../model/finding.js';
import { formatRef } from '../model/issue.js';
import type { RuleMatch } from '../signals/rules.js';
import { windowsRecord } from '../signals/sigma/logsources.js';
import { clip } from '../util/hostile.js';

export interface ContextLimits {
  perHost: number;
  perRule: number;
  total: number;
}

const DEFAULT_LIMITS: ContextLimits = { perHost: 256, perRule: 16, total: 50_000 };
const MAX_HOST_CHARS = 256;
const MAX_FACT_CHARS = 300;
const MAX_COMMAND_CHARS = 600;
const MAX_TAGS = 8;
/** Windows EventData names worth showing when the ECS fields do not already say them (Sysmon 10, 11, 13, 4624…). */
const WINDOWS_FACTS: Array<[string, string]> = [
  ['SourceImage', 'process'],
  ['TargetImage', 'target'],
  ['GrantedAccess', 'granted_access'],
  ['CallTrace', 'call_trace'],
  ['TargetFilename', 'file'],
  ['TargetObject', 'registry'],
  ['ImageLoaded', 'loaded'],
  ['ServiceName', 'service'],
  ['TargetUserName', 'target_user'],
  ['IpAddress', 'source_ip'],
  ['LogonType', 'logon_type'],
  ['ScriptBlockText', 'script'],
];
const MAX_WINDOWS_FACTS = 4;

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' && value !== '-'
    ? value
    : typeof value === 'number'
      ? String(value)
      : undefined;
}

/** What an analyst needs to recognise the event at a glance, clipped. */
export function keyFacts(event: CoalEvent): Record<string, string> {
  const facts: Record<string, string> = {};
  const put = (key: string, value: unknown, max = MAX_FACT_CHARS) => {
    const s = str(value);
    if (s !== undefined && facts[key] === undefined) facts[key] = clip(s, max);
  };
  const win = windowsRecord(event);
  if (win) put('event_id', win.eventId);
  const p = event.process;
  put('process', p?.executable ?? p?.name);
  if (p?.pid !== undefined) put('pid', p.pid);
  put('command_line', p?.command_line, MAX_COMMAND_CHARS);
  put('parent', p?.parent?.executable ?? p?.parent?.name);
  put('parent_command_line', p?.parent?.command_line, MAX_COMMAND_CHARS);
  put('user', p?.user?.name ?? event.user?.name);
  if (win) {
    let shown = 0;
    for (const [field, key] of WINDOWS_FACTS) {
      if (shown >= MAX_WINDOWS_FACTS) break;
      const before = facts[key];
      put(key, win.data[field]);
      if (before === undefined && facts[key] !== undefined) shown++;
    }
  }
  put('file', event.file?.path);
  put('registry', event.registry?.path);
  put('query', event.dns?.question?.name);
  const d = event.destination;
  if (d?.domain || d?.ip) put('destination', `${d.domain ?? d.ip}${d.port !== undefined ? `:${d.port}` : ''}`);
  put('url', event.url?.full);
  const cloud = event.coalmine.cloud;
  put('operation', cloud?.operation);
  put('principal', cloud?.principal?.id);
  put('source_ip', event.source?.ip);
  return facts;
}

/** The rule's ATT&CK and CVE tags, lower-cased, at most a few. */
function tagsOf(tags: string[]): string[] {
  const out: string[] = [];
  for (const t of tags) {
    const tag = t.toLowerCase();
    if ((tag.startsWith('attack.') || tag.startsWith('cve.')) && !out.includes(tag)) out.push(clip(tag, 64));
    if (out.length >= MAX_TAGS) break;
  }
  return out;
}

/** The one record of a match, for the timeline and for context. */
export function ruleMatchRecord(event: CoalEvent, match: RuleMatch): RuleMatchRecord {
  const record: RuleMatchRecord = {
    time: event['@timestamp'],
    host: clip(event.host?.name ?? '', MAX_HOST_CHARS),
    rule_id: clip(match.id, 128),
    title: clip(match.title, 256),
    level: clip(match.level, 32),
    tags: tagsOf(match.rule.tags),
    source: formatRef(event.coalmine.ref),
    facts: keyFacts(event),
    mining: match.rule.signal !== undefined,
  };
  if (match.correlation) record.correlation = clip(match.correlation.explanation, 400);
  return record;
}

const TACTIC: Array<[ContextReason, RegExp]> = [
  // initial access and the exploitation techniques (public-facing app, external remote services, client
  // execution, privilege escalation, remote services), web shells (a compromised web server), CVE tags
  [
    'exploitation',
    /^(?:attack\.initial[-_]access|attack\.t1190|attack\.t1133|attack\.t1203|attack\.t1068|attack\.t1210|attack\.t1211|attack\.t1212|attack\.t1505\.003|cve\..+)$/,
  ],
  [
    'credential-access',
    /^(?:attack\.credential[-_]access|attack\.t1003(?:\.\d+)?|attack\.t1552(?:\.\d+)?|attack\.t1555(?:\.\d+)?|attack\.t1558(?:\.\d+)?|attack\.t1110(?:\.\d+)?)$/,
  ],
  ['lateral-movement', /^(?:attack\.lateral[-_]movement|attack\.t1021(?:\.\d+)?|attack\.t1570|attack\.t1210)$/],
  ['defense-evasion', /^(?:attack\.defense[-_]evasion|attack\.t1562(?:\.\d+)?|attack\.t1070(?:\.\d+)?)$/],
];

/** The questions a match helps answer, from its rule's ATT&CK and CVE tags. */
export function reasonsOf(tags: string[]): ContextReason[] {
  const out: ContextReason[] = [];
  for (const [reason, re] of TACTIC) if (tags.some((t) => re.test(t))) out.push(reason);
  return out;
}

interface Held {
  ts: number;
  record: RuleMatchRecord;
}

interface HostContext {
  held: Held[];
  perRule: Map<string, number>;
}

export class ContextStore {
  private readonly limits: ContextLimits;
  /** Insertion order = least recently matched host first. */
  private readonly hosts = new Map<string, HostContext>();
  private total = 0;
  /** Matches let go to stay in bounds (evicted or never kept). */
  dropped = 0;
  /** Context matches of events that name no host: nothing to tie them to. */
  unattributed = 0;

  constructor(limits: Partial<ContextLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Keep the matches of `event` that are not compute hijacking (mining rules are evidence, not context). */
  add(event: CoalEvent, matches: RuleMatch[]): void {
    let facts: Record<string, string> | undefined;
    for (const m of matches) {
      if (m.rule.signal !== undefined) continue;
      const name = event.host?.name;
      if (!name) {
        this.unattributed++;
        continue;
      }
      const record = ruleMatchRecord(event, m);
      // one event's facts shared by its matches
      facts ??= record.facts;
      record.facts = facts;
      this.insert(hostKey(name), { ts: event.coalmine.ts, record });
    }
  }

  /** The held matches on any of `hosts` with `fromMs <= ts <= toMs`, in time order. */
  around(hosts: string[], fromMs: number, toMs: number): Array<{ ts: number; record: RuleMatchRecord }> {
    const out: Held[] = [];
    for (const key of new Set(hosts.map(hostKey))) {
      const h = this.hosts.get(key);
      if (!h) continue;
      for (const x of h.held) if (x.ts >= fromMs && x.ts <= toMs) out.push(x);
    }
    return out.sort((a, b) => a.ts - b.ts);
  }

  /** Matches held now. */
  get size(): number {
    return this.total;
  }

  private insert(key: string, x: Held): void {
    let h = this.hosts.get(key);
    if (h) this.hosts.delete(key);
    else h = { held: [], perRule: new Map() };
    this.hosts.set(key, h);
    const rule = x.record.rule_id;
    if ((h.perRule.get(rule) ?? 0) >= this.limits.perRule)
      this.evict(
        h,
        h.held.findIndex((y) => y.record.rule_id === rule),
      );
    else if (h.held.length >= this.limits.perHost) this.evict(h, 0);
    // matches come in event time; a correlation completed by an earlier event is put in its place
    let i = h.held.length;
    while (i > 0 && h.held[i - 1].ts > x.ts) i--;
    h.held.splice(i, 0, x);
    h.perRule.set(rule, (h.perRule.get(rule) ?? 0) + 1);
    this.total++;
    while (this.total > this.limits.total) {
      const [oldestKey, oldest] = this.hosts.entries().next().value as [string, HostContext];
      if (oldest === h && h.held.length <= 1) break;
      this.evict(oldest, 0);
      if (oldest.held.length === 0) this.hosts.delete(oldestKey);
    }
  }

  private evict(h: HostContext, index: number): void {
    if (index < 0 || index >= h.held.length) return;
    const [gone] = h.held.splice(index, 1);
    const left = (h.perRule.get(gone.record.rule_id) ?? 1) - 1;
    if (left > 0) h.perRule.set(gone.record.rule_id, left);
    else h.perRule.delete(gone.record.rule_id);
    this.total--;
    this.dropped++;
  }
}

/** Host names compare case-insensitively (a Windows Computer name and a DNS name of the same host). */
function hostKey(name: string): string {
  return clip(name, MAX_HOST_CHARS).toLowerCase();
}
