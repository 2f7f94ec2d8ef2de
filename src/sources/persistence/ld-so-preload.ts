/**
 * /etc/ld.so.preload on a collected filesystem: every library it names is loaded into every dynamically
 * linked process, the classic hiding place of user-land rootkits that mask a miner. One
 * `persistence-entry` per library; any entry at all is worth a look, so valid paths raise no issue.
 */
import type { CoalEvent } from '../../model/event.js';
import { type Issue, issue } from '../../model/issue.js';
import { clip } from '../../util/hostile.js';
import type { SourceDescriptor } from '../types.js';
import {
  BinaryTally,
  bestPlace,
  entryEvent,
  type FileLocation,
  isBinaryLine,
  matchPath,
  NAME_SCORE,
  PATH_SCORE,
  type PlaceMatch,
  persistenceFile,
  persistenceLines,
} from './file.js';

const MAX_LIBRARY_CHARS = 4096;
/** A library named without a directory is looked up in the standard paths, like LD_PRELOAD's. */
const BARE_LIBRARY = /^[A-Za-z0-9_.+-]+\.so(\.[0-9.]+)?$/;

function preloadAt(location: FileLocation): PlaceMatch | undefined {
  const at = matchPath(location, ['etc', 'ld.so.preload']);
  if (at >= 0) return { score: PATH_SCORE, at };
  const base = location.segments[location.segments.length - 1];
  return !location.isInDirectory && base === 'ld.so.preload' ? { score: NAME_SCORE } : undefined;
}

/** Library entries of one line; the dynamic loader separates them by whitespace or `:`. */
export function splitPreloadLine(line: string): string[] {
  const text = line.trim();
  if (text === '' || text.startsWith('#')) return [];
  return text.split(/[\s:]+/).filter((entry) => entry.length > 0);
}

/** Why an entry cannot be a library path, or undefined when it can. */
function badEntryReason(entry: string): string | undefined {
  if (entry.length > MAX_LIBRARY_CHARS) return `entry of ${entry.length} characters is too long for a path`;
  for (let i = 0; i < entry.length; i++) {
    const c = entry.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0xfffd) return `'${clip(entry, 60)}' holds control or invalid bytes`;
  }
  if (entry.startsWith('/') || BARE_LIBRARY.test(entry)) return undefined;
  return `'${clip(entry, 60)}' is neither an absolute path nor a library file name`;
}

export const ldSoPreload: SourceDescriptor = {
  name: 'ld-so-preload',
  summary: 'The dynamic loader preload list (/etc/ld.so.preload) on a collected Linux filesystem',
  platform: 'linux',
  delivers: 'state',
  sniff(_head, input) {
    return bestPlace(input, preloadAt)?.score ?? 0;
  },
  async *read(input, context) {
    const issues: Issue[] = [];
    const file = persistenceFile(input, 'ld-so-preload', issues, bestPlace(input, preloadAt)?.path);
    if (!file) {
      yield { events: [], issues };
      return;
    }
    const binary = new BinaryTally(input.name, 'PRELOAD_BINARY');
    let events: CoalEvent[] = [];
    for await (const { lineNo, line } of persistenceLines(input, context, issues)) {
      if (isBinaryLine(line)) {
        binary.note(lineNo, issues);
        continue;
      }
      for (const library of splitPreloadLine(line)) {
        const reason = badEntryReason(library);
        if (reason !== undefined) {
          issues.push(issue({ file: input.name, line: lineNo }, 'PRELOAD_BAD_ENTRY', reason));
          continue;
        }
        events.push(
          entryEvent(file, {
            lineNo,
            line: line.trim(),
            mechanism: 'preload',
            target: library,
            original: { library },
          }),
        );
      }
      if (events.length >= context.maxPendingRecords) {
        yield { events, issues: issues.splice(0) };
        events = [];
      }
    }
    binary.finish(issues);
    yield { events, issues };
  },
};
