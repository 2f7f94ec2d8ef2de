/**
 * A live process's memory, read-only: `/proc/PID/maps` says which regions exist, `/proc/PID/mem` is
 * read at their addresses (root, or the process's owner where ptrace_scope allows; reading does not
 * stop or change the process, unlike ptrace attach). Only what the process made or unpacked is read:
 * private writable or executable regions (heap, anonymous mappings, stacks, unpacked code) and the
 * private read-only ones no file on disk holds (anonymous: where UPX's stub puts a packed program's
 * constants and strings; a memfd or deleted executable's: a fileless program's), at most
 * `maxRegionBytes` of one region and `maxProcessBytes` of a process, in 1 MiB reads; a page that cannot
 * be read (guard pages, a region unmapped meanwhile) skips that read, counted. `isReadable` is every
 * readable region, for `inspect --dump-all` (the whole address space, when asked).
 *
 * The shape of a RandomX miner, from the same files: a dataset of ~2 GiB in large anonymous
 * mappings, huge pages in use (`AnonHugePages` in smaps, hugetlb mappings), and `/dev/cpu/N/msr` open
 * (xmrig's MSR mod writes the prefetcher registers). It closes the device once written, so the host's
 * lasting mark is the `msr` driver it loaded (`msrDriver`): context, since turbostat and tuning tools
 * load it too.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { clip } from '../util/hostile.js';
import { parsePidStat } from './proc-parse.js';

export interface MemoryRegion {
  start: number;
  end: number;
  perms: string;
  /** The mapped file, `[heap]`, `[stack]`, `[anon:…]`, or '' for anonymous memory. */
  path: string;
}

export interface RegionBytes {
  region: MemoryRegion;
  /** Bytes read from the region's start (fewer than its size when bounded or a read failed). */
  data: Buffer;
  /** The region was cut at the region or process bound. */
  clipped: boolean;
}

export interface MemoryShape {
  /** Anonymous private memory in mappings of ≥ 256 MiB (RandomX's dataset is one ~2080 MiB mapping). */
  largeAnonBytes: number;
  /** smaps `AnonHugePages` summed, and memory in hugetlbfs mappings. */
  anonHugeBytes: number;
  hugetlbBytes: number;
  /** Open `/dev/cpu/N/msr` descriptors. */
  msrOpen: number;
}

const MAX_MAPS_BYTES = 8 * 1024 * 1024;
const MAX_REGIONS = 65536;
const READ_BYTES = 1024 * 1024;
const PAGE_BYTES = 4096;
const LARGE_ANON = 256 * 1024 * 1024;
const MAX_FDS = 65536;

/** `/proc/PID/maps` lines: `start-end perms offset dev inode [path]`, addresses in hex. */
export function parseMaps(text: string): MemoryRegion[] {
  const out: MemoryRegion[] = [];
  for (const line of text.split('\n')) {
    if (out.length >= MAX_REGIONS) break;
    const m = /^([0-9a-f]{1,16})-([0-9a-f]{1,16}) ([rwxsp-]{4}) [0-9a-f]+ [0-9a-f]+:[0-9a-f]+ \d+\s*(.*)$/.exec(line);
    if (!m) continue;
    const start = Number.parseInt(m[1], 16);
    const end = Number.parseInt(m[2], 16);
    if (!Number.isSafeInteger(end) || end <= start) continue; // [vsyscall] sits above 2^53 on x86-64
    out.push({ start, end, perms: m[3], path: clip(m[4], 4096) });
  }
  return out;
}

/** Every readable region but the kernel's own pages and device mappings (reading those can have effects). */
export function isReadable(r: MemoryRegion): boolean {
  if (r.perms[0] !== 'r') return false;
  return !(r.path === '[vvar]' || r.path === '[vvar_vclock]' || r.path === '[vsyscall]' || r.path.startsWith('/dev/'));
}

/** A mapping no file on disk holds: anonymous, or a memfd's or deleted file's (fileless code runs from these). */
export function isFileless(r: MemoryRegion): boolean {
  return r.path === '' || r.path.startsWith('[anon') || r.path.startsWith('/memfd:') || r.path.endsWith(' (deleted)');
}

/**
 * Private regions that are writable or executable, or read-only and fileless: where a running program
 * keeps what it made or unpacked. A read-only mapping of a file on disk is that file, which a file scan reads.
 */
export function isScanned(r: MemoryRegion): boolean {
  if (r.perms[3] !== 'p' || !isReadable(r)) return false;
  return r.perms[1] === 'w' || r.perms[2] === 'x' || isFileless(r);
}

/** A short name for a region: `[heap]`, `anon@7f12…`, or the file's base name. */
export function regionName(r: MemoryRegion): string {
  const at = r.start.toString(16);
  if (r.path === '') return `anon@${at}`;
  if (r.path.startsWith('[')) return `${r.path}@${at}`;
  return `${r.path.slice(r.path.lastIndexOf('/') + 1)}@${at}`;
}

export function readMaps(procRoot: string, pid: number): MemoryRegion[] {
  return parseMaps(
    readFileSync(join(procRoot, String(pid), 'maps'))
      .subarray(0, MAX_MAPS_BYTES)
      .toString('utf8'),
  );
}

export interface ReadRegionsOptions {
  /** Which regions are read (default `isScanned`; `isReadable` for the whole address space). */
  select?: (r: MemoryRegion) => boolean;
  maxRegionBytes: number;
  maxProcessBytes: number;
  /** performance.now() past which reading stops. */
  deadline: number;
}

export interface ReadRegionsResult {
  regions: number;
  bytes: number;
  failedReads: number;
  /** Stopped at the process bound or the deadline before every region was read in whole. */
  truncated?: 'bytes' | 'time';
}

/**
 * Read the scanned regions of a process one at a time (heap and anonymous first: where a program's
 * own data is, then file-backed writable/executable ones), each handed to `onRegion` and let go, so
 * at most one region's bytes are held. Throws what opening `/proc/PID/mem` throws (EACCES, ENOENT):
 * the caller reports the permission gap.
 */
export function readRegions(
  procRoot: string,
  pid: number,
  regions: MemoryRegion[],
  o: ReadRegionsOptions,
  onRegion: (r: RegionBytes) => void,
): ReadRegionsResult {
  const rank = (r: MemoryRegion) =>
    r.path === '[heap]' ? 0 : r.path === '' || r.path.startsWith('[anon') ? 1 : r.path === '[stack]' ? 2 : 3;
  const wanted = regions.filter(o.select ?? isScanned).sort((a, b) => rank(a) - rank(b) || a.start - b.start);
  const out: ReadRegionsResult = { regions: 0, bytes: 0, failedReads: 0 };
  const started = performance.now();
  const fd = openSync(join(procRoot, String(pid), 'mem'), 'r');
  try {
    for (const region of wanted) {
      if (out.bytes >= o.maxProcessBytes) {
        out.truncated = 'bytes';
        break;
      }
      const now = performance.now();
      const size = region.end - region.start;
      let want = Math.min(size, o.maxRegionBytes, o.maxProcessBytes - out.bytes);
      // the time bound holds to about one read: a region is read only as far as the pace so far (reading
      // and `onRegion`'s scan together) lets it end before the deadline, and reading stops at the deadline
      const fits = out.bytes > 0 ? Math.floor(((o.deadline - now) * out.bytes) / Math.max(1, now - started)) : want;
      if (now > o.deadline || fits < PAGE_BYTES) {
        out.truncated = 'time';
        break;
      }
      if (fits < want) {
        want = fits - (fits % PAGE_BYTES);
        out.truncated = 'time';
      }
      const data = Buffer.alloc(want);
      let filled = 0;
      for (let off = 0; off < want; off += READ_BYTES) {
        if (off > 0 && performance.now() > o.deadline) {
          out.truncated = 'time';
          break;
        }
        const len = Math.min(READ_BYTES, want - off);
        try {
          const n = readSync(fd, data, off, len, region.start + off);
          filled = off + n;
          if (n < len) break;
        } catch {
          out.failedReads++; // EIO: a guard page or a region gone meanwhile; that read stays zero
        }
      }
      if (filled === 0) continue;
      out.regions++;
      out.bytes += filled;
      onRegion({ region, data: data.subarray(0, filled), clipped: filled < size });
      if (out.truncated === 'time') break;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/** The RandomX shape of a process; unreadable parts count as zero. */
export function memoryShape(procRoot: string, pid: number, regions: MemoryRegion[]): MemoryShape {
  const shape: MemoryShape = { largeAnonBytes: 0, anonHugeBytes: 0, hugetlbBytes: 0, msrOpen: 0 };
  for (const r of regions) {
    const size = r.end - r.start;
    if (r.path === '' && r.perms[3] === 'p' && size >= LARGE_ANON) shape.largeAnonBytes += size;
    if (r.path.includes('/anon_hugepage') || r.path.startsWith('/dev/hugepages') || r.path.includes('hugetlb'))
      shape.hugetlbBytes += size;
  }
  try {
    const smaps = readFileSync(join(procRoot, String(pid), 'smaps_rollup'), 'latin1');
    const m = /^AnonHugePages:\s+(\d+) kB/m.exec(smaps);
    if (m) shape.anonHugeBytes = Number(m[1]) * 1024;
  } catch {
    // no smaps_rollup (old kernel, gVisor) or not ours to read
  }
  try {
    const fdDir = join(procRoot, String(pid), 'fd');
    for (const n of readdirSync(fdDir).slice(0, MAX_FDS)) {
      try {
        if (/^\/dev\/cpu\/\d+\/msr$/.test(readlinkSync(join(fdDir, n)))) shape.msrOpen++;
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    // fd table not readable: the permission gap is the caller's to report
  }
  return shape;
}

/** What the shape says, or undefined when it is not a miner's: large anonymous memory with huge pages, or MSR access. */
export function shapeVerdict(s: MemoryShape): string | undefined {
  const mib = (n: number) => `${Math.round(n / 1024 / 1024)} MiB`;
  const huge = s.anonHugeBytes + s.hugetlbBytes;
  const parts: string[] = [];
  if (s.msrOpen > 0) parts.push(`${s.msrOpen} /dev/cpu/*/msr open`);
  if (s.largeAnonBytes >= 2000 * 1024 * 1024 && huge >= 1024 * 1024 * 1024)
    parts.push(
      `${mib(s.largeAnonBytes)} in large anonymous mappings with ${mib(huge)} on huge pages (a RandomX dataset)`,
    );
  return parts.length > 0 ? parts.join('; ') : undefined;
}

/** The process's comm and start time (its entity id is `pid@starttime`, as the sampler names it). */
export function readStartTime(procRoot: string, pid: number): { starttime: number; comm: string } | undefined {
  try {
    const st = parsePidStat(readFileSync(join(procRoot, String(pid), 'stat'), 'utf8'));
    return st ? { starttime: st.starttime, comm: st.comm } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the host's `msr` driver is loaded as a module (`/proc/modules`, or sysfs's initstate when
 * that is hidden) or built in (`/dev/cpu/0/msr` with no module), or absent: xmrig's MSR mod loads the
 * module (`modprobe msr`) to write the prefetcher registers, and the module stays after it exits.
 */
export function msrDriver(procRoot = '/proc', sysRoot = '/sys', devRoot = '/dev'): 'module' | 'built-in' | undefined {
  try {
    const modules = readFileSync(join(procRoot, 'modules'))
      .subarray(0, 4 * 1024 * 1024)
      .toString('latin1');
    if (/^msr /m.test(modules)) return 'module';
  } catch {
    // no /proc/modules (a kernel without modules, a sandbox): sysfs may still say
  }
  if (existsSync(join(sysRoot, 'module', 'msr', 'initstate'))) return 'module';
  return existsSync(join(devRoot, 'cpu', '0', 'msr')) ? 'built-in' : undefined;
}
