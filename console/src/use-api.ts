/** One GET as React state: the data, the error (as the server said it), and a reload for live changes. */
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, apiGet } from './api';

/** Live changes within this window after the first cause one reload. */
const RELOAD_COALESCE_MS = 250;

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
  /** Replace the data with a change's answer (a case after a transition) without another GET. */
  set: (data: T) => void;
}

export function useApi<T>(path: string | null, query?: string): Loaded<T> {
  // the data with the request it answers: after a path or query change the old answer is not shown as the new one
  const key = `${path ?? ''}?${query ?? ''}`;
  const [answer, setAnswer] = useState<{ key: string; data: T }>();
  const data = answer?.key === key ? answer.data : undefined;
  const setData = useCallback((d: T) => setAnswer({ key, data: d }), [key]);
  const [error, setError] = useState<ApiError>();
  const [loading, setLoading] = useState(true);
  const [round, setRound] = useState(0);
  // a burst of live changes reloads once: the first schedules, the rest within the window join it
  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const reload = useCallback(() => {
    if (pending.current !== undefined) return;
    pending.current = setTimeout(() => {
      pending.current = undefined;
      setRound((r) => r + 1);
    }, RELOAD_COALESCE_MS);
  }, []);
  useEffect(() => () => clearTimeout(pending.current), []);
  // biome-ignore lint/correctness/useExhaustiveDependencies: round is the reload trigger
  useEffect(() => {
    if (path === null) return;
    const abort = new AbortController();
    setLoading(true);
    apiGet<T>(path, query ? new URLSearchParams(query) : undefined, abort.signal)
      .then((d) => {
        setAnswer({ key: `${path}?${query ?? ''}`, data: d });
        setError(undefined);
      })
      .catch((err: unknown) => {
        if (abort.signal.aborted) return;
        setError(err instanceof ApiError ? err : new ApiError(0, 'network', String(err)));
      })
      .finally(() => {
        if (!abort.signal.aborted) setLoading(false);
      });
    return () => abort.abort();
  }, [path, query, round]);
  return { data, error, loading, reload, set: setData };
}
