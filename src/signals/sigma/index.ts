/**
 * Loading Sigma rules: read YAML (multi-document files too), collect, compile. Loading never stops
 * at a bad rule: every problem is an error or warning with file:line and a stable code, and the good
 * rules load. Rules are indexed by the event actions their logsource covers.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, parseAllDocuments } from 'yaml';
import type { CoalEvent, EventAction } from '../../model/event.js';
import type { SignalClass, SignalKind, Strength } from '../../model/signal.js';
import {
  CompileError,
  compileCondition,
  compileSelection,
  explainTemplate,
  type FieldMap,
  type Predicate,
} from './compile.js';
import { ConditionError, parseCondition } from './condition.js';

export interface RuleLoadIssue {
  file: string;
  line?: number;
  code: string;
  reason: string;
}

export interface CompiledRule {
  id: string;
  title: string;
  level: string;
  tags: string[];
  kind: SignalKind;
  class: SignalClass;
  strength: Strength;
  actions: EventAction[];
  /** `cache` holds field values already read for this event, shared by all rules run on it. */
  matches(event: CoalEvent, cache?: Map<string, string[]>): boolean;
  explain(event: CoalEvent): string;
}

export interface RuleSet {
  rules: CompiledRule[];
  byAction: Map<EventAction, CompiledRule[]>;
  errors: RuleLoadIssue[];
  warnings: RuleLoadIssue[];
}

const PIPELINE = fileURLToPath(new URL('../../../rules/sigma/pipeline-ecs.yml', import.meta.url));
const MAX_RULE_FILE_BYTES = 1024 * 1024;
const MAX_FILES = 20_000;

const CATEGORY_ACTIONS: Record<string, EventAction[]> = {
  process_creation: ['exec', 'process-seen'],
  network_connection: ['connect'],
  dns_query: ['dns-query'],
  dns: ['dns-query'],
  file_event: ['file-write'],
  file_change: ['file-write'],
  process_termination: ['exit'],
  driver_load: ['driver-load'],
  registry_set: ['registry-set'],
  registry_event: ['registry-set'],
};
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

let pipelineCache: FieldMap | undefined;
async function fieldMap(): Promise<FieldMap> {
  if (!pipelineCache) {
    const doc = parseAllDocuments(await readFile(PIPELINE, 'utf8'))[0];
    const js = (doc && 'toJS' in doc ? doc.toJS() : {}) as { fields?: FieldMap };
    pipelineCache = js.fields ?? {};
  }
  return pipelineCache;
}

async function collectFiles(path: string, out: string[], errors: RuleLoadIssue[]): Promise<void> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch (err) {
    errors.push({ file: path, code: 'RULE_UNREADABLE', reason: (err as Error).message });
    return;
  }
  if (st.isFile()) {
    out.push(path);
    return;
  }
  if (!st.isDirectory()) return;
  for (const name of (await readdir(path)).sort()) {
    if (out.length >= MAX_FILES) return;
    const child = join(path, name);
    if (name.startsWith('pipeline-')) continue;
    const cst = await stat(child).catch(() => undefined);
    if (cst?.isDirectory()) await collectFiles(child, out, errors);
    else if (/\.ya?ml$/.test(name)) out.push(child);
  }
}

type Doc = Record<string, unknown>;

function compileRule(doc: Doc, file: string, line: number, map: FieldMap, set: RuleSet): CompiledRule | undefined {
  const err = (code: string, reason: string) => {
    set.errors.push({ file, line, code, reason });
    return undefined;
  };
  const id = typeof doc.id === 'string' ? doc.id : undefined;
  const title = typeof doc.title === 'string' ? doc.title : undefined;
  if (!id || !title) return err('RULE_MISSING_FIELD', 'a rule needs a string id and title');
  const logsource = (doc.logsource ?? {}) as Record<string, unknown>;
  const category = String(logsource.category ?? '');
  const actions = CATEGORY_ACTIONS[category];
  if (!actions) {
    set.warnings.push({
      file,
      line,
      code: 'RULE_UNKNOWN_LOGSOURCE',
      reason: `rule ${id}: logsource category "${category}" is not one coalmine has events for; rule not loaded`,
    });
    return undefined;
  }
  const product = typeof logsource.product === 'string' ? logsource.product.toLowerCase() : undefined;
  const block = (doc.coalmine ?? {}) as Record<string, unknown>;
  const kind = String(block.kind ?? '');
  if (!KINDS.has(kind))
    return err('RULE_NO_SIGNAL', `rule ${id}: coalmine.kind must be a signal kind (${[...KINDS].join(', ')})`);
  const cls = String(block.class ?? 'process');
  if (!CLASSES.has(cls)) return err('RULE_NO_SIGNAL', `rule ${id}: coalmine.class "${cls}" is not a signal class`);
  const level = String(doc.level ?? 'medium');
  const strength = (block.strength ?? LEVEL_STRENGTH[level] ?? 'medium') as Strength;
  if (!['weak', 'medium', 'strong'].includes(strength))
    return err('RULE_NO_SIGNAL', `rule ${id}: strength must be weak, medium or strong`);
  const detection = doc.detection as Record<string, unknown> | undefined;
  if (!detection || typeof detection !== 'object') return err('RULE_BAD_DETECTION', `rule ${id}: no detection`);
  const conditionText = detection.condition;
  if (typeof conditionText !== 'string')
    return err('RULE_BAD_CONDITION', `rule ${id}: detection.condition must be one string`);
  const unmapped = new Set<string>();
  let predicate: Predicate;
  try {
    const selections = new Map<string, Predicate>();
    for (const [name, body] of Object.entries(detection)) {
      if (name === 'condition' || name === 'timeframe') continue;
      selections.set(name, compileSelection(name, body, map, unmapped));
    }
    predicate = compileCondition(parseCondition(conditionText), selections);
  } catch (e) {
    if (e instanceof ConditionError) return err('RULE_BAD_CONDITION', `rule ${id}: ${e.message}`);
    if (e instanceof CompileError) return err(e.code, `rule ${id}: ${e.message}`);
    throw e;
  }
  for (const f of unmapped)
    set.warnings.push({
      file,
      line,
      code: 'RULE_UNMAPPED_FIELD',
      reason: `rule ${id}: field "${f}" is not in the field mapping; it is read from the source record (original.${f})`,
    });
  const explain = explainTemplate(typeof block.explain === 'string' ? block.explain : title, map);
  return {
    id,
    title,
    level,
    tags: Array.isArray(doc.tags) ? doc.tags.map(String) : [],
    kind: kind as SignalKind,
    class: cls as SignalClass,
    strength,
    actions,
    matches: (event, cache = new Map()) => {
      const platform = event.host?.os?.platform;
      if (product && platform && platform !== product) return false;
      return predicate(event, cache);
    },
    explain,
  };
}

export async function loadRules(paths: string[]): Promise<RuleSet> {
  const set: RuleSet = { rules: [], byAction: new Map(), errors: [], warnings: [] };
  const files: string[] = [];
  for (const p of paths) await collectFiles(p, files, set.errors);
  const map = await fieldMap();
  const ids = new Map<string, string>();
  for (const file of files) {
    let text: string;
    try {
      const buf = await readFile(file);
      if (buf.length > MAX_RULE_FILE_BYTES) {
        set.errors.push({ file, code: 'RULE_TOO_LARGE', reason: `over ${MAX_RULE_FILE_BYTES} bytes` });
        continue;
      }
      text = buf.toString('utf8');
    } catch (e) {
      set.errors.push({ file, code: 'RULE_UNREADABLE', reason: (e as Error).message });
      continue;
    }
    const lines = new LineCounter();
    for (const doc of parseAllDocuments(text, { lineCounter: lines, uniqueKeys: true })) {
      const start = doc.contents?.range?.[0] ?? doc.range?.[0];
      const line = start !== undefined ? lines.linePos(start).line : 1;
      if (doc.errors.length > 0) {
        for (const e of doc.errors)
          set.errors.push({ file, line: e.linePos?.[0].line ?? line, code: 'RULE_YAML', reason: e.message });
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
      const rule = compileRule(js as Doc, file, line, map, set);
      if (!rule) continue;
      const prior = ids.get(rule.id);
      if (prior) {
        set.errors.push({
          file,
          line,
          code: 'RULE_DUPLICATE_ID',
          reason: `rule id ${rule.id} is already defined in ${prior}`,
        });
        continue;
      }
      ids.set(rule.id, `${file}:${line}`);
      set.rules.push(rule);
      for (const a of rule.actions) {
        const list = set.byAction.get(a) ?? [];
        list.push(rule);
        set.byAction.set(a, list);
      }
    }
  }
  return set;
}
