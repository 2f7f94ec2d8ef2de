/**
 * Issues: everything that went wrong with input or configuration. Never thrown past a source;
 * counted in the run summary by code. Codes are stable UPPER_SNAKE.
 */
import type { SourceRef } from './event.js';

export type IssueStage = 'reading' | 'parsing' | 'normalising' | 'loading' | 'processing';

export interface Issue extends SourceRef {
  code: string;
  reason: string;
  stage: IssueStage;
  /** The whole input named by `file` was left unread, for this reason (not one bad record of it). */
  unread?: boolean;
}

export function issue(ref: SourceRef, code: string, reason: string, stage: IssueStage = 'parsing'): Issue {
  return { ...ref, code, reason, stage };
}

/** `file:line` or `file#record` for messages. */
export function formatRef(ref: SourceRef): string {
  if (ref.line !== undefined) return `${ref.file}:${ref.line}`;
  if (ref.record !== undefined) return `${ref.file}#${ref.record}`;
  return ref.file;
}
