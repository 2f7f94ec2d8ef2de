/**
 * Live changes from GET /api/v1/stream (server-sent events): `finding`, `case`, `allowlist`, `sensor`
 * carry {seq, kind, id, revision?, state?}; `reset` means reload the lists. Pages subscribe with a
 * callback; one EventSource serves them all, and EventSource reconnects by itself.
 */
import { useEffect, useRef } from 'react';

export interface Change {
  kind: 'finding' | 'case' | 'allowlist' | 'sensor' | 'reset';
  id?: string;
  revision?: number;
  state?: string;
}

const KINDS = ['finding', 'case', 'allowlist', 'sensor', 'reset'] as const;
const subscribers = new Set<(c: Change) => void>();
let source: EventSource | null = null;

function parse(kind: Change['kind'], data: string): Change {
  try {
    const body = JSON.parse(data) as { id?: unknown; revision?: unknown; state?: unknown };
    return {
      kind,
      ...(typeof body.id === 'string' ? { id: body.id } : {}),
      ...(typeof body.revision === 'number' ? { revision: body.revision } : {}),
      ...(typeof body.state === 'string' ? { state: body.state } : {}),
    };
  } catch {
    return { kind: 'reset' };
  }
}

function open(): void {
  if (source || typeof EventSource === 'undefined') return;
  source = new EventSource('/api/v1/stream', { withCredentials: true });
  for (const kind of KINDS)
    source.addEventListener(kind, (e) => {
      const change = parse(kind, (e as MessageEvent<string>).data);
      for (const s of subscribers) s(change);
    });
  // a reconnect after a gap may have missed changes: treat it as a reset
  let opened = false;
  source.addEventListener('open', () => {
    if (opened) for (const s of subscribers) s({ kind: 'reset' });
    opened = true;
  });
}

/** Stops the stream (on logout). */
export function closeLive(): void {
  source?.close();
  source = null;
}

/** Calls `onChange` for every change while the component is mounted. */
export function useLive(onChange: (c: Change) => void): void {
  const latest = useRef(onChange);
  latest.current = onChange;
  useEffect(() => {
    const s = (c: Change) => latest.current(c);
    subscribers.add(s);
    open();
    return () => {
      subscribers.delete(s);
    };
  }, []);
}
