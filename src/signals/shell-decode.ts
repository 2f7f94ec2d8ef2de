/**
 * Linux shell obfuscation, the counterpart of powershell.ts: `shellLayers` peels a shell command line
 * into the texts it really runs — `echo <base64> | base64 -d`, `base64 -d <<< …`, `echo <hex> | xxd -r -p`,
 * `printf '\x..'`/octal escapes (also `echo -e` and `$'…'`), `echo … | rev` — recursively and bounded,
 * so the process, kill and persistence classifiers and the rules also read what was hidden
 * (signals/index.ts and persistence.ts run them on the decoded layers). The classifier here makes a
 * decoded script handed to a shell dropper evidence, and decoding spliced into a command obfuscation.
 * Decoding that only prints (`echo aGVsbG8= | base64 -d`) is read, never evidence by itself.
 */
import type { CoalEvent } from '../model/event.js';
import type { Signal } from '../model/signal.js';
import { clip } from '../util/hostile.js';
import { signalFor } from './make.js';
import { type CommandLayer, decodeBase64Text } from './powershell.js';
import type { Classifier } from './types.js';

/** Characters of a command line (and of any one decoded layer) that are read. */
const MAX_LAYER_CHARS = 8192;
/** Decoded characters over all layers of one command line. */
const MAX_TOTAL_CHARS = 32 * 1024;
const MAX_DEPTH = 4;
const MAX_LAYERS = 8;
const SHOWN_CHARS = 160;
/** How far around a decoding expression we look for the shell it feeds. */
const CONTEXT_CHARS = 96;

export interface ShellLayer extends CommandLayer {
  /** The decoded text is run as shell code (piped to sh, `sh -c "$(…)"`, `eval`, `$(…)` as the command). */
  runs: boolean;
  /** Decoded text stands in the command line as a word (`curl $(echo … | rev) …`, `$'\x63…'`): hidden, not just printed. */
  inline: boolean;
}

/** `echo`/`printf` with their flags, then the payload: the start every pipe decoder shares. */
const ECHO = String.raw`\b(?:echo|printf)\s{1,8}(?:-[neE]{1,3}\s{1,8}){0,3}`;
const BASE64_DECODE = String.raw`(?:[\w./-]{0,64}/)?base64\s{1,8}(?:-[a-zA-Z]{0,3}d[a-zA-Z]{0,3}|--decode|-D)\b`;

interface Decoder {
  /** The technique's name, as evidence shows it; `shell` is appended when the result runs. */
  name: string;
  pattern: RegExp;
  /** The decoded text from a match, or undefined when it does not decode to text. */
  decode: (m: RegExpExecArray, budget: number) => string | undefined;
}

function base64Text(b64: string, budget: number): string | undefined {
  return decodeBase64Text(b64, budget)?.text;
}

function hexText(hex: string, budget: number): string | undefined {
  const digits = hex.replace(/\s/g, '');
  if (digits.length % 2 === 1) return undefined;
  const bytes = Buffer.from(digits.slice(0, Math.min(budget, MAX_LAYER_CHARS) * 2), 'hex');
  const text = bytes.toString('utf8');
  return isText(text) ? text : undefined;
}

/** Mostly printable text (a decoded script, not random bytes). */
function isText(s: string): boolean {
  if (s.length === 0) return false;
  let printable = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 32 && c < 127) || c === 9 || c === 10 || c === 13 || c >= 160) printable++;
  }
  return printable / s.length >= 0.9;
}

/** `\x63`, `\143`, `\0143`: the escapes printf, `echo -e` and `$'…'` undo. At least four, or it is ordinary text. */
const ESCAPE = /\\(?:x[0-9a-fA-F]{1,2}|0?[0-7]{1,3})/g;
const MIN_ESCAPES = 4;
const ESCAPES_NAME = 'hex/octal escapes';

function unescapeShell(body: string): string | undefined {
  // colour codes (`\033[1m`) are escapes too, but spell nothing: only escaped printable characters count
  let escapes = 0;
  for (const m of body.matchAll(ESCAPE)) {
    const code = m[0][1] === 'x' ? Number.parseInt(m[0].slice(2), 16) : Number.parseInt(m[0].slice(1), 8);
    if (code >= 32 && code < 127 && ++escapes >= MIN_ESCAPES) break;
  }
  if (escapes < MIN_ESCAPES) return undefined;
  const text = body.replace(/\\(x[0-9a-fA-F]{1,2}|0?[0-7]{1,3}|[ntr\\])/g, (_, e: string) => {
    if (e === 'n') return '\n';
    if (e === 't') return '\t';
    if (e === 'r') return '\r';
    if (e === '\\') return '\\';
    return String.fromCharCode(e[0] === 'x' ? Number.parseInt(e.slice(1), 16) : Number.parseInt(e, 8));
  });
  return isText(text) ? text : undefined;
}

/**
 * The decoders, each one linear regex: every repeated part is bounded and stops at a character the
 * next part needs (a quote, a pipe), so no input makes them backtrack more than a bounded amount.
 */
const DECODERS: Decoder[] = [
  {
    name: 'base64-decoded',
    pattern: new RegExp(String.raw`${ECHO}(["']?)([A-Za-z0-9+/]{8,}={0,2})\1\s{0,8}\|\s{0,8}${BASE64_DECODE}`, 'g'),
    decode: (m, budget) => base64Text(m[2], budget),
  },
  {
    name: 'base64-decoded',
    pattern: new RegExp(String.raw`${BASE64_DECODE}\s{0,8}<<<\s{0,8}(["']?)([A-Za-z0-9+/]{8,}={0,2})\1`, 'g'),
    decode: (m, budget) => base64Text(m[2], budget),
  },
  {
    name: 'hex-decoded (xxd)',
    pattern: new RegExp(
      String.raw`${ECHO}(["']?)([0-9a-fA-F]{8,})\1\s{0,8}\|\s{0,8}(?:[\w./-]{0,64}/)?xxd\s{1,8}(?:-r\s{1,8}-p|-p\s{1,8}-r|-rp|-pr|-r\s{1,8}-ps|-ps\s{1,8}-r)\b`,
      'g',
    ),
    decode: (m, budget) => hexText(m[2], budget),
  },
  {
    name: 'reversed string',
    pattern: new RegExp(
      String.raw`${ECHO}(?:(["'])([^"'\n]{2,2048})\1|([^\s"'|;&<>()\x60][^"'|;&<>()\x60\n]{1,1023}))\s{0,8}\|\s{0,8}rev\b`,
      'g',
    ),
    decode: (m) => {
      const text = [...(m[2] ?? m[3].trimEnd())].reverse().join('');
      return isText(text) ? text : undefined;
    },
  },
  {
    name: ESCAPES_NAME,
    pattern:
      /(?:\bprintf\s{1,8}(?:--\s{1,8})?|\becho\s{1,8}-[nE]{0,2}e[nE]{0,2}\s{1,8})(["'])((?:\\.|[^"'\\\n]){4,4096})\1|\$'((?:\\.|[^'\\\n]){4,4096})'/g,
    decode: (m) => unescapeShell(m[2] ?? m[3]),
  },
];

/** What follows a decoding expression when its output is piped into a shell (not a pipe after its `$( )`: that is the outer command's). */
const PIPED_TO_SHELL = /^\s{0,8}\|\s{0,8}(?:sudo\s{1,8})?(?:[\w./-]{0,64}\/)?(?:ba|da|z|k|a)?sh\b/;
/**
 * What precedes a `$(` or backtick whose output is run as a script: eval, `sh -c`, source, process
 * substitution. (At the command position the output is a command word and is put back in place.)
 */
const RUN_BEFORE =
  /(?:\beval\s{1,8}|\b(?:ba|da|z|k|a)?sh\s{1,8}-c\s{1,8}|\bsource\s{1,8}|(?:^|[\s;&|])\.\s{1,8})["']?(?:\$\(|`)\s{0,8}$|<\(\s{0,8}$/;
/** A `$(` or backtick right before the expression, and its closing right after. */
const OPENS = /(?:\$\(|`)\s{0,8}$/;
const CLOSES = /^\s{0,8}[)`]/;

function shown(text: string): string {
  return clip(text.replace(/\s+/g, ' ').trim(), SHOWN_CHARS);
}

interface Splice {
  start: number;
  end: number;
  text: string;
  name: string;
  /** Inside `$( )` or backticks, or an escaped literal: the decoded text stands in the command as a word. */
  inline: boolean;
}

/** The text with each splice (non-overlapping, in order) put in place of its expression. */
function spliced(text: string, splices: Splice[]): string {
  let out = '';
  let at = 0;
  for (const s of splices.sort((a, b) => a.start - b.start)) {
    if (s.start < at) continue;
    out += text.slice(at, s.start) + s.text;
    at = s.end;
  }
  return (out + text.slice(at)).slice(0, MAX_LAYER_CHARS);
}

/**
 * The texts a shell command line runs: the line itself, then what is decoded from it (recursively, at
 * most 4 deep, 8 layers, 32 Ki characters). A decoded script handed to a shell is its own layer; other
 * decoding is put back in its place, all of a line's in one layer (`curl $(echo … | rev) | sh` becomes
 * the command it spells).
 */
export function shellLayers(command: string): ShellLayer[] {
  const layers: ShellLayer[] = [{ text: command.slice(0, MAX_LAYER_CHARS), depth: 0, runs: false, inline: false }];
  let budget = MAX_TOTAL_CHARS;
  const visit = (text: string, depth: number) => {
    if (depth >= MAX_DEPTH) return;
    const splices: Splice[] = [];
    for (const decoder of DECODERS) {
      for (const m of text.matchAll(decoder.pattern)) {
        if (layers.length >= MAX_LAYERS || budget <= 0) return;
        const decoded = decoder.decode(m, budget);
        if (decoded === undefined) continue;
        const start = m.index;
        const end = start + m[0].length;
        const before = text.slice(Math.max(0, start - CONTEXT_CHARS), start);
        const after = text.slice(end, end + CONTEXT_CHARS);
        if (PIPED_TO_SHELL.test(after) || RUN_BEFORE.test(before)) {
          budget -= decoded.length;
          layers.push({
            text: decoded,
            technique: `${decoder.name} shell`,
            depth: depth + 1,
            runs: true,
            inline: false,
          });
          visit(decoded, depth + 1);
          continue;
        }
        // `$(…)` or backticks around the expression go with it: the decoded text takes their place
        const open = OPENS.exec(before);
        const close = open ? CLOSES.exec(after) : null;
        const wrapped = open !== null && close !== null;
        splices.push({
          start: wrapped ? start - open[0].length : start,
          end: wrapped ? end + close[0].length : end,
          text: decoded,
          name: decoder.name,
          inline: wrapped || decoder.name === ESCAPES_NAME,
        });
      }
    }
    if (splices.length === 0 || layers.length >= MAX_LAYERS || budget <= 0) return;
    const layerText = spliced(text, splices);
    budget -= layerText.length;
    layers.push({
      text: layerText,
      technique: [...new Set(splices.map((s) => s.name))].join(', '),
      depth: depth + 1,
      runs: false,
      inline: splices.some((s) => s.inline),
    });
    visit(layerText, depth + 1);
  };
  visit(layers[0].text, 0);
  return layers;
}

/** Whether a command line is worth peeling: it names a decoder or holds escapes. Cheap, one linear test. */
export function mayHaveShellLayers(command: string): boolean {
  const text = command.length > MAX_LAYER_CHARS ? command.slice(0, MAX_LAYER_CHARS) : command;
  return /base64|\brev\b|\bxxd\b|\\x[0-9a-f]|\\0?[0-7]{3}/i.test(text);
}

function classify(event: CoalEvent, _context: unknown, out: Signal[]): void {
  const action = event.event.action;
  if (action !== 'exec' && action !== 'process-seen' && action !== 'persistence-entry') return;
  const command = event.process?.command_line;
  if (!command || !mayHaveShellLayers(command)) return;
  const layers = shellLayers(command);
  const p = event.process;
  const mechanism = event.coalmine.persistence?.mechanism;
  const who =
    action === 'persistence-entry'
      ? `the ${mechanism ?? 'persistence'} entry`
      : `${p?.name ?? 'process'} (pid ${p?.pid ?? '?'})`;
  const run = layers.find((l) => l.runs);
  if (run) {
    out.push(
      signalFor(event, {
        kind: 'dropper',
        class: 'process',
        strength: 'strong',
        by: 'shell:decoded-script',
        explanation: `${who} runs a script hidden by ${run.technique}${run.depth > 1 ? ` (${run.depth} layers deep)` : ''}; decoded: ${shown(run.text)}`,
      }),
    );
    return;
  }
  const hidden = layers.filter((l) => l.inline);
  if (hidden.length === 0) return;
  const deepest = Math.max(...hidden.map((l) => l.depth));
  out.push(
    signalFor(event, {
      kind: 'obfuscation',
      class: 'process',
      strength: deepest >= 2 ? 'strong' : 'medium',
      by: 'shell:obfuscation',
      explanation: `${who}: command line hidden by ${[...new Set(hidden.map((l) => l.technique))].join(', ')}; decoded: ${shown(hidden[hidden.length - 1].text)}`,
    }),
  );
}

export const shellDecode: Classifier = {
  name: 'shell-decode',
  actions: ['exec', 'process-seen', 'persistence-entry'],
  summary:
    'base64, hex, escaped and reversed shell text (decoded for every classifier), decoded scripts run by a shell',
  classify,
};
