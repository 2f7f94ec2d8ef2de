/**
 * Test-only: writes EVTX bytes (file header, chunks, records, BinXML with templates) so the reader's
 * damage handling can be pinned on crafted input. Offsets are real chunk offsets, CRCs are computed.
 */
import { crc32 } from 'node:zlib';

const NS = 'http://schemas.microsoft.com/win/2004/08/events/event';

type Val = [type: number, bytes: Buffer | ((at: number) => Buffer)];

/** Writes BinXML at a known chunk offset, so inline names and templates get their real offsets. */
export class Bx {
  private parts: Buffer[] = [];
  private len = 0;
  constructor(readonly base: number) {}
  get pos(): number {
    return this.base + this.len;
  }
  raw(b: Buffer): this {
    this.parts.push(b);
    this.len += b.length;
    return this;
  }
  u8(n: number): this {
    return this.raw(Buffer.from([n]));
  }
  u16(n: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(n);
    return this.raw(b);
  }
  u32(n: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return this.raw(b);
  }
  name(s: string): this {
    return this.u32(0).u16(0).u16(s.length).raw(Buffer.from(s, 'utf16le')).u16(0);
  }
  open(name: string, attrs: [string, (b: Bx) => void][] = [], content?: (b: Bx) => void): this {
    this.u8(attrs.length > 0 ? 0x41 : 0x01)
      .u16(0xffff)
      .u32(0);
    this.u32(this.pos + 4).name(name);
    if (attrs.length > 0) this.u32(0);
    for (const [n, v] of attrs) {
      this.u8(0x06);
      this.u32(this.pos + 4).name(n);
      v(this);
    }
    if (!content) return this.u8(0x03);
    this.u8(0x02);
    content(this);
    return this.u8(0x04);
  }
  text(s: string): this {
    return this.u8(0x05).u8(0x01).u16(s.length).raw(Buffer.from(s, 'utf16le'));
  }
  sub(index: number, type: number, optional = false): this {
    return this.u8(optional ? 0x0e : 0x0d)
      .u16(index)
      .u8(type);
  }
  frag(): this {
    return this.u8(0x0f).u8(1).u8(1).u8(0);
  }
  /** A template instance: defined here (a body writer) or referenced by offset. Returns the template offset. */
  instance(def: ((b: Bx) => void) | number, values: Val[]): number {
    this.u8(0x0c).u8(1).u32(0);
    let off: number;
    if (typeof def === 'number') {
      off = def;
      this.u32(off);
    } else {
      off = this.pos + 4;
      this.u32(off);
      const body = new Bx(off + 24);
      def(body);
      const bytes = body.bytes();
      this.u32(0).raw(Buffer.alloc(16)).u32(bytes.length).raw(bytes);
    }
    this.u32(values.length);
    const sized = values.map(([t, v]) => [t, typeof v === 'function' ? v(0).length : v.length] as const);
    for (const [t, n] of sized) this.u16(n).u8(t).u8(0);
    for (const [, v] of values) this.raw(typeof v === 'function' ? v(this.pos) : v);
    return off;
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const ws = (s: string) => Buffer.from(s, 'utf16le');
function num(n: number, bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  if (bytes === 8) b.writeBigUInt64LE(BigInt(n));
  else b.writeUIntLE(n, 0, bytes);
  return b;
}
/** FILETIME for an ISO time plus extra 100 ns ticks. */
function ft(iso: string, ticks = 0): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(Date.parse(iso) + 11644473600000) * 10000n + BigInt(ticks));
  return b;
}
const SID_SYSTEM = Buffer.from([1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]);
const GUID = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

/** The test template: a Sysmon 1 event with one substitution of most value types. */
function sysmonTemplate(b: Bx): void {
  const attr =
    (i: number, type: number, optional = false) =>
    (x: Bx) =>
      x.sub(i, type, optional);
  const data = (name: string, i: number, type: number) =>
    b.open('Data', [['Name', (x) => x.text(name)]], (x) => x.sub(i, type));
  b.frag().open('Event', [['xmlns', (x) => x.text(NS)]], () => {
    b.open('System', [], () => {
      b.open('Provider', [['Name', attr(0, 0x01)]]);
      b.open('EventID', [['Qualifiers', attr(19, 0x06, true)]], (x) => x.sub(1, 0x06));
      b.open('TimeCreated', [['SystemTime', attr(2, 0x11)]]);
      b.open('EventRecordID', [], (x) => x.sub(3, 0x0a));
      b.open('Execution', [
        ['ProcessID', attr(4, 0x08)],
        ['ThreadID', attr(5, 0x08)],
      ]);
      b.open('Channel', [], (x) => x.sub(6, 0x01));
      b.open('Computer', [], (x) => x.sub(7, 0x01));
      b.open('Security', [['UserID', attr(8, 0x13, true)]]);
    });
    b.open('EventData', [], () => {
      data('Image', 9, 0x01);
      data('CommandLine', 10, 0x01);
      data('ProcessId', 11, 0x08);
      data('ProcessGuid', 12, 0x0f);
      data('LogonId', 13, 0x15);
      data('Flag', 14, 0x0d);
      data('Raw', 15, 0x0e);
      data('Small', 16, 0x03);
      b.sub(17, 0x21);
      b.open('Data', [], (x) => x.sub(18, 0x81));
    });
  });
  b.u8(0);
}

function sysmonValues(recordId: number, cmd: string): Val[] {
  const nested = (at: number) =>
    new Bx(at)
      .frag()
      .open('Data', [['Name', (x) => x.text('Nested')]], (x) => {
        x.text('a').u8(0x09);
        x.u32(x.pos + 4).name('amp');
        x.text('b').u8(0x08).u16(0x21);
      })
      .u8(0)
      .bytes();
  return [
    [0x01, ws('Microsoft-Windows-Sysmon')],
    [0x06, num(1, 2)],
    [0x11, ft('2024-05-23T17:26:08.716Z', 5811)],
    [0x0a, num(recordId, 8)],
    [0x08, num(2044, 4)],
    [0x08, num(3000, 4)],
    [0x01, ws('Microsoft-Windows-Sysmon/Operational')],
    [0x01, ws('WS1.example.com')],
    [0x13, SID_SYSTEM],
    [0x01, ws('C:\\Windows\\System32\\notepad.exe\u0000')],
    [0x01, ws(cmd)],
    [0x08, num(4242, 4)],
    [0x0f, GUID],
    [0x15, num(0x3e7, 8)],
    [0x0d, num(1, 4)],
    [0x0e, Buffer.from([0xde, 0xad, 0x01])],
    [0x03, Buffer.from([0xfe])],
    [0x21, nested],
    [0x81, ws('one\u0000two\u0000')],
    [0x00, Buffer.alloc(0)],
  ];
}

/** A record at chunk offset `at`; `body` writes its BinXML. */
export function record(at: number, id: number, body: (b: Bx) => void): Buffer {
  const b = new Bx(at + 24);
  body(b);
  const xml = b.bytes();
  const size = 24 + xml.length + 4;
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0x2a2a, 0);
  head.writeUInt32LE(size, 4);
  head.writeBigUInt64LE(BigInt(id), 8);
  ft('2024-05-23T17:26:09Z').copy(head, 16);
  return Buffer.concat([head, xml, num(size, 4)]);
}

type RecordFn = (at: number, template: { off: number }) => Buffer;

/** A Sysmon record; the first in a chunk defines the template, later ones reference it. */
export const sysmon =
  (id: number, cmd = 'notepad.exe notes.txt'): RecordFn =>
  (at, t) =>
    record(at, id, (b) => {
      b.frag();
      const off = b.instance(t.off > 0 ? t.off : sysmonTemplate, sysmonValues(id, cmd));
      t.off = off;
      b.u8(0);
    });

export function chunk(records: RecordFn[], opts: { staleFree?: boolean } = {}): Buffer {
  const c = Buffer.alloc(65536);
  c.write('ElfChnk\0', 'latin1');
  let at = 512;
  let firstEnd = 0;
  const t = { off: 0 };
  for (const r of records) {
    const bytes = r(at, t);
    bytes.copy(c, at);
    at += bytes.length;
    if (firstEnd === 0) firstEnd = at;
  }
  const free = opts.staleFree ? firstEnd : at;
  c.writeUInt32LE(128, 0x28);
  c.writeUInt32LE(free, 0x30);
  // a stale header: free space offset not yet moved past the last records, checksum already over them
  c.writeUInt32LE(crc32(c.subarray(512, at)), 0x34);
  c.writeUInt32LE(crc32(c.subarray(128, 512), crc32(c.subarray(0, 120))), 0x7c);
  return c;
}

export function file(chunks: Buffer[], flags = 0, count = chunks.length): Buffer {
  const h = Buffer.alloc(4096);
  h.write('ElfFile\0', 'latin1');
  h.writeUInt32LE(128, 0x20);
  h.writeUInt16LE(1, 0x24);
  h.writeUInt16LE(3, 0x26);
  h.writeUInt16LE(4096, 0x28);
  h.writeUInt16LE(count, 0x2a);
  h.writeUInt32LE(flags, 0x78);
  h.writeUInt32LE(crc32(h.subarray(0, 0x78)), 0x7c);
  return Buffer.concat([h, ...chunks]);
}
