/**
 * Characters an attacker uses to drive a terminal or hide what a string says: C0/C1 controls, bidi
 * overrides and isolates, zero-width and other format characters, line separators. Tests render them
 * through every sink and check that each comes out as a visible escape, never raw.
 */
const RANGES: Array<[number, number]> = [
  [0x00, 0x1f], // C0, ESC among them
  [0x7f, 0x9f], // DEL and C1 (0x9b is a one-byte CSI)
  [0xad, 0xad], // soft hyphen
  [0x061c, 0x061c], // Arabic letter mark
  [0x180e, 0x180e], // Mongolian vowel separator
  [0x200b, 0x200f], // zero-width space, non-joiner, joiner, LRM, RLM
  [0x2028, 0x2029], // line and paragraph separators
  [0x202a, 0x202e], // bidi embeddings and overrides
  [0x2060, 0x2064], // word joiner, invisible operators
  [0x2066, 0x2069], // bidi isolates
  [0xfeff, 0xfeff], // zero-width no-break space / BOM
  [0xfff9, 0xfffb], // interlinear annotation
  [0xe0001, 0xe0001], // language tag
  [0xe0020, 0xe007f], // tag characters (invisible ASCII)
];

export const INVISIBLE_CODE_POINTS: number[] = RANGES.flatMap(([a, b]) =>
  Array.from({ length: b - a + 1 }, (_, i) => a + i),
);

const INVISIBLE_SET = new Set(INVISIBLE_CODE_POINTS);

/** How `inert` shows one code point. */
export function escapeOf(cp: number): string {
  return cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, '0')}`;
}

/** A short hostile string: right-to-left override, zero-width joiner, ESC, line separator, BOM, a tag, a newline. */
export const HOSTILE_TEXT = 'evil\u202egpj.exe\u200d\u001b[31mred\u2028\ufeff\u{e0041}\u2066x\nforged';

/** The raw invisible characters in `text` other than the renderer's own line breaks (none: safe to print). */
export function rawInvisible(text: string): string[] {
  const found: string[] = [];
  for (const ch of text.replaceAll('\n', ''))
    if (INVISIBLE_SET.has(ch.codePointAt(0) ?? -1)) found.push(escapeOf(ch.codePointAt(0) ?? 0));
  return found;
}
