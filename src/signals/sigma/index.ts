/**
 * Loading Sigma rules: read YAML (multi-document files too), collect, compile. Loading never stops
 * at a bad rule: every problem is an error, an unsupported feature or a warning with file:line and a
 * stable code, and the good rules load. A rule's logsource resolves through rules/sigma/logsources.yml;
 * rules are indexed by the Windows EventIDs and event actions it covers. A rule needs no coalmine
 * field: see inferSignal.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import type { CoalEvent } from '../../model/event.js';
import type { SignalClass, SignalKind, Strength } from '../../model/signal.js';
import { packagePath } from '../../util/package-root.js';
import { yamlErrorReason } from '../../util/yaml-error.js';
import {
  type CompileContext,
  CompileError,
  compileCondition,
  compileSelection,
  explainTemplate,
  FieldCache,
  type FieldMap,
  type Predicate,
  rawField,
  requirementOf,
} from './compile.js';
import { ConditionError, parseCondition } from './condition.js';
import {
  type CompiledCorrelation,
  type CorrelationDefinition,
  type CorrelationInput,
  CorrelationParseError,
  parseCorrelation,
} from './correlation.js';
import { applyFilter, type FilterDefinition, FilterParseError, parseFilter } from './filters.js';
import {
  type EventCondition,
  type LogsourceEntry,
  logsourceMatches,
  parseLogsources,
  resolveLogsource,
  windowsRecord,
} from './logsources.js';
import type { Requirement } from './prefilter.js';

export interface RuleLoadIssue {
  file: string;
  line?: number;
  code: string;
  reason: string;
}

/** What a rule says about compute hijacking: the signal its matches raise. */
export interface RuleSignal {
  kind: SignalKind;
  class: SignalClass;
  strength: Strength;
}

export interface CompiledRule {
  id: string;
  /** Sigma's `name`: how correlations and filters may name the rule besides its id. */
  name?: string;
  title: string;
  level: string;
  status: string;
  tags: string[];
  /** The signal a match raises; undefined for rules that are context only (not about compute hijacking). */
  signal?: RuleSignal;
  /**
   * Named by a correlation with `generate: false` (Sigma's default): its matches only feed correlations
   * and are not reported, nor raise a signal, of their own.
   */
  silent?: boolean;
  /** Index keys (see logsources.ts): `w:<EventID>`, `w:*`, `a:<action>`, `a:*`. */
  keys: string[];
  /** The events its logsource reads (rules/sigma/logsources.yml). */
  logsource: EventCondition[];
  /** The literal tests every event it matches passes (prefilter.ts); absent or empty: always run it. */
  requires?: Requirement;
  /** `cache` holds field values already read for this event, shared by all rules run on it. */
  matches(event: CoalEvent, cache?: FieldCache): boolean;
  explain(event: CoalEvent): string;
}

/** A loaded correlation: what it evaluates, and the rule-shaped face its matches are reported under. */
export interface LoadedCorrelation extends CompiledCorrelation {
  /** id, title, level, tags and signal as a RuleMatch carries them; it is in no index and matches no event alone. */
  rule: CompiledRule;
}

/** A loaded filter: which rules it tunes (ids, resolved). */
export interface LoadedFilter {
  id: string;
  title: string;
  rules: string[];
}

export interface RuleSet {
  rules: CompiledRule[];
  /** Correlation rules, each after the correlations it reads. */
  correlations: LoadedCorrelation[];
  filters: LoadedFilter[];
  /** Rules by index key (see CompiledRule.keys). */
  byKey: Map<string, CompiledRule[]>;
  errors: RuleLoadIssue[];
  /** Valid Sigma coalmine cannot run (regex shapes, placeholders without values, correlations over unloaded rules). */
  unsupported: RuleLoadIssue[];
  warnings: RuleLoadIssue[];
}

export interface LoadOptions {
  /** Values for `|expand` placeholders; a rule using one without a value is reported and not loaded. */
  placeholders?: Record<string, string[]>;
}

const PIPELINE = packagePath('rules', 'sigma', 'pipeline-ecs.yml');
const LOGSOURCES = packagePath('rules', 'sigma', 'logsources.yml');
const FAMILIES = packagePath('rules', 'sigma', 'mining-families.yml');
const MAX_RULE_FILE_BYTES = 1024 * 1024;
const MAX_FILES = 20_000;

const KINDS = new Set<string>([
  'miner-process',
  'proxyware-process',
  'dropper',
  'masquerade',
  'miner-tuning',
  'obfuscation',
  'persistence',
  'competitor-kill',
  'pool-contact',
  'mining-port',
  'proxyware-endpoint',
  'proxy-relay',
  'crypto-p2p',
  'sustained-cpu',
  'sustained-gpu',
  'high-memory',
  'hidden-cpu',
] satisfies SignalKind[]);
const CLASSES = new Set<string>([
  'resource',
  'process',
  'network',
  'persistence',
  'kill',
  'authorization',
  'cloud',
] satisfies SignalClass[]);
const LEVEL_STRENGTH: Record<string, Strength> = {
  critical: 'strong',
  high: 'strong',
  medium: 'medium',
  low: 'weak',
  informational: 'weak',
};
const WEAKER: Record<Strength, Strength> = { strong: 'medium', medium: 'weak', weak: 'weak' };
/** Titles of the mining rule families that carry no T1496 tag (SigmaHQ: XMRig, pools, coin miners, …). */
const MINING_TITLE =
  /crypto ?-?(?:currency )?min(?:er|ing)|coin ?-?min(?:er|ing)|\bxmrig\b|monero|\bminer\b|mining pool|stratum/i;
const NETWORK_CATEGORIES = new Set(['network_connection', 'dns_query', 'dns', 'firewall', 'proxy']);
const PERSISTENCE_CATEGORIES = new Set(['registry_set', 'registry_add', 'registry_event', 'file_event', 'file_change']);

/**
 * The signal a rule without a `coalmine:` block raises: a rule tagged T1496 (or of a known mining
 * family) is evidence of the leg its logsource implies, strength from level, one step weaker while
 * the rule is experimental or test. Other rules raise nothing (their matches are context).
 */
export function inferSignal(
  tags: string[],
  title: string,
  level: string,
  status: string,
  logsource: { category?: string; service?: string; product?: string },
  family = false,
): RuleSignal | undefined {
  const mining = family || tags.some((t) => t.toLowerCase().startsWith('attack.t1496')) || MINING_TITLE.test(title);
  if (!mining) return undefined;
  const category = logsource.category?.toLowerCase() ?? '';
  const service = logsource.service?.toLowerCase() ?? '';
  let strength = LEVEL_STRENGTH[level] ?? 'weak';
  if (status === 'experimental' || status === 'test') strength = WEAKER[strength];
  if (NETWORK_CATEGORIES.has(category) || service === 'dns' || service === 'conn' || service === 'firewall')
    return { kind: 'pool-contact', class: 'network', strength };
  if (category === 'driver_load') return { kind: 'miner-tuning', class: 'process', strength };
  if (PERSISTENCE_CATEGORIES.has(category) || tags.some((t) => t.toLowerCase() === 'attack.persistence'))
    return { kind: 'persistence', class: 'persistence', strength };
  return { kind: 'miner-process', class: 'process', strength };
}

let pipelineCache: FieldMap | undefined;
async function fieldMap(): Promise<FieldMap> {
  if (!pipelineCache) {
    const doc = parseAllDocuments(await readFile(PIPELINE, 'utf8'))[0];
    const js = (doc && 'toJS' in doc ? doc.toJS() : {}) as { fields?: FieldMap };
    pipelineCache = js.fields ?? {};
  }
  return pipelineCache;
}

/** Mining families by rule id: the kind and class their content implies when it is not their logsource's. */
type Families = Map<string, Pick<RuleSignal, 'kind' | 'class'> | undefined>;
let familyCache: Families | undefined;
async function miningFamilies(): Promise<Families> {
  if (!familyCache) {
    const doc = parseAllDocuments(await readFile(FAMILIES, 'utf8'))[0];
    const js = (doc && 'toJS' in doc ? doc.toJS() : {}) as { rules?: Record<string, unknown> };
    familyCache = new Map();
    for (const [id, v] of Object.entries(js.rules ?? {})) {
      const o = v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
      if (o.kind === undefined) {
        familyCache.set(id, undefined);
        continue;
      }
      const kind = String(o.kind);
      const cls = String(o.class ?? '');
      // the file ships with coalmine: a wrong kind is a bug, and every rule load (and test) says so
      if (!KINDS.has(kind) || !CLASSES.has(cls))
        throw new Error(`${FAMILIES}: ${id}: no such kind/class ${kind}/${cls}`);
      familyCache.set(id, { kind: kind as SignalKind, class: cls as SignalClass });
    }
  }
  return familyCache;
}

let logsourceCache: LogsourceEntry[] | undefined;
async function logsourceEntries(): Promise<LogsourceEntry[]> {
  if (!logsourceCache) {
    const doc = parseAllDocuments(await readFile(LOGSOURCES, 'utf8'))[0];
    const parsed = parseLogsources(doc && 'toJS' in doc ? doc.toJS() : undefined);
    // the file ships with coalmine: a malformed entry is a bug, caught by the unit test
    if (parsed.problems.length > 0) throw new Error(`${LOGSOURCES}: ${parsed.problems.join('; ')}`);
    logsourceCache = parsed.entries;
  }
  return logsourceCache;
}

/**
 * Rule files are read with the synchronous calls: thousands of small files through the promise API
 * spent a third of SigmaHQ's load in file-handle round trips and waiting.
 */
function collectFiles(path: string, out: string[], errors: RuleLoadIssue[]): void {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (err) {
    errors.push({ file: path, code: 'RULE_UNREADABLE', reason: (err as Error).message });
    return;
  }
  if (st.isFile()) {
    out.push(path);
    return;
  }
  if (!st.isDirectory()) return;
  for (const name of readdirSync(path).sort()) {
    if (out.length >= MAX_FILES) return;
    const child = join(path, name);
    if (name.startsWith('pipeline-')) continue;
    const cst = statSync(child, { throwIfNoEntry: false });
    if (cst?.isDirectory()) collectFiles(child, out, errors);
    else if (/\.ya?ml$/.test(name)) out.push(child);
  }
}

type Doc = Record<string, unknown>;

interface LoadState {
  set: RuleSet;
  map: FieldMap;
  entries: LogsourceEntry[];
  /** Rule ids of mining families without a T1496 tag (rules/sigma/mining-families.yml). */
  families: Families;
  options: LoadOptions;
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/**
 * A rule's (or filter's) detection → one predicate: its selections, then its condition (several
 * conditions: any). Throws ConditionError or CompileError.
 */
function compileDetection(detection: Record<string, unknown>, ctx: CompileContext): Predicate {
  const conditionRaw = detection.condition;
  const conditionTexts =
    typeof conditionRaw === 'string'
      ? [conditionRaw]
      : Array.isArray(conditionRaw) && conditionRaw.length > 0 && conditionRaw.every((c) => typeof c === 'string')
        ? (conditionRaw as string[])
        : undefined;
  if (!conditionTexts) throw new CompileError('detection.condition must be a string', 'RULE_BAD_CONDITION');
  const selections = new Map<string, Predicate>();
  for (const [name, body] of Object.entries(detection)) {
    if (name === 'condition' || name === 'timeframe') continue;
    selections.set(name, compileSelection(name, body, ctx));
  }
  const parts = conditionTexts.map((c) => compileCondition(parseCondition(c), selections));
  return parts.length === 1 ? parts[0] : (e, c) => parts.some((p) => p(e, c));
}

function compileRule(doc: Doc, file: string, line: number, state: LoadState): CompiledRule | undefined {
  const { set, map } = state;
  const err = (code: string, reason: string) => {
    set.errors.push({ file, line, code, reason });
    return undefined;
  };
  const unsupported = (code: string, reason: string) => {
    set.unsupported.push({ file, line, code, reason });
    return undefined;
  };
  const id = text(doc.id);
  const title = text(doc.title);
  if (!id || !title) return err('RULE_MISSING_FIELD', 'a rule needs a string id and title');
  const logsourceRaw = (doc.logsource ?? {}) as Record<string, unknown>;
  const logsource = {
    product: text(logsourceRaw.product),
    category: text(logsourceRaw.category),
    service: text(logsourceRaw.service),
  };
  const resolved = resolveLogsource(logsource, state.entries);
  if (!resolved) {
    const named = Object.entries(logsource)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ');
    set.warnings.push({
      file,
      line,
      code: 'RULE_UNKNOWN_LOGSOURCE',
      reason: `rule ${id}: logsource {${named}} is not one coalmine has events for; rule not loaded`,
    });
    return undefined;
  }
  const level = String(doc.level ?? 'medium').toLowerCase();
  const status = String(doc.status ?? 'stable').toLowerCase();
  const tags = Array.isArray(doc.tags) ? doc.tags.map(String) : [];
  const block =
    doc.coalmine && typeof doc.coalmine === 'object' ? (doc.coalmine as Record<string, unknown>) : undefined;
  let signal: RuleSignal | undefined;
  if (block && block.kind !== undefined) {
    const kind = String(block.kind);
    if (!KINDS.has(kind))
      return err('RULE_NO_SIGNAL', `rule ${id}: coalmine.kind must be a signal kind (${[...KINDS].join(', ')})`);
    const cls = String(block.class ?? 'process');
    if (!CLASSES.has(cls)) return err('RULE_NO_SIGNAL', `rule ${id}: coalmine.class "${cls}" is not a signal class`);
    const strength = (block.strength ?? LEVEL_STRENGTH[level] ?? 'medium') as Strength;
    if (!['weak', 'medium', 'strong'].includes(strength))
      return err('RULE_NO_SIGNAL', `rule ${id}: strength must be weak, medium or strong`);
    signal = { kind: kind as SignalKind, class: cls as SignalClass, strength };
  } else {
    signal = inferSignal(tags, title, level, status, logsource, state.families.has(id));
    const family = state.families.get(id);
    if (signal && family) signal = { ...signal, ...family };
  }
  const detection = doc.detection as Record<string, unknown> | undefined;
  if (!detection || typeof detection !== 'object') return err('RULE_BAD_DETECTION', `rule ${id}: no detection`);
  const ctx: CompileContext = { map, placeholders: state.options.placeholders ?? {}, unmapped: new Set() };
  let predicate: Predicate;
  try {
    predicate = compileDetection(detection, ctx);
  } catch (e) {
    if (e instanceof ConditionError) return err('RULE_BAD_CONDITION', `rule ${id}: ${e.message}`);
    if (e instanceof CompileError)
      return e.unsupported ? unsupported(e.code, `rule ${id}: ${e.message}`) : err(e.code, `rule ${id}: ${e.message}`);
    throw e;
  }
  if (resolved.ecsOnly)
    for (const f of ctx.unmapped)
      set.warnings.push({
        file,
        line,
        code: 'RULE_UNMAPPED_FIELD',
        reason: `rule ${id}: field "${f}" is not in the field mapping; it is read from the source record (original.${f})`,
      });
  const explain = explainTemplate(block && typeof block.explain === 'string' ? block.explain : title, map);
  const conditions = resolved.conditions;
  const ruleName = text(doc.name);
  return {
    id,
    ...(ruleName !== undefined && ruleName.length <= 256 ? { name: ruleName } : {}),
    title,
    level,
    status,
    tags,
    signal,
    keys: resolved.keys,
    logsource: conditions,
    requires: requirementOf(predicate),
    matches: (event, cache = new FieldCache()) => {
      if (!logsourceMatches(conditions, event, windowsRecord(event))) return false;
      return predicate(event, cache);
    },
    explain,
  };
}

export async function loadRules(paths: string[], options: LoadOptions = {}): Promise<RuleSet> {
  const set: RuleSet = {
    rules: [],
    correlations: [],
    filters: [],
    byKey: new Map(),
    errors: [],
    unsupported: [],
    warnings: [],
  };
  const files: string[] = [];
  for (const p of paths) collectFiles(p, files, set.errors);
  const state: LoadState = {
    set,
    map: await fieldMap(),
    entries: await logsourceEntries(),
    families: await miningFamilies(),
    options,
  };
  const ids = new Map<string, string>();
  /** Ids and names of every rule document read, loaded or not: a reference to one not loaded is not unknown. */
  const declared = new Set<string>();
  const metaRules: MetaDoc[] = [];
  for (const file of files) {
    let source: string;
    try {
      const buf = readFileSync(file);
      if (buf.length > MAX_RULE_FILE_BYTES) {
        set.errors.push({ file, code: 'RULE_TOO_LARGE', reason: `over ${MAX_RULE_FILE_BYTES} bytes` });
        continue;
      }
      source = buf.toString('utf8');
    } catch (e) {
      set.errors.push({ file, code: 'RULE_UNREADABLE', reason: (e as Error).message });
      continue;
    }
    const lines = new LineCounter();
    // a multi-document file whose first document is `action: global` is Sigma v1's shared part: merged into the rest
    let global: Doc | undefined;
    for (const doc of parseAllDocuments(source, { lineCounter: lines, uniqueKeys: true })) {
      const start = doc.contents?.range?.[0] ?? doc.range?.[0];
      const line = start !== undefined ? lines.linePos(start).line : 1;
      if (doc.errors.length > 0) {
        for (const e of doc.errors)
          set.errors.push({
            file,
            line: e.linePos?.[0].line ?? line,
            code: 'RULE_YAML',
            reason: yamlErrorReason(e.message),
          });
        continue;
      }
      let js: unknown;
      try {
        js = doc.toJS({ maxAliasCount: 16 });
      } catch (e) {
        set.errors.push({ file, line, code: 'RULE_YAML', reason: (e as Error).message });
        continue;
      }
      if (js === null || js === undefined) continue;
      if (typeof js !== 'object' || Array.isArray(js)) {
        set.errors.push({ file, line, code: 'RULE_YAML', reason: 'a rule must be a mapping' });
        continue;
      }
      let rule = js as Doc;
      if (rule.action === 'global') {
        global = rule;
        continue;
      }
      // correlations and filters name rules that may come later (in this file or another): read after all rules
      if (rule.correlation !== undefined || rule.filter !== undefined) {
        metaRules.push({ doc: rule, file, line });
        continue;
      }
      if (global) rule = mergeGlobal(global, rule);
      for (const key of [rule.id, rule.name]) if (typeof key === 'string') declared.add(key);
      const compiled = compileRule(rule, file, line, state);
      if (!compiled) continue;
      if (!claimId(set, ids, compiled.id, file, line)) continue;
      set.rules.push(compiled);
      for (const k of compiled.keys) {
        const list = set.byKey.get(k) ?? [];
        list.push(compiled);
        set.byKey.set(k, list);
      }
    }
  }
  loadCorrelations(
    metaRules.filter((m) => m.doc.correlation !== undefined),
    state,
    ids,
    declared,
  );
  loadFilters(
    metaRules.filter((m) => m.doc.correlation === undefined),
    state,
    declared,
  );
  return set;
}

/** Rules and correlations share one id space: the first to use an id keeps it, a later one is an error. */
function claimId(set: RuleSet, ids: Map<string, string>, id: string, file: string, line: number): boolean {
  const prior = ids.get(id);
  if (prior) {
    set.errors.push({ file, line, code: 'RULE_DUPLICATE_ID', reason: `rule id ${id} is already defined in ${prior}` });
    return false;
  }
  ids.set(id, `${file}:${line}`);
  return true;
}

interface MetaDoc {
  doc: Doc;
  file: string;
  line: number;
}

/** A field's values on an event as text, by the same precedence as a rule's fields (compile.ts rawField). */
function fieldText(map: FieldMap): (event: CoalEvent, field: string) => string[] {
  return (event, field) => {
    const raw = rawField(event, field, map);
    const out: string[] = [];
    for (const v of Array.isArray(raw) ? raw.slice(0, 64) : [raw])
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out.push(String(v));
    return out;
  };
}

/**
 * Correlations after all rules: each names rules or other correlations by id or name; one naming a rule
 * that was read but not loaded is unsupported (it could never fire as written), one naming nothing known
 * is an error, and so is a cycle. The rules a correlation names are silent unless one naming them says
 * `generate: true`.
 */
function loadCorrelations(docs: MetaDoc[], state: LoadState, ids: Map<string, string>, declared: Set<string>): void {
  const { set } = state;
  const defs = new Map<string, { def: CorrelationDefinition; file: string; line: number }>();
  const byName = new Map<string, string>();
  for (const { doc, file, line } of docs) {
    let def: CorrelationDefinition;
    try {
      def = parseCorrelation(doc);
    } catch (e) {
      if (!(e instanceof CorrelationParseError)) throw e;
      (e.unsupported ? set.unsupported : set.errors).push({ file, line, code: e.code, reason: e.message });
      for (const key of [doc.id, doc.name]) if (typeof key === 'string') declared.add(key);
      continue;
    }
    if (!claimId(set, ids, def.id, file, line)) continue;
    defs.set(def.id, { def, file, line });
    if (def.name !== undefined && !byName.has(def.name)) byName.set(def.name, def.id);
  }
  const rulesByRef = new Map<string, CompiledRule>();
  for (const r of set.rules) rulesByRef.set(r.id, r);
  for (const r of set.rules) if (r.name !== undefined && !rulesByRef.has(r.name)) rulesByRef.set(r.name, r);
  const done = new Map<string, LoadedCorrelation | null>();
  const visiting = new Set<string>();
  const read = fieldText(state.map);
  const resolve = (id: string): LoadedCorrelation | null => {
    const have = done.get(id);
    if (have !== undefined) return have;
    const entry = defs.get(id) as { def: CorrelationDefinition; file: string; line: number };
    const { def, file, line } = entry;
    const fail = (list: RuleLoadIssue[], code: string, reason: string) => {
      list.push({ file, line, code, reason: `correlation ${def.id}: ${reason}` });
      done.set(id, null);
      return null;
    };
    if (visiting.has(id)) return fail(set.errors, 'CORRELATION_CYCLE', 'names itself through the rules it reads');
    visiting.add(id);
    const inputs: CorrelationInput[] = [];
    const signals: RuleSignal[] = [];
    for (const ref of def.refs) {
      const rule = rulesByRef.get(ref);
      const corrId = defs.has(ref) ? ref : byName.get(ref);
      if (rule) {
        inputs.push({ id: rule.id, name: rule.name });
        if (rule.signal) signals.push(rule.signal);
      } else if (corrId !== undefined) {
        const inner = resolve(corrId);
        if (!inner) {
          visiting.delete(id);
          return fail(set.unsupported, 'CORRELATION_RULE_NOT_LOADED', `correlation ${ref} it reads is not loaded`);
        }
        inputs.push({ id: inner.def.id, name: inner.def.name });
        if (inner.rule.signal) signals.push(inner.rule.signal);
      } else if (declared.has(ref)) {
        visiting.delete(id);
        return fail(
          set.unsupported,
          'CORRELATION_RULE_NOT_LOADED',
          `rule ${ref} it reads is not loaded (see its own report)`,
        );
      } else {
        visiting.delete(id);
        return fail(set.errors, 'CORRELATION_UNKNOWN_RULE', `names rule "${ref}", which no loaded file defines`);
      }
    }
    visiting.delete(id);
    // a correlation is mining by its own tags, title or family; else by the mining rules it reads
    const own = inferSignal(def.tags, def.title, def.level, def.status, {}, state.families.has(def.id));
    const leg = signals[0];
    const strength = (own ?? inferSignal(['attack.t1496'], def.title, def.level, def.status, {}))?.strength;
    const signal: RuleSignal | undefined =
      own && leg
        ? { kind: leg.kind, class: leg.class, strength: own.strength }
        : (own ?? (leg && strength ? { kind: leg.kind, class: leg.class, strength } : undefined));
    const loaded: LoadedCorrelation = {
      def,
      inputs,
      read,
      rule: {
        id: def.id,
        ...(def.name !== undefined ? { name: def.name } : {}),
        title: def.title,
        level: def.level,
        status: def.status,
        tags: def.tags,
        signal,
        keys: [],
        logsource: [],
        matches: () => false,
        explain: () => def.title,
      },
    };
    done.set(id, loaded);
    set.correlations.push(loaded);
    return loaded;
  };
  for (const id of defs.keys()) resolve(id);
  // silent: named by some correlation, and by none that says generate: true
  const loud = new Set<string>();
  const named = new Set<string>();
  for (const c of set.correlations)
    for (const input of c.inputs) {
      named.add(input.id);
      if (c.def.generate) loud.add(input.id);
    }
  for (const r of set.rules) if (named.has(r.id) && !loud.has(r.id)) r.silent = true;
  for (const c of set.correlations) if (named.has(c.def.id) && !loud.has(c.def.id)) c.rule.silent = true;
}

/** Filters after all rules: each wraps the rules it names (unknown names are warned: that rule set may not be loaded). */
function loadFilters(docs: MetaDoc[], state: LoadState, declared: Set<string>): void {
  const { set } = state;
  const byRef = new Map<string, CompiledRule>();
  for (const r of set.rules) byRef.set(r.id, r);
  for (const r of set.rules) if (r.name !== undefined && !byRef.has(r.name)) byRef.set(r.name, r);
  for (const { doc, file, line } of docs) {
    let def: FilterDefinition;
    try {
      def = parseFilter(doc);
    } catch (e) {
      if (!(e instanceof FilterParseError)) throw e;
      set.errors.push({ file, line, code: e.code, reason: e.message });
      continue;
    }
    const resolved = resolveLogsource(def.logsource, state.entries);
    if (!resolved) {
      set.warnings.push({
        file,
        line,
        code: 'FILTER_UNKNOWN_LOGSOURCE',
        reason: `filter ${def.id}: its logsource is not one coalmine has events for; filter not loaded`,
      });
      continue;
    }
    const ctx: CompileContext = { map: state.map, placeholders: state.options.placeholders ?? {}, unmapped: new Set() };
    let predicate: Predicate;
    try {
      predicate = compileDetection(def.detection, ctx);
    } catch (e) {
      if (e instanceof ConditionError) {
        set.errors.push({ file, line, code: 'RULE_BAD_CONDITION', reason: `filter ${def.id}: ${e.message}` });
        continue;
      }
      if (e instanceof CompileError) {
        (e.unsupported ? set.unsupported : set.errors).push({
          file,
          line,
          code: e.code,
          reason: `filter ${def.id}: ${e.message}`,
        });
        continue;
      }
      throw e;
    }
    const conditions = resolved.conditions;
    const applies = (event: CoalEvent) => logsourceMatches(conditions, event, windowsRecord(event));
    const tuned: string[] = [];
    for (const ref of def.refs) {
      const rule = byRef.get(ref);
      if (!rule) {
        set.warnings.push({
          file,
          line,
          code: 'FILTER_UNKNOWN_RULE',
          reason: `filter ${def.id}: rule "${ref}" is ${declared.has(ref) ? 'not loaded' : 'not in the rules loaded'}; nothing to filter`,
        });
        continue;
      }
      applyFilter(rule, applies, predicate);
      tuned.push(rule.id);
    }
    set.filters.push({ id: def.id, title: def.title, rules: tuned });
  }
}

function mergeGlobal(global: Doc, rule: Doc): Doc {
  const out: Doc = { ...global, ...rule };
  delete out.action;
  for (const key of ['logsource', 'detection'])
    if (global[key] && typeof global[key] === 'object' && rule[key] && typeof rule[key] === 'object')
      out[key] = { ...(global[key] as Doc), ...(rule[key] as Doc) };
  return out;
}
