/**
 * Binary Windows event logs (`.evtx`): our own reader, no native or npm dependency. The file header
 * (4096 bytes) is followed by 64 KiB chunks, each read on its own (`parseChunk`), so `read()` holds at
 * most one chunk in memory. Records become WinEvents and are mapped by the shared `winEventToCoal`;
 * events no analytic reads are skipped silently; damaged chunks and records are reported and skipped.
 */
import type { CoalEvent } from '../../model/event.js';
import { type Issue, issue } from '../../model/issue.js';
import type { SourceDescriptor } from '../types.js';
import { winEventToCoal } from '../win-event.js';
import { CHUNK_BYTES, type ChunkOptions, type EvtxProblem, type EvtxRecord, parseChunk } from './chunk.js';
import { FILE_HEADER_BYTES, parseFileHeader } from './header.js';

export type { EvtxProblem, EvtxRecord } from './chunk.js';

export function isEvtxProblem(x: EvtxRecord | EvtxProblem): x is EvtxProblem {
  return !('event' in x);
}

/** The file header's verdict: problems to report and how to read the chunks, or the problem that makes this not EVTX. */
function header(head: Buffer): { problems: EvtxProblem[]; opts: ChunkOptions } | EvtxProblem {
  const h = parseFileHeader(head);
  if (typeof h === 'string') return { offset: 0, reason: h };
  const problems: EvtxProblem[] = [];
  // a dirty file's header is stale by definition: its checksum says nothing about the chunks
  if (!h.checksumOk && !h.dirty)
    problems.push({ offset: 0x7c, reason: 'file header checksum mismatch; chunks read anyway' });
  if (head.length < FILE_HEADER_BYTES) problems.push({ offset: head.length, reason: 'file ends inside its header' });
  return { problems, opts: { dirty: h.dirty } };
}

function* guarded(gen: () => Generator<EvtxRecord | EvtxProblem>, offset: number): Generator<EvtxRecord | EvtxProblem> {
  try {
    yield* gen();
  } catch (e) {
    // parseChunk guards each record; this is the last line of defence for the never-throws promise
    yield { offset, reason: `internal error: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** Every record and problem in the file bytes, in file order. Never throws. */
export function* readEvtxBuffer(buf: Buffer): Generator<EvtxRecord | EvtxProblem> {
  const h = header(buf.subarray(0, FILE_HEADER_BYTES));
  if ('reason' in h) {
    yield h;
    return;
  }
  yield* h.problems;
  // every 64 KiB block is tried, whatever the header's chunk count says (dirty files keep stale counts)
  for (let off = FILE_HEADER_BYTES, i = 0; off < buf.length; off += CHUNK_BYTES, i++)
    yield* guarded(() => parseChunk(buf.subarray(off, off + CHUNK_BYTES), i, off, h.opts), off);
}

/** Exactly `size` bytes at a time from a stream of arbitrary chunks (the last block may be shorter). */
async function* blocks(stream: AsyncIterable<Buffer>, first: number, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let have = 0;
  let want = first;
  for await (const piece of stream) {
    parts.push(piece);
    have += piece.length;
    while (have >= want) {
      const all = parts.length === 1 ? parts[0] : Buffer.concat(parts, have);
      yield all.subarray(0, want);
      const rest = all.subarray(want);
      parts = rest.length > 0 ? [rest] : [];
      have = rest.length;
      want = size;
    }
  }
  if (have > 0) yield parts.length === 1 ? parts[0] : Buffer.concat(parts, have);
}

function code(p: EvtxProblem): string {
  if (p.recordId !== undefined) return 'EVTX_BAD_RECORD';
  if (p.chunk !== undefined) return 'EVTX_BAD_CHUNK';
  return 'EVTX_BAD_FILE';
}

function where(p: EvtxProblem): string {
  const at = `offset 0x${p.offset.toString(16)}`;
  return p.chunk === undefined ? at : `chunk ${p.chunk}, ${at}`;
}

export const evtx: SourceDescriptor = {
  name: 'evtx',
  summary:
    'Windows binary event log (.evtx): Sysmon, Security, any channel; dirty and damaged files read around the damage',
  platform: 'windows',
  delivers: 'events',
  sniff(head) {
    return head.startsWith('ElfFile\u0000') ? 100 : 0;
  },
  async *read(input, context) {
    const file = input.name;
    const toIssue = (p: EvtxProblem): Issue =>
      issue(
        {
          file,
          record: p.recordId !== undefined ? String(p.recordId) : p.chunk !== undefined ? `chunk ${p.chunk}` : 'header',
        },
        code(p),
        `${where(p)}: ${p.reason}`,
      );
    let opts: ChunkOptions | undefined;
    let index = -1;
    let offset = 0;
    for await (const block of blocks(input.open(), FILE_HEADER_BYTES, CHUNK_BYTES)) {
      const events: CoalEvent[] = [];
      const issues: Issue[] = [];
      let unused = 0;
      if (opts === undefined) {
        const h = header(block);
        if ('reason' in h) {
          yield { events, issues: [toIssue(h)] };
          return;
        }
        opts = { ...h.opts, hostHint: input.hostHint };
        issues.push(...h.problems.map(toIssue));
      } else {
        for (const r of guarded(() => parseChunk(block, index, offset, opts), offset)) {
          if (isEvtxProblem(r)) issues.push(toIssue(r));
          else {
            const ev = winEventToCoal(r.event, { file, record: String(r.recordId) }, 'evtx', context.keepWindowsRecord);
            if (ev) events.push(ev);
            else unused++; // an event id no analytic reads: counted in the summary, not an error
          }
        }
      }
      index++;
      offset += block.length;
      if (events.length > 0 || issues.length > 0 || unused > 0) yield { events, issues, unused };
    }
    if (opts === undefined) yield { events: [], issues: [toIssue({ offset: 0, reason: 'empty file' })] };
  },
};
