/**
 * The bundled on-demand price table (`intel/cloud-prices.csv`): USD per instance-hour by provider,
 * region (or `*`, the provider's reference region) and instance type, for the cost of AN0744 launches.
 * Read once, on first use. The parser is bounded like any input: a bad row is reported with its line
 * and left out (in the bundled file that is our bug, and a test keeps it at none). The bundled table
 * also says where each row was checked (`source`, `checked`); a table without those columns, such as
 * an older copy a user keeps, reads the same.
 */
import { readFileSync } from 'node:fs';
import { packagePath } from '../util/package-root.js';

const BUNDLED = packagePath('intel', 'cloud-prices.csv');
const MAX_TABLE_BYTES = 1024 * 1024;
const MAX_ROWS = 20_000;
const MAX_LINE = 512;
const MAX_PRICE = 10_000;
const PROVIDERS = new Set(['aws', 'gcp', 'azure']);
const REGION = /^(?:\*|[a-z][a-z0-9-]{1,39})$/;
const INSTANCE_TYPE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const HEADER = 'provider,region,instance_type,usd_per_hour';
/** Columns a table may add after the four it needs: where the row was checked. */
const SOURCE_COLUMNS = 'source,checked';
const UNVERIFIED = 'unverified';
/** A source is a plain https URL: no spaces, quotes or commas (the CSV has no quoting). */
const SOURCE_URL = /^https:\/\/[A-Za-z0-9.-]{1,253}(?:\/[A-Za-z0-9._~%!$&'()*+;=:@/?#-]{0,300})?$/;
const CHECKED_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** A GCP zone (`us-central1-a`): its region is the zone without the letter. */
const GCP_ZONE = /^([a-z]+-[a-z]+\d+)-[a-z]$/;

export interface PriceTable {
  /** `cloud-prices 2026-12`: the set and version its header says. */
  name: string;
  /** provider → the region the `*` rows were priced in. */
  defaultRegions: Record<string, string>;
  /** `provider|region|type` (lowercase) → USD per hour. */
  rows: Map<string, number>;
  /** The same keys → where the row's price was checked, for tables that have a `source` column. */
  sources: Map<string, PriceSource>;
  bad: Array<{ line: number; reason: string }>;
}

/** Where a row's price came from: a page and the date it showed, or not checked against any. */
export type PriceSource = { verified: true; url: string; checked: string } | { verified: false };

export interface InstancePrice {
  usdPerHour: number;
  /** The region the row was priced in: the launch's own, or the provider's reference region for `*`. */
  pricedIn: string;
  /** True when the launch's region has no row of its own and the reference region's price stands in. */
  fallback: boolean;
}

export function parsePriceTable(text: string): PriceTable {
  const table: PriceTable = { name: 'cloud-prices', defaultRegions: {}, rows: new Map(), sources: new Map(), bad: [] };
  let set = 'cloud-prices';
  let version = '';
  let columns: string[] | undefined;
  const lines = text.slice(0, MAX_TABLE_BYTES).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '').trim();
    const n = i + 1;
    if (line === '') continue;
    if (line.length > MAX_LINE) {
      table.bad.push({ line: n, reason: `line over ${MAX_LINE} characters` });
      continue;
    }
    if (line.startsWith('#')) {
      const kv = /^#\s*(set|version|default-regions):\s*(.+)$/.exec(line);
      if (kv?.[1] === 'set') set = kv[2].trim();
      else if (kv?.[1] === 'version') version = kv[2].trim();
      else if (kv?.[1] === 'default-regions')
        for (const pair of kv[2].trim().split(/\s+/)) {
          const [provider, region] = pair.split('=');
          if (PROVIDERS.has(provider) && region && REGION.test(region)) table.defaultRegions[provider] = region;
        }
      continue;
    }
    if (!columns) {
      columns = headerColumns(line);
      if (!columns)
        table.bad.push({ line: n, reason: `expected the header "${HEADER}" (optionally ",${SOURCE_COLUMNS}")` });
      continue;
    }
    if (table.rows.size >= MAX_ROWS) {
      table.bad.push({ line: n, reason: `over ${MAX_ROWS} rows: the rest is not read` });
      break;
    }
    const fields = line.split(',').map((f) => f.trim());
    const [provider, region, type, price] = [fields[0], fields[1]?.toLowerCase(), fields[2]?.toLowerCase(), fields[3]];
    const usd = Number(price);
    const provenance = columns.length > 4 ? priceSource(fields[4] ?? '', fields[5] ?? '') : undefined;
    if (fields.length !== columns.length) table.bad.push({ line: n, reason: `expected ${columns.length} fields` });
    else if (!PROVIDERS.has(provider)) table.bad.push({ line: n, reason: 'provider must be aws, gcp or azure' });
    else if (!REGION.test(region)) table.bad.push({ line: n, reason: 'region must be * or a region name' });
    else if (!INSTANCE_TYPE.test(type)) table.bad.push({ line: n, reason: 'not an instance type' });
    else if (!/^\d+(?:\.\d+)?$/.test(price) || !(usd > 0 && usd <= MAX_PRICE))
      table.bad.push({ line: n, reason: `price must be a number above 0 and at most ${MAX_PRICE}` });
    else if (typeof provenance === 'string') table.bad.push({ line: n, reason: provenance });
    else {
      const key = `${provider}|${region}|${type}`;
      if (table.rows.has(key)) table.bad.push({ line: n, reason: `a second row for ${provider} ${region} ${type}` });
      else {
        table.rows.set(key, usd);
        if (provenance) table.sources.set(key, provenance);
      }
    }
  }
  table.name = version ? `${set} ${version}` : set;
  return table;
}

/** The header's columns: the four the table needs, optionally followed by `source,checked`; else undefined. */
function headerColumns(line: string): string[] | undefined {
  const columns = line.split(',').map((c) => c.trim().toLowerCase());
  const header = columns.join(',');
  return header === HEADER || header === `${HEADER},${SOURCE_COLUMNS}` ? columns : undefined;
}

function validDate(text: string): boolean {
  const m = CHECKED_DATE.exec(text);
  if (!m) return false;
  const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return date.toISOString().slice(0, 10) === text;
}

/** A row's source and date, or why they are not one: a URL needs the date its page showed, `unverified` none. */
function priceSource(source: string, checked: string): PriceSource | string {
  if (source.toLowerCase() === UNVERIFIED)
    return checked === '' ? { verified: false } : 'an unverified row has no checked date';
  if (!SOURCE_URL.test(source)) return `source must be an https URL or "${UNVERIFIED}"`;
  if (!validDate(checked)) return 'checked must be the date the source showed (YYYY-MM-DD)';
  return { verified: true, url: source, checked };
}

let bundled: PriceTable | undefined;

/** The bundled table, read on first use; unreadable, it is an empty table whose `bad` says why. */
export function bundledPriceTable(): PriceTable {
  if (!bundled) {
    try {
      bundled = parsePriceTable(readFileSync(BUNDLED, 'utf8'));
    } catch (err) {
      bundled = { name: 'cloud-prices', defaultRegions: {}, rows: new Map(), sources: new Map(), bad: [] };
      bundled.bad.push({ line: 0, reason: `unreadable: ${(err as Error).message}` });
    }
  }
  return bundled;
}

/** An instance type as the table keys it: lowercase, a GCP machine type URL by its last part. */
export function normalisedInstanceType(type: string): string {
  return (type.split('/').pop() ?? type).toLowerCase();
}

/** The launch's region's own row, else the `*` row (the reference region's price); undefined when neither. */
export function instancePrice(
  table: PriceTable,
  provider: string,
  region: string | undefined,
  type: string,
): InstancePrice | undefined {
  const t = normalisedInstanceType(type);
  let r = region?.toLowerCase();
  if (provider === 'gcp' && r) r = GCP_ZONE.exec(r)?.[1] ?? r;
  const own = r ? table.rows.get(`${provider}|${r}|${t}`) : undefined;
  if (own !== undefined && r) return { usdPerHour: own, pricedIn: r, fallback: false };
  const any = table.rows.get(`${provider}|*|${t}`);
  if (any === undefined) return undefined;
  const reference = table.defaultRegions[provider] ?? '*';
  return { usdPerHour: any, pricedIn: reference, fallback: r !== undefined && r !== reference };
}
