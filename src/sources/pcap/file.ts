/**
 * pcap and pcapng framing: bytes pushed in arbitrary chunks → packets (link type, time, captured
 * bytes) and problems with their byte offset. Holds at most one block plus one chunk; never throws.
 * References: pcap (tcpdump.org/manpages/pcap-savefile.5), pcapng (IETF draft-ietf-opsawg-pcapng).
 */

export interface RawPacket {
  /** 1-based packet number, as Wireshark numbers frames. */
  index: number;
  offset: number;
  linkType: number;
  tsMs: number;
  data: Buffer;
  origLen: number;
}

export interface FrameProblem {
  offset: number;
  /** Packet number the problem belongs to (the next packet when between packets). */
  index: number;
  reason: string;
}

/** A pcap record or pcapng block larger than this is a broken length, not a packet (Wireshark allows 256 KiB packets). */
const MAX_PACKET = 256 * 1024;
const MAX_BLOCK = 16 * 1024 * 1024;
/** How far a resync scans before giving up on the bytes it holds (bounded work per chunk). */
const RESYNC_SCAN = 1 << 20;

const SHB = 0x0a0d0d0a;
const IDB = 1;
const PB = 2;
const SPB = 3;
const EPB = 6;
const BOM = 0x1a2b3c4d;

export type FileKind = 'pcap' | 'pcap-ns' | 'pcapng';

export function sniffKind(head: Buffer): { kind: FileKind; little: boolean } | undefined {
  if (head.length < 4) return undefined;
  const le = head.readUInt32LE(0);
  if (le === 0xa1b2c3d4) return { kind: 'pcap', little: true };
  if (le === 0xa1b23c4d) return { kind: 'pcap-ns', little: true };
  const be = head.readUInt32BE(0);
  if (be === 0xa1b2c3d4) return { kind: 'pcap', little: false };
  if (be === 0xa1b23c4d) return { kind: 'pcap-ns', little: false };
  if (le === SHB && head.length >= 12) {
    if (head.readUInt32LE(8) === BOM) return { kind: 'pcapng', little: true };
    if (head.readUInt32BE(8) === BOM) return { kind: 'pcapng', little: false };
  }
  return undefined;
}

interface Iface {
  linkType: number;
  snapLen: number;
  /** Timestamp units per millisecond (1000 for the default microseconds). */
  unitsPerMs: number;
}

export class Framer {
  private buf: Buffer = Buffer.alloc(0);
  /** File offset of buf[0]. */
  private base = 0;
  private index = 0;
  private kind: FileKind | undefined;
  private little = true;
  private linkType = 0;
  private ifaces: Iface[] = [];
  private lastTsSec = 0;
  private syncing = false;
  /** No known magic: the rest of the input is not read, whatever chunks it arrives in. */
  private unknown = false;
  /** The last resync kept a candidate block at buf[0] that needed more bytes: check it first. */
  private candidateAt0 = false;
  /** Packets whose captured length is below their original length (snaplen): counted, reported once. */
  cutPackets = 0;
  firstCut: { index: number; offset: number } | undefined;
  private out: Array<RawPacket | FrameProblem> = [];

  /**
   * Chunks held back while a record or block is known to need more bytes than have arrived: joined
   * once it can be complete, so a 16 MiB block arriving in 64 KiB chunks is copied once, not 256 times.
   */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes from buf[0] the record being waited for needs (0: unknown, try on every chunk). */
  private need = 0;

  push(chunk: Buffer): Array<RawPacket | FrameProblem> {
    this.out = [];
    if (this.need > 0 && this.buf.length + this.pendingBytes + chunk.length < this.need) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      return this.out;
    }
    this.join(chunk);
    this.run(false);
    return this.out;
  }

  private join(chunk?: Buffer): void {
    const parts = [this.buf, ...this.pending];
    if (chunk) parts.push(chunk);
    const nonEmpty = parts.filter((b) => b.length > 0);
    this.buf = nonEmpty.length === 1 ? nonEmpty[0] : Buffer.concat(nonEmpty);
    this.pending = [];
    this.pendingBytes = 0;
    this.need = 0;
  }

  end(): Array<RawPacket | FrameProblem> {
    this.out = [];
    this.join();
    this.run(true);
    if (this.buf.length > 0) {
      this.problem(
        this.base,
        `file ends inside a ${this.kind === 'pcapng' ? 'block' : 'record'} (${this.buf.length} bytes left)`,
      );
      this.buf = Buffer.alloc(0);
    }
    if (this.kind === undefined && this.index === 0 && this.out.length === 0)
      this.problem(0, 'empty file or no pcap/pcapng header');
    return this.out;
  }

  private problem(offset: number, reason: string): void {
    this.out.push({ offset, index: this.index + 1, reason });
  }

  private consume(n: number): void {
    this.buf = this.buf.subarray(n);
    this.base += n;
  }

  private u32(off: number): number {
    return this.little ? this.buf.readUInt32LE(off) : this.buf.readUInt32BE(off);
  }

  private run(atEnd: boolean): void {
    if (this.unknown) {
      this.consume(this.buf.length);
      return;
    }
    if (this.kind === undefined) {
      if (this.buf.length < 24 && !atEnd) return;
      const k = sniffKind(this.buf);
      if (!k) {
        this.problem(0, 'not a pcap or pcapng file (unknown magic)');
        this.consume(this.buf.length);
        this.kind = 'pcap';
        this.unknown = true; // later chunks are not pcap records either
        return;
      }
      this.kind = k.kind;
      this.little = k.little;
      if (k.kind !== 'pcapng') {
        if (this.buf.length < 24) return;
        this.linkType = this.u32(20) & 0xffff; // upper bits carry the FCS length
        this.consume(24);
      }
    }
    if (this.kind === 'pcapng') this.runNg();
    else this.runPcap();
  }

  private plausiblePcap(off: number): boolean {
    const incl = this.u32(off + 8);
    const orig = this.u32(off + 12);
    const usec = this.u32(off + 4);
    const sec = this.u32(off);
    const limit = this.kind === 'pcap-ns' ? 1e9 : 1e6;
    return (
      incl <= MAX_PACKET &&
      incl <= orig &&
      orig <= MAX_PACKET * 4 &&
      usec < limit &&
      (this.lastTsSec === 0 || Math.abs(sec - this.lastTsSec) < 86400 * 30)
    );
  }

  private runPcap(): void {
    for (;;) {
      if (this.syncing) {
        const stop = Math.min(this.buf.length - 16, RESYNC_SCAN);
        let found = -1;
        for (let i = 1; i <= stop; i++)
          if (this.plausiblePcap(i)) {
            found = i;
            break;
          }
        if (found < 0) {
          if (this.buf.length > 16) this.consume(Math.max(0, stop));
          return;
        }
        this.consume(found);
        this.syncing = false;
      }
      if (this.buf.length < 16) return;
      const incl = this.u32(8);
      const orig = this.u32(12);
      // more bytes captured than the packet had, or more than any link carries: the length is broken
      if (incl > MAX_PACKET || incl > orig) {
        this.problem(
          this.base,
          `record header claims ${incl} captured bytes (original ${orig}): bogus length, resyncing`,
        );
        this.syncing = true;
        continue;
      }
      if (this.buf.length < 16 + incl) {
        this.need = 16 + incl;
        return;
      }
      const sec = this.u32(0);
      const frac = this.u32(4);
      this.lastTsSec = sec;
      const tsMs = sec * 1000 + (this.kind === 'pcap-ns' ? frac / 1e6 : frac / 1e3);
      this.emit(this.linkType, tsMs, this.buf.subarray(16, 16 + incl), orig);
      this.consume(16 + incl);
    }
  }

  private emit(linkType: number, tsMs: number, data: Buffer, origLen: number): void {
    this.index++;
    const offset = this.base;
    if (data.length < origLen) {
      this.cutPackets++;
      this.firstCut ??= { index: this.index, offset };
    }
    // copy: the packet may outlive this chunk (flow samples keep slices)
    this.out.push({ index: this.index, offset, linkType, tsMs, data: Buffer.from(data), origLen });
  }

  private runNg(): void {
    for (;;) {
      if (this.syncing && !this.resyncNg()) return;
      if (this.buf.length < 12) return;
      let type = this.buf.readUInt32LE(0);
      if (type === SHB) {
        const bom = this.buf.readUInt32LE(8);
        if (bom === BOM) this.little = true;
        else if (this.buf.readUInt32BE(8) === BOM) this.little = false;
        else {
          this.problem(this.base, 'section header with a bad byte-order magic, resyncing');
          this.syncing = true;
          continue;
        }
      }
      type = this.u32(0);
      const len = this.u32(4);
      if (len < 12 || len % 4 !== 0 || len > MAX_BLOCK) {
        this.problem(this.base, `block type 0x${type.toString(16)} claims length ${len}: bogus, resyncing`);
        this.syncing = true;
        continue;
      }
      if (this.buf.length < len) {
        this.need = len;
        return;
      }
      if (this.u32(len - 4) !== len) {
        this.problem(
          this.base,
          `block type 0x${type.toString(16)} length ${len} does not match its trailer, resyncing`,
        );
        this.syncing = true;
        continue;
      }
      this.block(type, this.buf.subarray(0, len));
      this.consume(len);
    }
  }

  /** Drops bytes until a block whose leading and trailing lengths agree; false when more bytes are needed. */
  private resyncNg(): boolean {
    const stop = Math.min(this.buf.length - 12, RESYNC_SCAN);
    // buf[0] is the broken block, unless it is the candidate the last call waited for
    const from = this.candidateAt0 ? 0 : 4;
    this.candidateAt0 = false;
    for (let i = from; i <= stop; i += 4) {
      const type = this.u32(i);
      if (type !== SHB && type !== IDB && type !== EPB && type !== SPB && type !== PB) continue;
      const len = this.u32(i + 4);
      if (len < 12 || len % 4 !== 0 || len > MAX_BLOCK) continue;
      if (i + len > this.buf.length) {
        // a candidate we cannot check yet: keep it and wait for more bytes
        this.consume(i);
        this.candidateAt0 = true;
        return false;
      }
      if (this.u32(i + len - 4) !== len) continue;
      this.consume(i);
      this.syncing = false;
      return true;
    }
    if (stop > 0) this.consume(stop - (stop % 4));
    return false;
  }

  private block(type: number, b: Buffer): void {
    const rd32 = (o: number) => (this.little ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const rd16 = (o: number) => (this.little ? b.readUInt16LE(o) : b.readUInt16BE(o));
    if (type === SHB) {
      this.ifaces = []; // interface ids are per section
      return;
    }
    if (type === IDB) {
      if (b.length < 20) {
        this.problem(this.base, 'interface description block too short');
        return;
      }
      const iface: Iface = { linkType: rd16(8), snapLen: rd32(12), unitsPerMs: 1000 };
      // options: code, length, value padded to 4; if_tsresol (9) is 10^-n or, with the top bit, 2^-n
      for (let o = 16; o + 4 <= b.length - 4; ) {
        const code = rd16(o);
        const olen = rd16(o + 2);
        if (code === 0) break;
        if (code === 9 && olen >= 1 && o + 5 <= b.length) {
          const v = b[o + 4];
          const perSec = v & 0x80 ? 2 ** (v & 0x7f) : 10 ** v;
          iface.unitsPerMs = perSec / 1000;
        }
        o += 4 + olen + ((4 - (olen % 4)) % 4);
      }
      this.ifaces.push(iface);
      return;
    }
    if (type === EPB || type === PB) {
      if (b.length < 32) {
        this.problem(this.base, 'packet block too short');
        return;
      }
      const id = type === EPB ? rd32(8) : rd16(8);
      const cap = rd32(20);
      const orig = rd32(24);
      const iface = this.ifaces[id];
      if (!iface) {
        this.index++;
        this.problem(this.base, `packet block names interface ${id}, which no interface block described`);
        return;
      }
      if (28 + cap > b.length - 4) {
        this.index++;
        this.problem(this.base, `packet block claims ${cap} captured bytes in a ${b.length}-byte block`);
        return;
      }
      const ts = rd32(12) * 4294967296 + rd32(16);
      this.emit(iface.linkType, ts / iface.unitsPerMs, b.subarray(28, 28 + cap), orig);
      return;
    }
    if (type === SPB) {
      const iface = this.ifaces[0];
      if (!iface) {
        this.index++;
        this.problem(this.base, 'simple packet block without an interface block');
        return;
      }
      const orig = rd32(8);
      const cap = Math.min(orig, b.length - 16, iface.snapLen > 0 ? iface.snapLen : MAX_BLOCK);
      // a simple packet block carries no time
      this.emit(iface.linkType, 0, b.subarray(12, 12 + cap), orig);
    }
    // other blocks (name resolution, statistics, custom) carry nothing we read
  }
}
