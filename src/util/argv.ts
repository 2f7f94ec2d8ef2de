/**
 * A command line string split into arguments the way a shell would quote them, bounded: for sources
 * that report a process's arguments as one string (Tetragon's `arguments`, Falco's `proc.cmdline`).
 * Single quotes are literal, double quotes honour backslash escapes, a backslash outside quotes
 * escapes the next character; nothing is expanded. One pass over at most `maxChars` characters.
 */
import { clip } from './hostile.js';

export interface ArgvLimits {
  /** Characters of the input read; the rest is ignored (and `clipped` says so). */
  maxChars?: number;
  /** Arguments kept; further ones are dropped. */
  maxArgs?: number;
  /** Characters kept of each argument. */
  maxArgChars?: number;
}

export interface SplitArgv {
  args: string[];
  /** The input was longer than maxChars or held more than maxArgs arguments. */
  clipped: boolean;
  /** A quote was still open at the end (a cut or hostile line): the last argument is what was read. */
  unclosed: boolean;
}

export function splitArgv(text: string, limits: ArgvLimits = {}): SplitArgv {
  const maxChars = limits.maxChars ?? 32 * 1024;
  const maxArgs = limits.maxArgs ?? 128;
  const maxArgChars = limits.maxArgChars ?? 4096;
  const input = text.length > maxChars ? text.slice(0, maxChars) : text;
  let clipped = input.length < text.length;
  const args: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '' | "'" | '"' = '';
  const push = () => {
    if (args.length < maxArgs) args.push(clip(current, maxArgChars));
    else clipped = true;
    current = '';
    inWord = false;
  };
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (quote === "'") {
      if (c === "'") quote = '';
      else current += c;
    } else if (quote === '"') {
      if (c === '"') quote = '';
      else if (c === '\\' && i + 1 < input.length && '"\\$`'.includes(input[i + 1])) current += input[++i];
      else current += c;
    } else if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) push();
    } else {
      inWord = true;
      if (c === "'" || c === '"') quote = c;
      else if (c === '\\' && i + 1 < input.length) current += input[++i];
      else current += c;
    }
  }
  const unclosed = quote !== '';
  if (inWord) push();
  return { args, clipped, unclosed };
}
