/**
 * A record no analytic reads, kept for the Sigma rules that read its format (SourceContext.keepRecord):
 * the `log-record` event the Windows readers give too. Its fields are the reader's bounded `original`,
 * under the record's own names, which is what a SigmaHQ cloud or Kubernetes rule names.
 */
import type { CoalEvent, SourceRef } from '../model/event.js';

export function logRecordEvent(
  format: string,
  dataset: string,
  ts: number,
  host: string | undefined,
  original: Record<string, unknown>,
  ref: SourceRef,
): CoalEvent {
  return {
    '@timestamp': new Date(ts).toISOString(),
    event: { kind: 'event', category: [], type: ['info'], action: 'log-record', dataset: `${format}.${dataset}` },
    ...(host !== undefined ? { host: { name: host } } : {}),
    original,
    coalmine: { ts, format, ref },
  };
}

/** Whether the run's rules read records of `format` that no analytic reads. */
export function keepsRecords(context: { keepRecord?: (format: string) => boolean }, format: string): boolean {
  return context.keepRecord?.(format) === true;
}
