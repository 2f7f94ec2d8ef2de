/**
 * Matched Sigma rules, per event: `matchRules` is the API for every match (rule id, level, title),
 * whether or not the rule is about compute hijacking; `ruleSignals` turns the matches of rules that
 * raise a signal into signals, through the same `signalFor` as every classifier. Correlation rules are
 * evaluated over those matches by a run's `Correlator` (`newCorrelator`): a completed correlation is
 * reported like any rule's match (RuleMatch with `correlation` set) on the event that completed it, and a
 * mining one is a signal there; rules a correlation reads with `generate: false` report nothing alone.
 */
import type { CoalEvent } from '../model/event.js';
import type { Signal } from '../model/signal.js';
import { packagePath } from '../util/package-root.js';
import { signalFor } from './make.js';
import { FieldCache } from './sigma/compile.js';
import { type CorrelationHit, type CorrelationType, Correlator } from './sigma/correlation.js';
import type { CompiledRule, LoadedCorrelation, RuleSet } from './sigma/index.js';
import { conditionReadsRecord, logsourceMatches, windowsRecord } from './sigma/logsources.js';
import { RulePrefilter } from './sigma/prefilter.js';

/** The rules `hunt` loads by default: the stable set shipped in the repository. */
export const DEFAULT_RULE_DIRS: string[] = [packagePath('rules', 'stable')];

/** One rule matching one event: what the scope-of-compromise context reports. */
export interface RuleMatch {
  id: string;
  level: string;
  title: string;
  rule: CompiledRule;
  /** Set when the rule is a correlation: what it counted, over which group, since when. */
  correlation?: CorrelationMatch;
}

export interface CorrelationMatch {
  type: CorrelationType;
  /** Events, distinct values or rules seen, by type. */
  count: number;
  /** The group's values, by group-by name. */
  group: Array<[string, string]>;
  /** Event time (epoch ms) of the first match counted. */
  firstTs: number;
  /** What was seen, in words (`5 matches of failed_logon within 5m, TargetUserName=bob`). */
  explanation: string;
}

const NONE: CompiledRule[] = [];

/**
 * The rules that may read `event`: a Windows record's by its EventID (and channel-wide rules), any
 * other event's by its action, then only those whose logsource reads it. What a logsource reads is
 * decided by the record's EventID, provider and channel and the event's action, platform and format
 * (logsources.ts logsourceMatches), so the list is built once per such kind of event. A rule indexed
 * under both keys is run once.
 */
function candidates(ruleSet: RuleSet, event: CoalEvent): CompiledRule[] {
  const lists = candidateListsOf(ruleSet);
  const win = windowsRecord(event);
  const action = event.event.action;
  if (!win) {
    // a non-Windows event's kind is looked up part by part: no key string is built per event
    const platforms = lists.byAction.get(action);
    // an action no rule is indexed under (a metric sample, a connection with no network rule loaded)
    if (platforms === null) return NONE;
    const known = platforms?.get(event.host?.os?.platform ?? '')?.get(event.coalmine.format);
    if (known) return known;
  }
  const platform = event.host?.os?.platform ?? '';
  const format = event.coalmine.format;
  if (win) {
    const known = lists.byRecord.get(win.eventId, win.provider, win.channel, action, platform, format);
    if (known) return known;
  }
  const key = win ? `w:${win.eventId}` : `a:${action}`;
  let list = lists.byKey.get(key);
  if (!list) {
    const a = ruleSet.byKey.get(key) ?? NONE;
    const b = ruleSet.byKey.get(win ? 'w:*' : 'a:*') ?? NONE;
    list = b.length === 0 ? a : a.length === 0 ? b : [...new Set([...a, ...b])];
    // only keys some rule is indexed under are kept (bounded by the rules); the others' list is b itself
    if (a.length > 0) lists.byKey.set(key, list);
  }
  // kinds of events are few; past the bound (a hostile file of random EventIDs, channels or actions, or
  // names too long to keep as keys) the key's list, unnarrowed: each rule still checks its logsource itself
  const kindChars =
    action.length + platform.length + format.length + (win ? win.provider.length + win.channel.length : 0);
  if (lists.kinds >= 4096 || kindChars > MAX_KIND_CHARS) return list;
  lists.kinds++;
  if (!win && list.length === 0) {
    lists.byAction.set(action, null);
    return NONE;
  }
  const narrowed = list.filter((r) => logsourceMatches(r.logsource, event, win));
  if (win) lists.byRecord.set(narrowed, win.eventId, win.provider, win.channel, action, platform, format);
  else {
    let byPlatform = lists.byAction.get(action);
    if (!byPlatform) {
      byPlatform = new Map();
      lists.byAction.set(action, byPlatform);
    }
    let byFormat = byPlatform.get(platform);
    if (!byFormat) {
      byFormat = new Map();
      byPlatform.set(platform, byFormat);
    }
    byFormat.set(format, narrowed);
  }
  return narrowed;
}

/** Longest kind-of-event key kept (provider and channel names are the record's, up to 64 KiB each). */
const MAX_KIND_CHARS = 512;

/**
 * Windows records' kinds, by EventID, provider, channel, action, platform and format, one map level per
 * part: no key string is built per record.
 */
class RecordKinds {
  private readonly root: KindLevel = new Map();

  get(eventId: number, provider: string, channel: string, action: string, platform: string, format: string) {
    const last = down(down(down(down(down(this.root, eventId), provider), channel), action), platform);
    return last?.get(format) as CompiledRule[] | undefined;
  }

  set(rules: CompiledRule[], ...kind: RecordKind): void {
    let level = this.root;
    for (let i = 0; i < kind.length - 1; i++) {
      let next = level.get(kind[i]) as KindLevel | undefined;
      if (!next) {
        next = new Map();
        level.set(kind[i], next);
      }
      level = next;
    }
    level.set(kind[kind.length - 1], rules);
  }
}

function down(level: KindLevel | undefined, key: string | number): KindLevel | undefined {
  return level?.get(key) as KindLevel | undefined;
}

type RecordKind = [
  eventId: number,
  provider: string,
  channel: string,
  action: string,
  platform: string,
  format: string,
];
type KindLevel = Map<string | number, KindLevel | CompiledRule[]>;

/** Per rule set, the candidate lists by kind of event and by index key, built on first use. */
interface CandidateLists {
  byRecord: RecordKinds;
  /** Other events' kinds, by action, then platform, then format; null for an action no rule reads. */
  byAction: Map<string, Map<string, Map<string, CompiledRule[]>> | null>;
  /** Kinds kept in both. */
  kinds: number;
  byKey: Map<string, CompiledRule[]>;
}
const MERGED = new WeakMap<RuleSet, CandidateLists>();
/** The rule set of the event before and its lists: a run matches one rule set, event after event. */
let lastRuleSet: RuleSet | undefined;
let lastLists: CandidateLists | undefined;

function candidateListsOf(ruleSet: RuleSet): CandidateLists {
  if (ruleSet === lastRuleSet && lastLists) return lastLists;
  let lists = MERGED.get(ruleSet);
  if (!lists) {
    lists = { byRecord: new RecordKinds(), byAction: new Map(), kinds: 0, byKey: new Map() };
    MERGED.set(ruleSet, lists);
  }
  lastRuleSet = ruleSet;
  lastLists = lists;
  return lists;
}

/**
 * Whether some rule of `ruleSet` could read a Windows record with this EventID (by the rules' index):
 * the sources keep records no analytic reads only for such rules (SourceContext.keepWindowsRecord).
 */
export function windowsRecordFilter(ruleSet: RuleSet): (provider: string, channel: string, eventId: number) => boolean {
  const wide = ruleSet.byKey.get('w:*') ?? NONE;
  const known = new Map<string, boolean>();
  return (provider, channel, eventId) => {
    const key = `${provider}|${channel}|${eventId}`;
    let keep = known.get(key);
    if (keep === undefined) {
      const rules = [...(ruleSet.byKey.get(`w:${eventId}`) ?? NONE), ...wide];
      keep = rules.some((r) => r.logsource.some((c) => conditionReadsRecord(c, provider, channel, eventId)));
      if (known.size < 4096) known.set(key, keep);
    }
    return keep;
  };
}

/** Per candidate list, the literal prefilter over its rules (sigma/prefilter.ts), built on first use. */
const PREFILTERS = new WeakMap<CompiledRule[], RulePrefilter>();
/** The field values of the event being matched, reused event after event (matching is synchronous). */
const FIELDS = new FieldCache();

/**
 * Every rule of `ruleSet` matching `event`, in load order, appended to `out`: of the candidates, only
 * those whose literal prerequisites the event meets run their condition.
 */
export function matchRules(ruleSet: RuleSet, event: CoalEvent, out: RuleMatch[]): void {
  const rules = candidates(ruleSet, event);
  if (rules.length === 0) return;
  let prefilter = PREFILTERS.get(rules);
  if (!prefilter) {
    prefilter = new RulePrefilter(rules.map((r) => r.requires));
    PREFILTERS.set(rules, prefilter);
  }
  FIELDS.reset();
  const count = prefilter.select(event, FIELDS);
  const selected = prefilter.selected;
  for (let k = 0; k < count; k++) {
    const rule = rules[selected[k]];
    if (rule.matches(event, FIELDS)) out.push({ id: rule.id, level: rule.level, title: rule.title, rule });
  }
}

/** One run's correlation state over `ruleSet`'s correlations; undefined when it has none. */
export function newCorrelator(ruleSet: RuleSet): Correlator | undefined {
  return ruleSet.correlations.length > 0 ? new Correlator(ruleSet.correlations) : undefined;
}

function spanText(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const)
    if (ms % size === 0) return `${ms / size}${unit}`;
  return `${Math.round(ms / 1000)}s`;
}

function correlationMatch(hit: CorrelationHit): RuleMatch {
  const c = hit.correlation as LoadedCorrelation;
  const { def, inputs } = c;
  const names = inputs.map((i) => i.name ?? i.id).join(', ');
  const what =
    def.type === 'event_count'
      ? `${hit.count} matches of ${names}`
      : def.type === 'value_count'
        ? `${hit.count} distinct ${def.field} values in matches of ${names}`
        : `${hit.count} of ${inputs.length} rules (${names})${def.type === 'temporal_ordered' ? ' in order' : ''}`;
  const group = hit.group.map(([k, v]) => `${k}=${v === '' ? '(none)' : v}`).join(', ');
  const explanation = `${def.title}: ${what} within ${spanText(def.timespanMs)}${group ? `, ${group}` : ''}`;
  return {
    id: c.rule.id,
    level: c.rule.level,
    title: c.rule.title,
    rule: c.rule,
    correlation: { type: def.type, count: hit.count, group: hit.group, firstTs: hit.firstTs, explanation },
  };
}

function pushSignal(event: CoalEvent, rule: CompiledRule, explanation: string, out: Signal[]): void {
  if (!rule.signal) return;
  out.push(
    signalFor(event, {
      kind: rule.signal.kind,
      class: rule.signal.class,
      strength: rule.signal.strength,
      by: `rule:${rule.id}`,
      explanation,
    }),
  );
}

/** The matches of the event being judged, before they are copied (matching is synchronous). */
const MATCHED: RuleMatch[] = [];

/**
 * Signals of the matching rules that raise one; `onMatch` (when given) receives every reported match of
 * the event, signal or not, for context. With a `correlator`, the matches also feed the run's
 * correlations, and each correlation they complete is reported and signalled on the event that
 * completed it (a window judged at its close completes on its last match, an earlier event).
 */
export function ruleSignals(
  ruleSet: RuleSet,
  event: CoalEvent,
  out: Signal[],
  onMatch?: (event: CoalEvent, matches: RuleMatch[]) => void,
  correlator?: Correlator,
): void {
  // most events match nothing: one array serves them all, and a match's list is its own copy
  MATCHED.length = 0;
  matchRules(ruleSet, event, MATCHED);
  if (MATCHED.length === 0) return;
  const found = MATCHED.slice();
  const matches = found.some((m) => m.rule.silent) ? found.filter((m) => !m.rule.silent) : found;
  if (onMatch && matches.length > 0) onMatch(event, matches);
  for (const { rule } of matches) pushSignal(event, rule, rule.explain(event), out);
  if (!correlator) return;
  const read = found.filter((m) => correlator.reads(m.id)).map((m) => m.id);
  if (read.length === 0) return;
  for (const hit of correlator.observe(event, read)) {
    const match = correlationMatch(hit);
    if (match.rule.silent) continue;
    if (onMatch) onMatch(hit.event, [match]);
    pushSignal(hit.event, match.rule, (match.correlation as CorrelationMatch).explanation, out);
  }
}
