/**
 * What `coalmine serve`'s flags need before anything starts: the defaults, the listen address and a
 * store location fit to print. Kept apart from start.ts so the CLI parses serve's flags without loading
 * the store's drivers (better-sqlite3's native addon, pg) for every other command.
 */
import { isPostgresLocation } from '../store/location.js';

/** Whether a store location is PostgreSQL (serve --bus needs one), for the CLI's flag checks. */
export { isPostgresLocation };

export const DEFAULT_LISTEN = '127.0.0.1:8477';
export const DEFAULT_STORE = './coalmine.db';

/** `host:port`, `[v6]:port` or `:port` (loopback); undefined when it is not one. */
export function parseListen(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]{2,45})\]|([A-Za-z0-9.-]{0,253})):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

/** A store location as it may be shown: a PostgreSQL URL without its password. */
export function shownLocation(location: string): string {
  if (!isPostgresLocation(location)) return location;
  try {
    const url = new URL(location);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}
