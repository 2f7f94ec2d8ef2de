/**
 * The literal prefilter in front of a rule set's full conditions (as Hayabusa and Chainsaw do): every
 * rule's detection is summarised at compile time as a `Requirement`, clauses of literal tests on one
 * field each (`Image` ends with `\certutil.exe`, `CommandLine` contains `-urlcache`) that any event the
 * rule matches must pass: every clause, each by one of its tests. For a list of candidate rules, the
 * tests on one field are gathered into one matcher (`FieldTexts`: Maps for equality, heads and tails,
 * a trigram table for contains), evaluated once per event over that field's values (read and
 * lower-cased once, `FieldCache`), and only the rules whose clauses all hit run their condition.
 *
 * Soundness is the compiler's side: a requirement only ever names tests an event matching the rule
 * must pass (see compile.ts). Whatever it cannot vouch for — `not`, `|re`, `|cidr`, `|exists`, null,
 * `|fieldref`, numbers compared, a value of only wildcards, an `or` with such a branch — adds no clause,
 * and a rule with no clause at all is always evaluated.
 */
import type { CoalEvent } from '../../model/event.js';
import type { FieldCache } from './field-cache.js';
import type { Comparison } from './modifiers.js';

/** One literal test on one field's values (already lower-cased when the rule compares without case). */
export interface LiteralTest {
  /** The field's slot in a FieldCache (see compile.ts fieldSlot): one per field name and case. */
  slot: number;
  read: (event: CoalEvent, cache: FieldCache) => string[];
  how: Comparison;
  text: string;
}

/** Clauses an event must all pass for a predicate to hold; a clause passes when one of its tests does. */
export type Requirement = LiteralTest[][];

/** Clauses kept per rule (one bit each in a 32-bit mask). */
const MAX_CLAUSES = 30;

/** How much a clause narrows: its weakest test's text length (short texts hit nearly every event). */
function clauseScore(clause: LiteralTest[]): number {
  let min = Number.POSITIVE_INFINITY;
  for (const t of clause) min = Math.min(min, t.how === 'equals' ? t.text.length + 8 : t.text.length);
  return min * 1000 - clause.length;
}

/** Both hold: every clause of each. */
export function allOf(parts: Requirement[]): Requirement {
  const out: Requirement = [];
  for (const p of parts) for (const c of p) out.push(c);
  if (out.length <= MAX_CLAUSES) return out;
  return out.sort((a, b) => clauseScore(b) - clauseScore(a)).slice(0, MAX_CLAUSES);
}

/**
 * One of them holds: the union of each part's narrowest clause is then necessary. A part that requires
 * nothing makes the whole require nothing.
 */
export function anyOf(parts: Requirement[]): Requirement {
  const union: LiteralTest[] = [];
  for (const p of parts) {
    if (p.length === 0) return [];
    let best = p[0];
    for (const c of p) if (clauseScore(c) > clauseScore(best)) best = c;
    for (const t of best) union.push(t);
  }
  return union.length === 0 ? [] : [union];
}

/**
 * Heads (or tails) to look for, by a hash of their code units read from the end they are anchored at.
 * A value is hashed along from that end, one code unit at a time, and looked up only at the lengths some
 * text has: no slice of the value is made, and a hit is confirmed by a compare in place.
 */
class EndTexts {
  private readonly byText = new Map<string, number[]>();
  private readonly byHash = new Map<number, Array<{ text: string; ids: number[] }>>();
  /** `hasLength[n]` is 1 when some text is n code units long. */
  private hasLength = new Uint8Array(0);

  constructor(private readonly fromEnd: boolean) {}

  get size(): number {
    return this.byText.size;
  }

  add(text: string, id: number): void {
    const same = this.byText.get(text);
    if (same) same.push(id);
    else this.byText.set(text, [id]);
  }

  /** Files the texts by hash; once, after every add. */
  build(): void {
    let longest = 0;
    for (const text of this.byText.keys()) longest = Math.max(longest, text.length);
    this.hasLength = new Uint8Array(longest + 1);
    for (const [text, ids] of this.byText) {
      this.hasLength[text.length] = 1;
      let h = HASH_SEED;
      for (let k = 0; k < text.length; k++)
        h = Math.imul(h ^ text.charCodeAt(this.fromEnd ? text.length - 1 - k : k), HASH_PRIME);
      const same = this.byHash.get(h);
      if (same) same.push({ text, ids });
      else this.byHash.set(h, [{ text, ids }]);
    }
  }

  scan(value: string, pass: (id: number) => void): void {
    const { hasLength, fromEnd } = this;
    const n = Math.min(value.length, hasLength.length - 1);
    let h = HASH_SEED;
    for (let k = 1; k <= n; k++) {
      h = Math.imul(h ^ value.charCodeAt(fromEnd ? value.length - k : k - 1), HASH_PRIME);
      if (hasLength[k] === 0) continue;
      const hits = this.byHash.get(h);
      if (hits === undefined) continue;
      for (const { text, ids } of hits)
        if (text.length === k && (fromEnd ? value.endsWith(text) : value.startsWith(text)))
          for (const id of ids) pass(id);
    }
  }
}

/** FNV-1a's 32-bit offset basis and prime. */
const HASH_SEED = 0x811c9dc5;
const HASH_PRIME = 0x01000193;

function gramHash(s: string, at: number, g: number): number {
  let h = Math.imul(s.charCodeAt(at), 0x9e3779b1);
  if (g > 1) h ^= Math.imul(s.charCodeAt(at + 1), 0x85ebca6b);
  if (g > 2) h ^= Math.imul(s.charCodeAt(at + 2), 0xc2b2ae35);
  return h ^ (h >>> 15);
}

/** Up to this many contains texts of one gram length are searched for one by one, not hashed. */
const FEW_TEXTS = 4;

/**
 * Contains texts of one gram length `g` (1, 2 or 3 code units): each text is filed under one of its
 * grams, the one least shared with the other texts, with its offset there; scanning a value reads the
 * table once per position and compares in place only the texts filed under that slot.
 */
class GramTable {
  private readonly texts: Array<[string, number]> = [];
  private mask = 0;
  /** Per table slot, `entries[start[h] .. start[h + 1])` are (text, id, offset) to compare. */
  private start = new Int32Array(1);
  private entryText: string[] = [];
  private entryId = new Int32Array(0);
  private entryOffset = new Int32Array(0);

  constructor(private readonly g: number) {}

  get size(): number {
    return this.texts.length;
  }

  add(text: string, id: number): void {
    this.texts.push([text, id]);
  }

  build(): void {
    const g = this.g;
    const shared = new Map<string, number>();
    for (const [text] of this.texts)
      for (let i = 0; i + g <= text.length; i++) {
        const gram = text.slice(i, i + g);
        shared.set(gram, (shared.get(gram) ?? 0) + 1);
      }
    let size = 64;
    while (size < this.texts.length * 4) size *= 2;
    this.mask = size - 1;
    const slotOf: number[] = [];
    const offsetOf: number[] = [];
    const counts = new Int32Array(size + 1);
    for (const [text] of this.texts) {
      let best = 0;
      let bestCount = Number.POSITIVE_INFINITY;
      for (let i = 0; i + g <= text.length; i++) {
        const c = shared.get(text.slice(i, i + g)) ?? 0;
        if (c < bestCount) {
          best = i;
          bestCount = c;
        }
      }
      const h = gramHash(text, best, g) & this.mask;
      slotOf.push(h);
      offsetOf.push(best);
      counts[h + 1]++;
    }
    for (let h = 0; h < size; h++) counts[h + 1] += counts[h];
    this.start = counts;
    const n = this.texts.length;
    this.entryText = new Array<string>(n).fill('');
    this.entryId = new Int32Array(n);
    this.entryOffset = new Int32Array(n);
    const fill = counts.slice(0, size);
    for (let k = 0; k < n; k++) {
      const at = fill[slotOf[k]]++;
      this.entryText[at] = this.texts[k][0];
      this.entryId[at] = this.texts[k][1];
      this.entryOffset[at] = offsetOf[k];
    }
  }

  scan(value: string, pass: (id: number) => void): void {
    // a few texts are found sooner one search each than by hashing every position (a test passes once)
    if (this.texts.length <= FEW_TEXTS) {
      for (const [text, id] of this.texts) if (value.includes(text)) pass(id);
      return;
    }
    const { g, start, mask } = this;
    const n = value.length - g + 1;
    if (n <= 0) return;
    // gramHash written out, rolling over the code units: this loop is most of the prefilter's time
    let a = value.charCodeAt(0);
    let b = g > 1 ? value.charCodeAt(1) : 0;
    for (let i = 0; i < n; i++) {
      let h: number;
      if (g === 3) {
        const c = value.charCodeAt(i + 2);
        h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca6b) ^ Math.imul(c, 0xc2b2ae35);
        a = b;
        b = c;
      } else if (g === 2) {
        h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca6b);
        a = b;
        b = value.charCodeAt(i + 2);
      } else {
        h = Math.imul(a, 0x9e3779b1);
        a = value.charCodeAt(i + 1);
      }
      h = (h ^ (h >>> 15)) & mask;
      const from = start[h];
      const to = start[h + 1];
      if (from !== to) this.compare(value, i, from, to, pass);
    }
  }

  private compare(value: string, i: number, from: number, to: number, pass: (id: number) => void): void {
    for (let k = from; k < to; k++) {
      const at = i - this.entryOffset[k];
      if (at >= 0 && value.startsWith(this.entryText[k], at)) pass(this.entryId[k]);
    }
  }
}

/**
 * One field's tests over a candidate list. Equality: one Map lookup per value; startswith/endswith: the
 * value's head or tail hashed along, looked up at each length the texts have (`EndTexts`); contains:
 * `GramTable`s. Linear in the value's length.
 */
class FieldTexts {
  readonly exact = new Map<string, number[]>();
  readonly prefixes = new EndTexts(false);
  readonly suffixes = new EndTexts(true);
  /** Contains texts by length: one code unit, two, three or more. */
  private readonly grams = [new GramTable(1), new GramTable(2), new GramTable(3)];

  constructor(readonly read: (event: CoalEvent, cache: FieldCache) => string[]) {}

  add(test: LiteralTest, id: number): void {
    if (test.how === 'equals') {
      const same = this.exact.get(test.text);
      if (same) same.push(id);
      else this.exact.set(test.text, [id]);
    } else if (test.how === 'startswith') this.prefixes.add(test.text, id);
    else if (test.how === 'endswith') this.suffixes.add(test.text, id);
    else this.grams[Math.min(test.text.length, 3) - 1].add(test.text, id);
  }

  /** Files the contains texts; once, after every add. */
  build(): void {
    for (const table of this.grams) if (table.size > 0) table.build();
    this.prefixes.build();
    this.suffixes.build();
    this.gramTables = this.grams.filter((t) => t.size > 0);
  }

  private gramTables: GramTable[] = [];

  /** Calls `pass(id)` for every test `value` passes (a test may be named more than once). */
  scan(value: string, pass: (id: number) => void): void {
    const exact = this.exact.size > 0 ? this.exact.get(value) : undefined;
    if (exact) for (const id of exact) pass(id);
    if (this.prefixes.size > 0) this.prefixes.scan(value, pass);
    if (this.suffixes.size > 0) this.suffixes.scan(value, pass);
    for (const table of this.gramTables) table.scan(value, pass);
  }
}

/**
 * The prefilter of one candidate list of rules (in their order): `select` gives the positions of the
 * rules an event may match, ascending, in `selected`.
 */
export class RulePrefilter {
  readonly selected: Int32Array;
  private readonly always: Uint8Array;
  private readonly full: Int32Array;
  private readonly mask: Int32Array;
  private readonly ruleStamp: Uint32Array;
  private readonly testStamp: Uint32Array;
  private readonly tests: LiteralTest[] = [];
  /** Per test, the (rule position × 32 + clause) it satisfies. */
  private readonly targets: number[][] = [];
  private readonly fields: FieldTexts[] = [];
  private stamp = 0;

  constructor(requirements: Array<Requirement | undefined>) {
    const n = requirements.length;
    this.selected = new Int32Array(n);
    this.always = new Uint8Array(n);
    this.full = new Int32Array(n);
    this.mask = new Int32Array(n);
    this.ruleStamp = new Uint32Array(n);
    const ids = new Map<string, number>();
    const bySlot = new Map<number, number[]>();
    for (let r = 0; r < n; r++) {
      const req = requirements[r];
      if (!req || req.length === 0) {
        this.always[r] = 1;
        continue;
      }
      const clauses = req.length > MAX_CLAUSES ? allOf([req]) : req;
      this.full[r] = (1 << clauses.length) - 1;
      for (let c = 0; c < clauses.length; c++)
        for (const t of clauses[c]) {
          const key = `${t.slot}\u0000${t.how}\u0000${t.text}`;
          let id = ids.get(key);
          if (id === undefined) {
            id = this.tests.length;
            ids.set(key, id);
            this.tests.push(t);
            this.targets.push([]);
            const list = bySlot.get(t.slot) ?? [];
            list.push(id);
            bySlot.set(t.slot, list);
          }
          this.targets[id].push(r * 32 + c);
        }
    }
    this.testStamp = new Uint32Array(this.tests.length);
    for (const list of bySlot.values()) {
      const field = new FieldTexts(this.tests[list[0]].read);
      for (const id of list) field.add(this.tests[id], id);
      field.build();
      this.fields.push(field);
    }
  }

  private pass(id: number): void {
    if (this.testStamp[id] === this.stamp) return;
    this.testStamp[id] = this.stamp;
    const targets = this.targets[id];
    for (let k = 0; k < targets.length; k++) {
      const r = targets[k] >> 5;
      if (this.ruleStamp[r] !== this.stamp) {
        this.ruleStamp[r] = this.stamp;
        this.mask[r] = 0;
      }
      this.mask[r] |= 1 << (targets[k] & 31);
    }
  }

  private readonly onPass = (id: number): void => this.pass(id);

  /** The number of rules `event` may match; their positions are `selected[0 .. count)`. */
  select(event: CoalEvent, cache: FieldCache): number {
    this.stamp = (this.stamp + 1) >>> 0;
    if (this.stamp === 0) {
      this.ruleStamp.fill(0);
      this.testStamp.fill(0);
      this.stamp = 1;
    }
    for (const field of this.fields) {
      const values = field.read(event, cache);
      for (let v = 0; v < values.length; v++) field.scan(values[v], this.onPass);
    }
    let count = 0;
    for (let r = 0; r < this.always.length; r++)
      if (this.always[r] === 1 || (this.ruleStamp[r] === this.stamp && this.mask[r] === this.full[r]))
        this.selected[count++] = r;
    return count;
  }
}
