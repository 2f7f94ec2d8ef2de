/** Helpers for attacker-controlled strings: bound their length and make them inert for terminals and HTML. */

/** Cut a string to about `max` UTF-16 units, marking the cut; a surrogate pair is never split in two. */
export function clip(text: string, max = 512): string {
  if (text.length <= max) return text;
  const end = max > 0 && /[\ud800-\udbff]/.test(text[max - 1] ?? '') ? max - 1 : max;
  return `${text.slice(0, end)}…[+${text.length - end}]`;
}

/**
 * Characters that drive a terminal or change what the analyst sees without being seen: C0/C1 controls
 * (ESC, NUL, CR, …), every format character (Cf: bidi overrides and isolates U+202A–U+202E and
 * U+2066–U+2069, zero-width U+200B–U+200F, U+FEFF, soft hyphen, tag characters, …), the line and
 * paragraph separators U+2028/U+2029 and lone surrogates. One class, one pass, no backtracking.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

function visible(c: string): string {
  const cp = c.codePointAt(0) ?? 0;
  return cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, '0')}`;
}

/** Show every invisible or terminal-driving character as a visible escape (`\u001b`, `\u202e`): the one way to do it. */
export function inert(text: string): string {
  return text.replace(INVISIBLE, visible);
}

/** Clip, show invisible characters as escapes, then HTML-escape: safe in HTML text and in quoted attributes. */
export function escapeHtml(text: string, max = 512): string {
  return inert(clip(String(text), max)).replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Clip, show invisible characters as escapes, then make Markdown inert: every character Markdown or a
 * table gives meaning to is backslash-escaped, and `&<>` become entities (renderers pass HTML through).
 */
export function escapeMarkdown(text: string, max = 512): string {
  return inert(clip(String(text), max))
    .replace(/[\\`*_{}[\]()#+\-.!|~]/g, (c) => `\\${c}`)
    .replace(/[&<>]/g, (c) => `&#${c.charCodeAt(0)};`);
}
