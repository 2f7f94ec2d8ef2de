/** Helpers for attacker-controlled strings: bound their length and make them inert for terminals and HTML. */

/** Cut a string to `max` characters, marking the cut. */
export function clip(text: string, max = 512): string {
  return text.length <= max ? text : `${text.slice(0, max)}…[+${text.length - max}]`;
}

/** Replace control characters (ANSI escapes, NUL, CR, …) with visible escapes so a terminal cannot be driven. */
export function inert(text: string): string {
  return text.replace(
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Bidirectional overrides and isolates reorder what the analyst sees; show them like control characters. */
const BIDI = /[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Clip, neutralise control characters, then HTML-escape: safe in HTML text and in quoted attributes. */
export function escapeHtml(text: string, max = 512): string {
  return inert(clip(String(text), max))
    .replace(BIDI, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}
