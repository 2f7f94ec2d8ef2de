/**
 * PowerShell and cmd obfuscation: `commandLayers` peels a command line into the texts it really runs
 * (caret, backtick, string-concatenation, string-array `-join` and `-f` format noise removed; `-EncodedCommand` and inline
 * `[Convert]::FromBase64String` payloads decoded, recursively, bounded), so every classifier and rule
 * can also see what was hidden (signals/index.ts runs them on the decoded layers). The classifier here
 * makes the hiding itself evidence (obfuscation), and reads every layer for download-and-run cradles
 * (dropper) and Defender tampering (miner-tuning).
 */
import type { CoalEvent } from '../model/event.js';
import type { Signal, Strength } from '../model/signal.js';
import { clip } from '../util/hostile.js';
import { signalFor } from './make.js';
import type { Classifier } from './types.js';

/** Characters of a command line (and of any one decoded layer) that are read. */
const MAX_LAYER_CHARS = 8192;
/** Decoded characters over all layers of one command line. */
const MAX_TOTAL_CHARS = 32 * 1024;
const MAX_DEPTH = 4;
const MAX_LAYERS = 8;
const MAX_FOLD_ROUNDS = 32;
const SHOWN_CHARS = 160;

export interface CommandLayer {
  text: string;
  /** How this layer was obtained from the one before; absent for the command line as logged. */
  technique?: string;
  /** Decoding steps from the logged command line (0 for the command line and its normalised form). */
  depth: number;
}

/**
 * `-EncodedCommand` as PowerShell accepts it: any prefix from `-e` (its documented aliases `-e`,
 * `-ec`, `-enc`), with `-`, `/` or a dash a word processor made of it, any case.
 */
const ENCODED_FLAG = /(?:^|[\s"'])[-/\u2013\u2014\u2015]([a-z]{1,14})[\s:]{1,8}["']?([A-Za-z0-9+/]{8,}={0,2})/gi;
const INLINE_BASE64 = /FromBase64String\(\s{0,4}["']([A-Za-z0-9+/]{8,}={0,2})["']\s{0,4}\)/gi;
const CARET = /[a-z0-9]\^[a-z0-9]/i;
/** A backtick before a letter that is not one of PowerShell's escapes (`0 `a `b `e `f `n `r `t `u `v). */
const BACKTICK = /[a-z0-9]`[cdghijklmopqswxyz]/i;
const CONCAT = /(["'])([^"'\n]{0,256})\1\s{0,8}\+\s{0,8}(["'])([^"'\n]{0,256})\3/g;
const CHAR_CAST = /\[char\]\s{0,4}(\d{1,5})/gi;
const CHAR_ARRAY_JOIN = /\[char\[\]\]\s{0,4}\(\s{0,4}([\d\s,]{1,2048})\)\s{0,4}-join\s{0,4}(["'])\2/gi;
const JOIN_CHAR_ARRAY = /-join\s{0,4}\(?\s{0,4}\[char\[\]\]\s{0,4}\(\s{0,4}([\d\s,]{1,2048})\)\s{0,4}\)?/gi;
/**
 * A list of quoted strings, `'a','b' , "c"`. Each item opens with a quote and holds none, so matching
 * is linear (no overlapping alternatives to backtrack through).
 */
const STRING_LIST = String.raw`(?:["'][^"'\n]{0,256}["']\s{0,4},\s{0,4}){1,63}["'][^"'\n]{0,256}["']`;
/** `('i','ex') -join ''` and `-join ('i','ex')`. */
const JOIN_STRINGS = new RegExp(
  String.raw`\(\s{0,4}(${STRING_LIST})\s{0,4}\)\s{0,4}-join\s{0,4}(["'])([^"'\n]{0,16})\2`,
  'gi',
);
const JOIN_PREFIX = new RegExp(String.raw`-join\s{0,4}\(\s{0,4}(${STRING_LIST})\s{0,4}\)`, 'gi');
/** `("{1}{0}" -f 'ex','i')`: the format operator reordering pieces. */
const FORMAT = new RegExp(
  String.raw`\(\s{0,4}(["'])([^"'\n]{1,512})\1\s{0,4}-f\s{1,4}(${STRING_LIST}|["'][^"'\n]{0,256}["'])\s{0,4}\)`,
  'gi',
);

function isEncodedCommandFlag(flag: string): boolean {
  const f = flag.toLowerCase();
  return f === 'e' || f === 'ec' || (f.length >= 2 && 'encodedcommand'.startsWith(f));
}

/** Mostly printable text (a decoded payload, not random bytes). */
function isText(s: string): boolean {
  if (s.length === 0) return false;
  let printable = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 32 && c < 127) || c === 9 || c === 10 || c === 13 || c >= 160) printable++;
  }
  return printable / s.length >= 0.9;
}

/** Base64 to text: UTF-16LE when every other byte says so (what -EncodedCommand takes), else UTF-8. */
export function decodeBase64Text(b64: string, budget: number): { text: string; encoding: string } | undefined {
  // whole 4-character groups only: a payload cut by a length bound still decodes up to the cut
  const chars = Math.min(b64.length, Math.min(budget, MAX_LAYER_CHARS) * 3);
  const all = Buffer.from(b64.slice(0, b64.length <= chars ? chars : chars - (chars % 4)), 'base64');
  if (all.length < 2) return undefined;
  let zeros = 0;
  for (let i = 1; i < all.length; i += 2) if (all[i] === 0) zeros++;
  const isUtf16 = zeros >= (all.length / 2) * 0.6;
  const bytes = isUtf16 && all.length % 2 === 1 ? all.subarray(0, all.length - 1) : all;
  const text = (isUtf16 ? bytes.toString('utf16le') : bytes.toString('utf8')).replace(/^\uFEFF/, '');
  if (!isText(text)) return undefined;
  return { text: text.slice(0, Math.min(budget, MAX_LAYER_CHARS)), encoding: isUtf16 ? 'UTF-16LE' : 'UTF-8' };
}

/** The strings of a matched STRING_LIST, unquoted. */
function stringsOf(list: string): string[] {
  return [...list.matchAll(/["']([^"'\n]{0,256})["']/g)].map((m) => m[1]);
}

/** `{0}` … `{99}` replaced by the pieces; undefined when the format names a piece that is not there. */
function formatted(format: string, pieces: string[]): string | undefined {
  let missing = false;
  const out = format.replace(/\{(\d{1,2})\}/g, (_, n: string) => {
    const piece = pieces[Number(n)];
    if (piece === undefined) missing = true;
    return piece ?? '';
  });
  return missing || out === format ? undefined : out;
}

function charCodes(list: string): string {
  const out: string[] = [];
  for (const n of list.split(',', 512)) {
    const code = Number(n.trim());
    if (Number.isInteger(code) && code > 0 && code < 0x10000) out.push(String.fromCharCode(code));
  }
  return out.join('');
}

/** The command line without cmd carets, PowerShell backticks, split strings and char codes; the techniques found. */
export function normaliseCommand(command: string): { text: string; techniques: string[] } {
  let text = command.length > MAX_LAYER_CHARS ? command.slice(0, MAX_LAYER_CHARS) : command;
  const techniques: string[] = [];
  if (CARET.test(text)) {
    text = text.replace(/\^(.)/g, '$1');
    techniques.push('caret insertion');
  }
  if (BACKTICK.test(text)) {
    // a backtick before a letter escapes it; the letter is what runs (`I`E`X` is IEX)
    text = text.replace(/`([a-zA-Z])/g, '$1');
    techniques.push('backtick insertion');
  }
  if (/\[char/i.test(text)) {
    const before = text;
    text = text
      .replace(CHAR_ARRAY_JOIN, (_, list: string) => `'${charCodes(list)}'`)
      .replace(JOIN_CHAR_ARRAY, (_, list: string) => `'${charCodes(list)}'`)
      .replace(CHAR_CAST, (whole, n: string) => {
        const code = Number(n);
        return code > 31 && code < 0x10000 && code !== 39 ? `'${String.fromCharCode(code)}'` : whole;
      });
    if (text !== before) techniques.push('character codes');
  }
  if (/-join|-f\s/i.test(text)) {
    const before = text;
    text = text
      .replace(JOIN_STRINGS, (_, list: string, _q: string, sep: string) => `'${stringsOf(list).join(sep)}'`)
      .replace(JOIN_PREFIX, (_, list: string) => `'${stringsOf(list).join('')}'`);
    if (text !== before) techniques.push('string array join');
    const unformatted = text;
    text = text.replace(FORMAT, (whole, _q: string, format: string, list: string) => {
      const out = formatted(format, stringsOf(list));
      return out === undefined ? whole : `'${out}'`;
    });
    if (text !== unformatted) techniques.push('format operator');
  }
  if (text.includes('+')) {
    // pairs fold per round, so rounds grow with the log of the pieces; one `'a' + 'b'` is ordinary code
    let folds = 0;
    for (let round = 0; round < MAX_FOLD_ROUNDS; round++) {
      const folded = text.replace(CONCAT, (_, _q: string, a: string, _r: string, b: string) => {
        folds++;
        return `'${a}${b}'`;
      });
      if (folded === text) break;
      text = folded;
    }
    if (folds >= 2) techniques.push('string concatenation');
  }
  return { text, techniques };
}

/**
 * The texts a command line runs: the line itself, its normalised form when obfuscation was removed,
 * and every base64 payload decoded from it (recursively, at most 4 deep, 8 layers, 32 Ki characters).
 */
export function commandLayers(command: string): CommandLayer[] {
  const layers: CommandLayer[] = [{ text: command.slice(0, MAX_LAYER_CHARS), depth: 0 }];
  let budget = MAX_TOTAL_CHARS;
  const visit = (text: string, depth: number) => {
    const { text: plain, techniques } = normaliseCommand(text);
    let current = text;
    if (techniques.length > 0 && layers.length < MAX_LAYERS) {
      layers.push({ text: plain, technique: techniques.join(', '), depth });
      current = plain;
    }
    if (depth >= MAX_DEPTH) return;
    const payloads: Array<{ b64: string; how: string }> = [];
    for (const m of current.matchAll(ENCODED_FLAG))
      if (isEncodedCommandFlag(m[1])) payloads.push({ b64: m[2], how: `-${m[1]}` });
    for (const m of current.matchAll(INLINE_BASE64)) payloads.push({ b64: m[1], how: 'FromBase64String' });
    for (const { b64, how } of payloads) {
      if (layers.length >= MAX_LAYERS || budget <= 0) return;
      const decoded = decodeBase64Text(b64, budget);
      if (!decoded) continue;
      budget -= decoded.text.length;
      layers.push({ text: decoded.text, technique: `${how} (${decoded.encoding} base64)`, depth: depth + 1 });
      visit(decoded.text, depth + 1);
    }
  };
  visit(layers[0].text, 0);
  return layers;
}

/**
 * Whether a command line is worth peeling: a Windows event, or a line naming PowerShell or cmd, with
 * a caret, backtick, plus, base64 or `-e…` in it. Shell lines elsewhere use backticks and carets for
 * their own ends, so they are left alone.
 */
export function mayHaveLayers(event: CoalEvent, command: string): boolean {
  const windows = event.host?.os?.platform === 'windows';
  // asked twice per event (this classifier, then signals/index.ts for the decoded layers): the last answer is kept
  if (command === lastAsked.command && windows === lastAsked.windows) return lastAsked.answer;
  const text = command.length > MAX_LAYER_CHARS ? command.slice(0, MAX_LAYER_CHARS) : command;
  const answer =
    /[\^`+]|base64|\[char|-join\b|\s-f\s|[\s"'][-/\u2013\u2014\u2015]e/i.test(text) &&
    (windows || /p\^?o\^?w\^?e\^?r\^?s\^?h\^?e\^?l\^?l|pwsh|\bcmd(?:\.exe)?\b|\.exe\b/i.test(text));
  lastAsked.command = command;
  lastAsked.windows = windows;
  lastAsked.answer = answer;
  return answer;
}
const lastAsked = { command: '', windows: false, answer: false };

// ---- what the layers do ----------------------------------------------------------------------

const RUNS_FETCHED = /\b(?:iex|invoke-expression)\b/i;
const FETCH =
  /\bdownload(?:string|data|file)(?:async)?\b|\binvoke-webrequest\b|\biwr\b|\binvoke-restmethod\b|\birm\b|\bnet\.webclient\b|\bstart-bitstransfer\b|\bmsxml2\.xmlhttp\b|\bwinhttp\.winhttprequest\b/i;
const SAVE_FETCHED = /\bdownloadfile\b|-outfile\b|\bstart-bitstransfer\b/i;
const RUNS_FILE =
  /\bstart-process\b|\bsaps\b|(?:^|[;&|]\s{0,4})(?:start|&)\s|\bcmd(?:\.exe)?\s{1,4}\/c\b|\binvoke-item\b|\.\\[\w-]{1,64}\.exe\b/i;
const CERTUTIL = /\bcertutil(?:\.exe)?\b[^\n]{0,200}?[-/](?:urlcache|verifyctl)\b/i;
const BITSADMIN = /\bbitsadmin(?:\.exe)?\b[^\n]{0,200}?[-/](?:transfer|addfile)\b/i;
const EXCLUSION =
  /\b(?:add|set)-mppreference\b[^\n]{0,200}?-exclusion(path|process|extension|ipaddress)\s{1,4}["']?([^"'\s;|]{1,260})/i;
const DISABLE_DEFENDER =
  /\bset-mppreference\b[^\n]{0,200}?-(disablerealtimemonitoring|disableioavprotection|disablebehaviormonitoring|disablescriptscanning|disableblockatfirstseen|mapsreporting|submitsamplesconsent)\s{0,4}:?\s{0,4}(\$true|1|0|\$false|disabled|never)\b/i;
/** Places a miner drops itself; a Defender exclusion for them is for hiding, not for speed. */
const HIDING_PLACES =
  /\\(?:appdata|temp|tmp|programdata|users\\public|\$recycle\.bin|windows\\temp)(?:\\|$)|^[a-z]:\\?$|^\.?exe$|^\*/i;

function shown(text: string): string {
  return clip(text.replace(/\s+/g, ' ').trim(), SHOWN_CHARS);
}

function cradleOf(text: string): { strength: Strength; what: string } | undefined {
  const fetch = FETCH.test(text);
  if (fetch && RUNS_FETCHED.test(text))
    return { strength: 'strong', what: 'a download cradle: fetches code and runs it with IEX' };
  if (fetch && SAVE_FETCHED.test(text))
    return RUNS_FILE.test(text)
      ? { strength: 'strong', what: 'downloads a file and starts it' }
      : { strength: 'medium', what: 'downloads a file to disk' };
  const lolbin = CERTUTIL.test(text) ? 'certutil -urlcache' : BITSADMIN.test(text) ? 'bitsadmin /transfer' : undefined;
  if (lolbin)
    return RUNS_FILE.test(text)
      ? { strength: 'strong', what: `downloads with ${lolbin} and starts the file` }
      : { strength: 'medium', what: `downloads with ${lolbin} (a system tool abused as a downloader)` };
  return undefined;
}

function defenderOf(text: string): { strength: Strength; what: string } | undefined {
  const off = DISABLE_DEFENDER.exec(text);
  if (off) {
    const setting = off[1].toLowerCase();
    const value = off[2].toLowerCase();
    const turnsOff = setting.startsWith('disable')
      ? value === '$true' || value === '1'
      : value === '0' || value === 'never' || value === 'disabled';
    if (turnsOff)
      return {
        strength: 'strong',
        what: `turns off Microsoft Defender protection (Set-MpPreference -${off[1]} ${off[2]})`,
      };
  }
  const ex = EXCLUSION.exec(text);
  if (ex) {
    const hides = HIDING_PLACES.test(ex[2]);
    return {
      strength: hides ? 'strong' : 'medium',
      what: `adds a Microsoft Defender exclusion (-Exclusion${ex[1]} ${clip(ex[2], 120)})${hides ? ', for a place or type malware runs from' : ''}`,
    };
  }
  return undefined;
}

/**
 * A word every cradle (FETCH, CERTUTIL, BITSADMIN) or Defender change (DISABLE_DEFENDER, EXCLUSION)
 * holds: a line with none is neither, and one test replaces five.
 */
const MAY_FETCH_OR_TAMPER =
  /download|invoke-|iwr|irm|webclient|bitstransfer|xmlhttp|winhttp|certutil|bitsadmin|mppreference/i;

function classify(event: CoalEvent, _context: unknown, out: Signal[]): void {
  const action = event.event.action;
  if (action !== 'exec' && action !== 'process-seen' && action !== 'persistence-entry') return;
  const command = event.process?.command_line;
  if (!command) return;
  const p = event.process;
  let layers: CommandLayer[];
  if (mayHaveLayers(event, command)) layers = commandLayers(command);
  else {
    // nothing hidden: the logged line is the one layer, and most lines neither fetch nor touch Defender
    const text = command.slice(0, MAX_LAYER_CHARS);
    if (!MAY_FETCH_OR_TAMPER.test(text)) return;
    layers = [{ text, depth: 0 }];
  }
  // an entry (a task's action, a service's ImagePath) is no process yet: it is named as the entry
  const who =
    action === 'persistence-entry'
      ? `the ${event.coalmine.persistence?.mechanism ?? 'persistence'} entry`
      : `${p?.name ?? 'process'} (pid ${p?.pid ?? '?'})`;
  const hidden = layers.filter((l) => l.technique !== undefined);
  if (hidden.length > 0) {
    const deepest = Math.max(...hidden.map((l) => l.depth));
    const last = hidden[hidden.length - 1];
    out.push(
      signalFor(event, {
        kind: 'obfuscation',
        class: 'process',
        // admin tools send -EncodedCommand too; encoding inside encoding is for hiding
        strength: deepest >= 2 ? 'strong' : 'medium',
        by: 'powershell:obfuscation',
        explanation: `${who}: command line hidden by ${hidden.map((l) => l.technique).join('; ')}; decoded: ${shown(last.text)}`,
      }),
    );
  }
  let cradle: { strength: Strength; what: string; layer: CommandLayer } | undefined;
  let defender: { strength: Strength; what: string; layer: CommandLayer } | undefined;
  for (const layer of layers) {
    const c = cradleOf(layer.text);
    if (c && (!cradle || (c.strength === 'strong' && cradle.strength !== 'strong'))) cradle = { ...c, layer };
    const d = defenderOf(layer.text);
    if (d && (!defender || (d.strength === 'strong' && defender.strength !== 'strong'))) defender = { ...d, layer };
  }
  const where = (l: CommandLayer) => (l.depth > 0 || l.technique ? ' (in the decoded command)' : '');
  if (cradle)
    out.push(
      signalFor(event, {
        kind: 'dropper',
        class: 'process',
        strength: cradle.strength,
        by: 'powershell:cradle',
        explanation: `${who} ${cradle.what}${where(cradle.layer)}: ${shown(cradle.layer.text)}`,
      }),
    );
  if (defender)
    out.push(
      signalFor(event, {
        kind: 'miner-tuning',
        class: 'process',
        strength: defender.strength,
        by: 'powershell:defender',
        explanation: `${who} ${defender.what}${where(defender.layer)}: ${shown(defender.layer.text)}`,
      }),
    );
}

export const powershell: Classifier = {
  name: 'powershell',
  actions: ['exec', 'process-seen', 'persistence-entry'],
  summary: 'encoded and obfuscated command lines (decoded for every classifier), download cradles, Defender tampering',
  classify,
};
