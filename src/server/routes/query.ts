/** Query parameters as the routes read them: each at most once, bounded, and a page's limit as a number. */
import { HttpError } from '../errors.js';

const MAX_VALUE_CHARS = 2048;

/** The one value of `name`, or undefined; given twice or too long is a 400. */
export function queryValue(query: URLSearchParams, name: string): string | undefined {
  const values = query.getAll(name);
  if (values.length === 0) return undefined;
  if (values.length > 1) throw new HttpError(400, 'bad_request', `query parameter ${name} is given more than once`);
  if (values[0].length > MAX_VALUE_CHARS)
    throw new HttpError(400, 'bad_request', `query parameter ${name} is over ${MAX_VALUE_CHARS} characters`);
  return values[0];
}

/** `limit` as an integer (the store checks its range), or undefined. */
export function queryLimit(query: URLSearchParams): number | undefined {
  const text = queryValue(query, 'limit');
  if (text === undefined) return undefined;
  if (!/^\d{1,6}$/.test(text)) throw new HttpError(400, 'bad_request', 'limit must be a whole number');
  return Number(text);
}

/** A page as the store answers it, as the API gives it: `next` only when there is more. */
export function pageOf<T, U>(page: { items: T[]; next?: string }, map: (item: T) => U): { items: U[]; next?: string } {
  return page.next === undefined ? { items: page.items.map(map) } : { items: page.items.map(map), next: page.next };
}
