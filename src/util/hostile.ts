/** Helpers for attacker-controlled strings: bound their length and make them inert for terminals. */

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
