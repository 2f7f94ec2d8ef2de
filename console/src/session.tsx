/** Who is logged in, for every page: the role decides whether change controls are shown at all. */
import { createContext, useContext } from 'react';
import type { Session } from './api-types';

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a logged-in page');
  return s;
}

/** Whether this session may change cases and the allowlist (the API refuses a viewer anyway). */
export function canWork(s: Session): boolean {
  return s.role === 'analyst' || s.role === 'admin';
}
