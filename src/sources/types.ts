/**
 * The source contract: one descriptor per format. `sniff` looks at the first bytes (and the path,
 * for files whose format is their location, like /etc/crontab); `read` turns an input into batches
 * of events and issues. A source never throws on bad input: it reports an Issue and reads on.
 */
import type { CoalEvent } from '../model/event.js';
import type { Issue } from '../model/issue.js';
import type { LineOwner } from '../util/lines.js';

export interface SourceInput {
  /** Name used in every ref: the path as the user gave it (relative to the cwd), or `-` for stdin. */
  name: string;
  /** Path relative to a collected filesystem root when the input was found by walking a directory, with `/` separators. */
  relPath?: string;
  /**
   * The file's absolute path on this system when it was read from its disk (lexically resolved, not through
   * links; a gzip file's without `.gz`, as relPath): a directory given inside a live system (`/var/spool/cron`)
   * is no collection's root, and the persistence sources find such places by it. Unset for stdin and bodies.
   */
  localPath?: string;
  /** First bytes of the (decompressed) content, at most 64 KiB, for sniffing and small formats. */
  head: Buffer;
  /** The whole (decompressed) content as a stream of chunks. May be called once. */
  open(): AsyncIterable<Buffer>;
  /** File modification time (from a collection's bodyfile when present, else the file system). */
  mtimeMs?: number;
  /** Host the input belongs to when the format does not say (a collection's etc/hostname, or --host). */
  hostHint?: string;
}

export interface SourceContext {
  maxLineBytes: number;
  /** Upper bound on events buffered inside a source before it must yield (auditd serial groups, etc.). */
  maxPendingRecords: number;
  /**
   * Whether a loaded Sigma rule could read a Windows record no analytic reads (by its provider, channel
   * and EventID): such a record is kept as a `log-record` event when this says yes, else counted unused.
   */
  keepWindowsRecord?: (provider: string, channel: string, eventId: number) => boolean;
  /**
   * The same for the other formats whose records Sigma rules read by their own names (CloudTrail, Azure
   * Activity, GCP audit, Kubernetes audit): a call no analytic reads becomes a `log-record` when a loaded
   * rule reads its format (sources/log-record.ts), else it is counted unused.
   */
  keepRecord?: (format: string) => boolean;
  /** A run split across threads by partition (hunt --workers): see LineRouting. */
  lineRouting?: LineRouting;
}

/**
 * How a thread of a split run reads coalmine's own NDJSON: `owner` says whose a line is from its bytes
 * (engine/partition.ts partitionRouteOfLine), so a line another thread owns is skipped undecoded and
 * unparsed; issues of a line this thread owns go in SourceBatch.routed; `undefined`: the line cannot be
 * routed unparsed, so every thread reads it. `keep` is asked of every event a line became (`routed`:
 * the line was said to be `mine`) and says whether this thread owns it: another's is dropped there,
 * before the time merge; and the thread finds out when a routed line's parse says it is not its own
 * (the walk stops at the first `host` key) and gives the split up, so no line is left to no thread.
 * It must not throw (a source reports what is thrown inside it as a bad input).
 */
export interface LineRouting {
  owner: LineOwner;
  keep: (event: CoalEvent, routed: boolean) => boolean;
}

export interface SourceBatch {
  events: CoalEvent[];
  issues: Issue[];
  /** Records read whole but of a type no analytic uses (Windows event ids we do not map): counted, not errors. */
  unused?: number;
  /** Issues of lines only this thread read (SourceContext.lineRouting said `mine`): each thread reports its own. */
  routed?: Issue[];
}

export interface SourceDescriptor {
  /** Registry key, file name and `--format` value. */
  name: string;
  summary: string;
  platform: 'linux' | 'windows' | 'network' | 'container' | 'cloud' | 'generic';
  /**
   * `events` sources are merged by event time; `state` sources describe what exists on a
   * collected system (cron files, unit files) and are applied before the event streams.
   */
  delivers: 'events' | 'state';
  /** 0 = not this format; higher = more certain. The best score wins; ties go to registry order. */
  sniff(head: string, input: Pick<SourceInput, 'name' | 'relPath' | 'localPath'>): number;
  read(input: SourceInput, context: SourceContext): AsyncGenerator<SourceBatch>;
}
