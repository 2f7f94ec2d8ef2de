/** NDJSON sink: one finding per line, keys in the Finding's declared order, so the same run gives the same bytes. */
import type { Sink } from './types.js';

export const ndjson: Sink = {
  name: 'ndjson',
  summary: 'one JSON finding per line',
  render: (findings) => findings.map((f) => `${JSON.stringify(f)}\n`).join(''),
};
