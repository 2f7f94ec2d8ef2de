/**
 * YARA rules through YARA-X (VirusTotal's Rust rewrite of YARA) by its npm binding `@litko/yara-x`,
 * whose native module ships inside the package (linux-x64-gnu, darwin): loaded on first use, so a
 * platform without it runs everything else and says why it cannot scan. Our own rules live in
 * `rules/yara/` (bundled); a user's (`--yara PATH`, files or directories of `.yar`/`.yara`) are
 * validated file by file, a broken one reported with its file and line and left out, the rest kept.
 *
 * A rule says what it is evidence of in its meta: `kind` (`miner`, `proxyware`) and `strength`
 * (`weak`, `medium`, `strong`); a rule without them is judged by its name (signals/ids-alert.ts).
 * Matches are bounded (16 per pattern) and a matched string is kept as printable text, clipped.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { packagePath } from '../util/package-root.js';

/** The parts of the binding's API we use (its own typings say more). */
interface YaraMatchData {
  offset: number;
  length: number;
  data: string;
  identifier: string;
}
interface YaraRuleMatch {
  ruleIdentifier: string;
  namespace: string;
  meta: object;
  tags: string[];
  matches: YaraMatchData[];
}
interface YaraScanner {
  scan(data: Buffer): YaraRuleMatch[];
  setMaxMatchesPerPattern(n: number): void;
}
interface YaraCompileError {
  code: string;
  message: string;
  line?: number;
}
interface YaraBinding {
  compile(source: string): YaraScanner;
  validate(source: string): { errors: YaraCompileError[]; warnings: YaraCompileError[] };
}

export interface PatternHit {
  pattern: string;
  /** Offset in the scanned buffer. */
  offset: number;
  length: number;
  /** The matched bytes as printable text (`\xNN` for the rest), clipped. */
  text: string;
}

export interface RuleHit {
  rule: string;
  namespace: string;
  /** From the rule's meta, when it says. */
  kind?: string;
  strength?: 'weak' | 'medium' | 'strong';
  description?: string;
  /** The rule is one of ours (rules/yara), not the user's. */
  bundled: boolean;
  hits: PatternHit[];
}

export interface YaraRules {
  /** Rule files compiled in. */
  files: string[];
  rules: number;
  scan(data: Buffer): RuleHit[];
}

const MAX_RULE_FILE_BYTES = 4 * 1024 * 1024;
const MAX_RULE_FILES = 256;
const MAX_MATCHES_PER_PATTERN = 16;
const MAX_HITS_KEPT = 8;
const MAX_TEXT = 120;

let binding: YaraBinding | string | undefined;

/** The YARA-X binding, or why it cannot be loaded here (platform without a binary, broken install). */
export async function yaraEngine(): Promise<YaraBinding | string> {
  if (binding !== undefined) return binding;
  try {
    const mod = (await import('@litko/yara-x')) as unknown as { default?: YaraBinding } & Partial<YaraBinding>;
    const api = (mod.compile ? mod : mod.default) as YaraBinding | undefined;
    binding = api?.compile ? api : 'the @litko/yara-x module has no compile()';
  } catch (err) {
    binding = `YARA-X (@litko/yara-x) cannot load on ${process.platform}-${process.arch}: ${clip((err as Error).message, 200)}`;
  }
  return binding;
}

/** Bytes as printable ASCII, every other byte as `\xNN`: a matched string shown inert. */
export function printable(bytes: Buffer | string, max = MAX_TEXT): string {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
  let out = '';
  for (const b of buf.subarray(0, max))
    out += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return buf.length > max ? `${out}…[+${buf.length - max}]` : out;
}

/** `.yar`/`.yara` files of a file or directory (one level), sorted, bounded. */
export function ruleFiles(path: string): string[] {
  const st = statSync(path);
  if (!st.isDirectory()) return [path];
  return readdirSync(path)
    .filter((n) => /\.(yar|yara)$/.test(n))
    .sort()
    .slice(0, MAX_RULE_FILES)
    .map((n) => join(path, n));
}

export const BUNDLED_RULES_DIR = (): string => packagePath('rules/yara');

function metaOf(meta: object): { kind?: string; strength?: RuleHit['strength']; description?: string } {
  const m = meta as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' ? clip(v, 200) : undefined);
  const strength = text(m.strength);
  return {
    kind: text(m.kind),
    strength: strength === 'weak' || strength === 'medium' || strength === 'strong' ? strength : undefined,
    description: text(m.description),
  };
}

/**
 * Our rules plus the user's, compiled once. A user file that does not compile on its own is reported
 * (file, line, the engine's message) and left out; undefined with an issue when no engine loads.
 */
export async function loadYaraRules(userPaths: string[], report: (i: Issue) => void): Promise<YaraRules | undefined> {
  const engine = await yaraEngine();
  if (typeof engine === 'string') {
    report({ file: '@litko/yara-x', code: 'YARA_UNAVAILABLE', reason: engine, stage: 'loading' });
    return undefined;
  }
  const sources: { file: string; text: string; bundled: boolean }[] = [];
  const add = (file: string, bundled: boolean) => {
    try {
      const size = statSync(file).size;
      if (size > MAX_RULE_FILE_BYTES) {
        report({
          file,
          code: 'YARA_RULE_TOO_LARGE',
          reason: `${size} bytes, over ${MAX_RULE_FILE_BYTES}`,
          stage: 'loading',
        });
        return;
      }
      const text = readFileSync(file, 'utf8');
      const { errors } = engine.validate(text);
      if (errors.length > 0) {
        const e = errors[0];
        const line = e.line ?? Number(/--> line:(\d+)/.exec(e.message)?.[1] ?? Number.NaN);
        report({
          file,
          ...(Number.isFinite(line) ? { line } : {}),
          code: 'YARA_RULE_ERROR',
          reason: clip(e.message.split('\n')[0], 300),
          stage: 'loading',
        });
        return;
      }
      sources.push({ file, text, bundled });
    } catch (err) {
      report({ file, code: 'INPUT_UNREADABLE', reason: clip((err as Error).message, 200), stage: 'loading' });
    }
  };
  for (const f of ruleFiles(BUNDLED_RULES_DIR())) add(f, true);
  for (const p of userPaths) {
    let files: string[];
    try {
      files = ruleFiles(p);
    } catch (err) {
      report({ file: p, code: 'INPUT_UNREADABLE', reason: clip((err as Error).message, 200), stage: 'loading' });
      continue;
    }
    for (const f of files) add(f, false);
  }
  // YARA-X takes no `namespace` in source: ours compile as one scanner (our names are unique), the
  // user's as another, or one per file when two of their files name a rule alike
  const scanners: { scanner: YaraScanner; bundled: boolean }[] = [];
  const compileGroup = (group: typeof sources): boolean => {
    if (group.length === 0) return true;
    try {
      const scanner = engine.compile(group.map((g) => g.text).join('\n'));
      scanner.setMaxMatchesPerPattern(MAX_MATCHES_PER_PATTERN);
      scanners.push({ scanner, bundled: group[0].bundled });
      return true;
    } catch (err) {
      if (group.length === 1)
        report({
          file: group[0].file,
          code: 'YARA_RULE_ERROR',
          reason: clip((err as Error).message.split('\n')[0], 300),
          stage: 'loading',
        });
      return false;
    }
  };
  compileGroup(sources.filter((s) => s.bundled));
  const user = sources.filter((s) => !s.bundled);
  if (!compileGroup(user)) for (const u of user) compileGroup([u]);
  if (scanners.length === 0) return undefined;
  const rules = sources.reduce((n, s) => n + (s.text.match(/^\s*(?:private\s+|global\s+)*rule\s/gm)?.length ?? 0), 0);
  return {
    files: sources.map((s) => s.file),
    rules,
    scan(data) {
      return scanners.flatMap(({ scanner, bundled }) =>
        scanner.scan(data).map((m) => {
          const hits = m.matches.slice(0, MAX_HITS_KEPT).map((h) => ({
            pattern: clip(h.identifier, 64),
            offset: h.offset,
            length: h.length,
            text: printable(data.subarray(h.offset, h.offset + Math.min(h.length, MAX_TEXT + 1))),
          }));
          return {
            rule: clip(m.ruleIdentifier, 128),
            namespace: m.namespace,
            bundled,
            ...metaOf(m.meta),
            hits,
          };
        }),
      );
    },
  };
}
