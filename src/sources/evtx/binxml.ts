/**
 * Binary XML (MS-EVEN6) to a small element tree (`XmlNode`, the shape evtx-xml's mapping reads).
 * A template is compiled once per chunk into parts (literal text, elements, substitution slots) and
 * instantiated per record with that record's values, so no XML text is ever produced or re-parsed.
 * All offsets are chunk-relative and bounds-checked; depth, node count and template recursion are
 * capped. Errors come back as strings; nothing here throws on any bytes (the caller still guards).
 */
import type { XmlNode } from '../evtx-xml.js';
import { decodeValue, MAX_VALUE_CHARS, T_BINXML, utf16, type Value } from './values.js';

const MAX_DEPTH = 32;
/** Nested BinXML values (a fragment inside a substitution inside a fragment…). */
const MAX_FRAGMENT_DEPTH = 8;
const MAX_NODES_PER_RECORD = 8192;
const MAX_CHARS_PER_RECORD = 1024 * 1024;
const MAX_SUBSTITUTIONS = 4096;
/** Element and attribute names are short identifiers; a long one is damage. */
const MAX_NAME_CHARS = 1024;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

interface Sub {
  kind: 'sub';
  index: number;
  optional: boolean;
}
interface Elem {
  kind: 'elem';
  name: string;
  attrs: Attr[];
  content: Part[];
}
interface Attr {
  name: string;
  parts: (string | Sub)[];
}
/** Already instantiated nodes (a template instance nested in a template body). */
interface Literal {
  kind: 'nodes';
  nodes: XmlNode[];
}
type Part = string | Sub | Elem | Literal;

export interface Template {
  parts: Part[];
}

/** Per-chunk state: decoded names and compiled templates by chunk offset. */
export class ChunkContext {
  readonly names = new Map<number, string>();
  readonly templates = new Map<number, Template | string>();
  nodes = 0;
  chars = 0;
  constructor(readonly buf: Buffer) {}
}

class BinXmlError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

function fail(reason: string): never {
  throw new BinXmlError(reason);
}

function need(ctx: ChunkContext, at: number, bytes: number, end: number): void {
  if (at < 0 || at + bytes > end || at + bytes > ctx.buf.length)
    fail(`BinXML runs past its end at 0x${at.toString(16)}`);
}

/** A name string at chunk offset `off`: u32 next, u16 hash, u16 length in characters, UTF-16, NUL. */
function nameAt(ctx: ChunkContext, off: number): { name: string; bytes: number } {
  const buf = ctx.buf;
  if (off < 0 || off + 8 > buf.length) fail(`name offset 0x${off.toString(16)} is outside the chunk`);
  const chars = buf.readUInt16LE(off + 6);
  if (chars > MAX_NAME_CHARS) fail(`name at 0x${off.toString(16)} is ${chars} characters long`);
  const bytes = 8 + 2 * chars + 2;
  let name = ctx.names.get(off);
  if (name === undefined) {
    if (off + 8 + 2 * chars > buf.length) fail(`name at 0x${off.toString(16)} runs past the chunk`);
    name = buf.toString('utf16le', off + 8, off + 8 + 2 * chars);
    ctx.names.set(off, name);
  }
  return { name, bytes };
}

/** Reads a name reference at `at` (u32 offset); an inline definition right after it is skipped. */
function nameRef(ctx: ChunkContext, at: number, end: number): { name: string; next: number } {
  need(ctx, at, 4, end);
  const off = ctx.buf.readUInt32LE(at);
  const { name, bytes } = nameAt(ctx, off);
  return { name, next: off === at + 4 ? at + 4 + bytes : at + 4 };
}

/** The token at `at`; only 0x01, 0x05 and 0x06 may carry the 0x40 "more follows" flag, any other high bit is damage. */
function tokenAt(ctx: ChunkContext, at: number, end: number): number {
  need(ctx, at, 1, end);
  const b = ctx.buf[at];
  const t = b & 0x0f;
  if ((b & 0xb0) !== 0 || ((b & 0x40) !== 0 && t !== 0x01 && t !== 0x05 && t !== 0x06))
    fail(`unexpected BinXML token 0x${b.toString(16)} at 0x${at.toString(16)}`);
  return t;
}

interface Cursor {
  pos: number;
}

/** A leaf token inside element content or an attribute value; undefined when the token is not one. */
function leaf(ctx: ChunkContext, c: Cursor, end: number, depth: number): string | Sub | Literal | undefined {
  const buf = ctx.buf;
  const at = c.pos;
  const token = tokenAt(ctx, at, end);
  switch (token) {
    case 0x05: {
      need(ctx, at, 2, end);
      const type = buf[at + 1];
      if (type === 0x01) {
        need(ctx, at + 2, 2, end);
        const bytes = 2 * buf.readUInt16LE(at + 2);
        need(ctx, at + 4, bytes, end);
        c.pos = at + 4 + bytes;
        return utf16(buf, at + 4, bytes);
      }
      fail(`value text of type 0x${type.toString(16)} at 0x${at.toString(16)}`);
      break;
    }
    case 0x07: {
      need(ctx, at, 3, end);
      const bytes = 2 * buf.readUInt16LE(at + 1);
      need(ctx, at + 3, bytes, end);
      c.pos = at + 3 + bytes;
      return utf16(buf, at + 3, bytes);
    }
    case 0x08: {
      need(ctx, at, 3, end);
      c.pos = at + 3;
      return String.fromCharCode(buf.readUInt16LE(at + 1));
    }
    case 0x09: {
      const { name, next } = nameRef(ctx, at + 1, end);
      c.pos = next;
      return Object.hasOwn(ENTITIES, name) ? ENTITIES[name] : `&${name};`;
    }
    case 0x0d:
    case 0x0e: {
      need(ctx, at, 4, end);
      c.pos = at + 4;
      return { kind: 'sub', index: buf.readUInt16LE(at + 1), optional: token === 0x0e };
    }
    case 0x0c:
      return { kind: 'nodes', nodes: instance(ctx, c, end, depth + 1) };
    default:
      return undefined;
  }
}

/** Parses tokens from c.pos into parts until end of stream (or a close token when inside an element). */
function parts(ctx: ChunkContext, c: Cursor, end: number, depth: number, inElement: boolean): Part[] {
  if (depth > MAX_DEPTH) fail(`BinXML nested deeper than ${MAX_DEPTH}`);
  const buf = ctx.buf;
  const out: Part[] = [];
  for (;;) {
    const at = c.pos;
    const token = tokenAt(ctx, at, end);
    if (token === 0x00) {
      if (inElement) fail(`end of stream inside an element at 0x${at.toString(16)}`);
      c.pos = at + 1;
      return out;
    }
    if (token === 0x04) {
      if (!inElement) fail(`close element outside an element at 0x${at.toString(16)}`);
      c.pos = at + 1;
      return out;
    }
    if (token === 0x0f) {
      c.pos = at + 4;
      continue;
    }
    if (token === 0x0a || token === 0x0b) {
      // processing instructions carry nothing a WinEvent reads
      if (token === 0x0a) c.pos = nameRef(ctx, at + 1, end).next;
      else {
        need(ctx, at, 3, end);
        c.pos = at + 3 + 2 * buf.readUInt16LE(at + 1);
      }
      continue;
    }
    if (token === 0x01) {
      out.push(element(ctx, c, end, depth + 1));
      continue;
    }
    const p = leaf(ctx, c, end, depth);
    if (p === undefined) fail(`unexpected BinXML token 0x${buf[at].toString(16)} at 0x${at.toString(16)}`);
    const last = out.length - 1;
    // adjacent text (value, entity and character references) is one string part
    if (typeof p === 'string' && last >= 0 && typeof out[last] === 'string') out[last] += p;
    else if (!(typeof p === 'object' && p.kind === 'nodes' && p.nodes.length === 0)) out.push(p);
  }
}

/** An open start element token (0x01, 0x41 with attributes) through its close. */
function element(ctx: ChunkContext, c: Cursor, end: number, depth: number): Elem {
  const buf = ctx.buf;
  const at = c.pos;
  need(ctx, at, 11, end);
  const hasAttrs = (buf[at] & 0x40) !== 0;
  const { name, next } = nameRef(ctx, at + 7, end);
  c.pos = next + (hasAttrs ? 4 : 0);
  const elem: Elem = { kind: 'elem', name, attrs: [], content: [] };
  for (;;) {
    const token = tokenAt(ctx, c.pos, end);
    if (token === 0x06) {
      const attr = nameRef(ctx, c.pos + 1, end);
      c.pos = attr.next;
      const value: (string | Sub)[] = [];
      for (;;) {
        const t = tokenAt(ctx, c.pos, end);
        if (t === 0x0c || t === 0x06 || t === 0x02 || t === 0x03) break;
        const p = leaf(ctx, c, end, depth);
        if (p === undefined || (typeof p === 'object' && p.kind === 'nodes')) break;
        value.push(p);
      }
      if (elem.attrs.length < 64) elem.attrs.push({ name: attr.name, parts: value });
      continue;
    }
    if (token === 0x03) {
      c.pos++;
      return elem;
    }
    if (token === 0x02) {
      c.pos++;
      elem.content = parts(ctx, c, end, depth, true);
      return elem;
    }
    fail(`unexpected token 0x${buf[c.pos].toString(16)} in the start tag of <${name}>`);
  }
}

/** The template at chunk offset `off`, compiled once per chunk; a cycle or a bad body is an error string. */
function template(ctx: ChunkContext, off: number, depth: number): Template {
  const cached = ctx.templates.get(off);
  if (typeof cached === 'string') fail(cached);
  if (cached) return cached;
  const buf = ctx.buf;
  if (off < 512 || off + 24 > buf.length) fail(`template offset 0x${off.toString(16)} is outside the chunk`);
  const bodyEnd = off + 24 + buf.readUInt32LE(off + 20);
  if (bodyEnd > buf.length) fail(`template at 0x${off.toString(16)} runs past the chunk`);
  ctx.templates.set(off, `template at 0x${off.toString(16)} refers to itself`);
  try {
    const t: Template = { parts: parts(ctx, { pos: off + 24 }, bodyEnd, depth, false) };
    ctx.templates.set(off, t);
    return t;
  } catch (e) {
    if (e instanceof BinXmlError) ctx.templates.set(off, e.reason);
    throw e;
  }
}

/** A template instance token (0x0c) with its values, instantiated. */
function instance(ctx: ChunkContext, c: Cursor, end: number, depth: number): XmlNode[] {
  if (depth > MAX_DEPTH) fail(`BinXML nested deeper than ${MAX_DEPTH}`);
  const buf = ctx.buf;
  const at = c.pos;
  need(ctx, at, 10, end);
  const off = buf.readUInt32LE(at + 6);
  let p = at + 10;
  if (off === p) {
    // the template is defined right here (first use in this chunk)
    need(ctx, p, 24, end);
    p += 24 + buf.readUInt32LE(p + 20);
  }
  const t = template(ctx, off, depth);
  need(ctx, p, 4, end);
  const count = buf.readUInt32LE(p);
  p += 4;
  if (count > MAX_SUBSTITUTIONS) fail(`${count} substitutions`);
  need(ctx, p, 4 * count, end);
  const values: Value[] = new Array(count);
  let v = p + 4 * count;
  for (let i = 0; i < count; i++) {
    const size = buf.readUInt16LE(p + 4 * i);
    const type = buf[p + 4 * i + 2];
    need(ctx, v, size, end);
    if (type === T_BINXML) values[i] = { nodes: fragment(ctx, v, v + size, depth + 1) };
    else {
      const value = decodeValue(buf, type, v, size);
      if (value !== null && typeof value === 'object' && 'error' in value) fail(value.error);
      values[i] = value;
    }
    v += size;
  }
  c.pos = v;
  const parent: XmlNode = { name: '', attrs: {}, children: [], text: '' };
  build(ctx, t.parts, values, parent);
  return parent.children;
}

/** A nested BinXML fragment (a substitution of type 0x21) as nodes. */
function fragment(ctx: ChunkContext, from: number, end: number, depth: number): XmlNode[] {
  if (depth > MAX_FRAGMENT_DEPTH + MAX_DEPTH) fail('BinXML values nested too deep');
  if (from >= end) return [];
  const parent: XmlNode = { name: '', attrs: {}, children: [], text: '' };
  build(ctx, parts(ctx, { pos: from }, end, depth, false), [], parent);
  return parent.children;
}

/** Spends the record's budget: templates may repeat substitutions, so output can outgrow the record's bytes. */
function spend(ctx: ChunkContext, nodes: number, chars: number): void {
  ctx.nodes += nodes;
  ctx.chars += chars;
  if (ctx.nodes > MAX_NODES_PER_RECORD) fail(`more than ${MAX_NODES_PER_RECORD} elements in one record`);
  if (ctx.chars > MAX_CHARS_PER_RECORD) fail(`more than ${MAX_CHARS_PER_RECORD} characters of text in one record`);
}

function addText(ctx: ChunkContext, node: XmlNode, s: string): void {
  if (node.text.length >= MAX_VALUE_CHARS) return;
  spend(ctx, 0, s.length);
  node.text += s;
}

function valueText(v: Value | undefined): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  return 'items' in v ? v.items.join(', ') : '';
}

/** Instantiates parts with values under parent. */
function build(ctx: ChunkContext, ps: Part[], values: Value[], parent: XmlNode): void {
  for (const p of ps) {
    if (typeof p === 'string') addText(ctx, parent, p);
    else if (p.kind === 'sub') {
      const v = values[p.index];
      if (v !== undefined && v !== null && typeof v === 'object' && 'nodes' in v) {
        spend(ctx, v.nodes.length, 0);
        for (const n of v.nodes) parent.children.push(n);
      } else addText(ctx, parent, valueText(v));
    } else if (p.kind === 'nodes') {
      spend(ctx, p.nodes.length, 0);
      for (const n of p.nodes) parent.children.push(n);
    } else {
      spend(ctx, 1, 0);
      const attrs: Record<string, string> = {};
      for (const a of p.attrs) {
        const only = a.parts.length === 1 ? a.parts[0] : undefined;
        // an optional substitution with no value drops the attribute, as Windows renders it
        if (typeof only === 'object' && only.optional && (values[only.index] ?? null) === null) continue;
        let text = '';
        for (const ap of a.parts) {
          const t = typeof ap === 'string' ? ap : valueText(values[ap.index]);
          spend(ctx, 0, t.length);
          text += t;
        }
        attrs[a.name] = text.length > MAX_VALUE_CHARS ? text.slice(0, MAX_VALUE_CHARS) : text;
      }
      const single = p.content.length === 1 ? p.content[0] : undefined;
      const sv = typeof single === 'object' && single.kind === 'sub' ? values[single.index] : undefined;
      if (sv !== undefined && sv !== null && typeof sv === 'object' && 'items' in sv) {
        // an array fills one element per item (Windows repeats `<Data>` for each string)
        spend(ctx, sv.items.length, 0);
        for (const item of sv.items)
          parent.children.push({ name: p.name, attrs, children: [], text: item.slice(0, MAX_VALUE_CHARS) });
        continue;
      }
      const node: XmlNode = { name: p.name, attrs, children: [], text: '' };
      build(ctx, p.content, values, node);
      parent.children.push(node);
    }
  }
}

/** A record's BinXML in chunk bytes [from, end) as its top-level nodes, or why it cannot be read. */
export function decodeRecordXml(ctx: ChunkContext, from: number, end: number): XmlNode[] | string {
  ctx.nodes = 0;
  ctx.chars = 0;
  try {
    return fragment(ctx, from, end, 0);
  } catch (e) {
    if (e instanceof BinXmlError) return e.reason;
    if (e instanceof RangeError) return `BinXML read out of range: ${e.message}`;
    return `BinXML could not be read: ${e instanceof Error ? e.message : String(e)}`;
  }
}
