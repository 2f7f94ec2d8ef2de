/**
 * Azure identifiers as the Azure readers (activity, flow, metrics) share them. A resource id
 * (`/subscriptions/<sub>/resourceGroups/<rg>/providers/<Namespace>/<type>/<name>[/<type>/<name>…]`)
 * is case-insensitive and each export writes it in its own case (the Activity Log's storage export in
 * upper case, the CLI as created), so ids and the names taken from them are lower-cased: a VM is one
 * key whichever log names it.
 */
import type { CoalEvent } from '../model/event.js';
import { type Issue, issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { jsonDocumentRecords } from './json-document.js';
import { sourceLines } from './lines.js';
import { isObject, textOf } from './net-fields.js';
import type { SourceContext, SourceInput } from './types.js';

/** ARM caps a resource id well below this; longer is not one. */
const MAX_ID_CHARS = 2048;
const MAX_SEGMENTS = 32;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface AzureResource {
  /** The whole id, lower-cased, without a trailing `/providers/microsoft.insights/…` (metric ids). */
  id: string;
  subscription?: string;
  resourceGroup?: string;
  /** `microsoft.compute` */
  namespace?: string;
  /** The type/name pairs after the namespace: `[['virtualmachines', 'vm-1'], ['extensions', 'x']]`. */
  path: Array<[string, string]>;
}

/** A resource id, parsed; undefined when the value is not one. */
export function azureResourceOf(v: unknown): AzureResource | undefined {
  const text = textOf(v, MAX_ID_CHARS + 1);
  if (text === undefined || text.length > MAX_ID_CHARS || !text.startsWith('/')) return undefined;
  let lower = text.toLowerCase();
  // a metric definition's id names the resource, then the metric under microsoft.insights
  const insights = lower.indexOf('/providers/microsoft.insights/', 1);
  if (insights > 0 && lower.slice(0, insights).includes('/providers/')) lower = lower.slice(0, insights);
  while (lower.endsWith('/')) lower = lower.slice(0, -1);
  const parts = lower.split('/', MAX_SEGMENTS + 1).slice(1);
  if (parts.length > MAX_SEGMENTS || parts[0] !== 'subscriptions' || !parts[1]) return undefined;
  const resource: AzureResource = { id: lower, subscription: parts[1], path: [] };
  let i = 2;
  if (parts[i] === 'resourcegroups' && parts[i + 1]) {
    resource.resourceGroup = parts[i + 1];
    i += 2;
  }
  if (parts[i] === 'providers' && parts[i + 1]) {
    resource.namespace = parts[i + 1];
    for (i += 2; i + 1 < parts.length; i += 2) {
      if (parts[i] === '' || parts[i + 1] === '') return undefined;
      resource.path.push([parts[i], parts[i + 1]]);
    }
  }
  return resource;
}

/** A subscription id (GUID), lower-cased. */
export function subscriptionOf(v: unknown): string | undefined {
  const s = textOf(v, 64)?.toLowerCase();
  return s !== undefined && GUID.test(s) ? s : undefined;
}

/** The virtual machine a resource id names or sits under (a VM's extension, run command, …): its id and name. */
export function vmOf(r: AzureResource | undefined): { id: string; name: string } | undefined {
  if (r === undefined || r.namespace !== 'microsoft.compute') return undefined;
  const [first] = r.path;
  if (first === undefined || first[0] !== 'virtualmachines') return undefined;
  const prefix = `/subscriptions/${r.subscription}${r.resourceGroup !== undefined ? `/resourcegroups/${r.resourceGroup}` : ''}`;
  return { id: `${prefix}/providers/microsoft.compute/virtualmachines/${first[1]}`, name: first[1] };
}

/** The scale set a resource id names or sits under (its VMs, extensions): its id and name. */
export function scaleSetOf(r: AzureResource | undefined): { id: string; name: string } | undefined {
  if (r === undefined || r.namespace !== 'microsoft.compute') return undefined;
  const [first] = r.path;
  if (first === undefined || first[0] !== 'virtualmachinescalesets') return undefined;
  const prefix = `/subscriptions/${r.subscription}${r.resourceGroup !== undefined ? `/resourcegroups/${r.resourceGroup}` : ''}`;
  return { id: `${prefix}/providers/microsoft.compute/virtualmachinescalesets/${first[1]}`, name: first[1] };
}

/** A MAC as Azure's NIC properties write it (`00-0D-3A-…`), from any spelling (`000D3A…`, colons). */
export function azureMacOf(v: unknown): string | undefined {
  const s = textOf(v, 32)?.replace(/[-:]/g, '').toUpperCase();
  return s !== undefined && /^[0-9A-F]{12}$/.test(s) ? (s.match(/../g) ?? []).join('-') : undefined;
}

/** An Azure region as ARM names it (`eastus`): display names (`East US`) folded; `global` is no region. */
export function regionOf(v: unknown): string | undefined {
  const s = textOf(v, 64)
    ?.toLowerCase()
    .replace(/[\s_-]/g, '');
  return s !== undefined && /^[a-z0-9]{2,40}$/.test(s) && s !== 'global' ? s : undefined;
}

/** `cloud` for an event of this subscription (and region, instance) when known. */
export function azureCloudOf(
  subscription: string | undefined,
  region?: string,
  instance?: { id: string; name?: string },
): NonNullable<CoalEvent['cloud']> {
  const cloud: NonNullable<CoalEvent['cloud']> = { provider: 'azure' };
  if (subscription !== undefined) cloud.account = { id: subscription };
  if (region !== undefined) cloud.region = region;
  if (instance !== undefined)
    cloud.instance = instance.name !== undefined ? { id: instance.id, name: instance.name } : { id: instance.id };
  return cloud;
}

/** One record of an Azure export (parsed, with the line it starts on), or an issue to report. */
export type AzureRecordItem = { line: number; value: unknown } | { issue: Issue };

/** Records of one `{"records": […]}` line (an Event Hubs capture writes one batch per line). */
const MAX_LINE_RECORDS = 100_000;
const MAX_RECORD_BYTES = 4 * 1024 * 1024;
const MAX_DOCUMENT_BYTES = 1024 * 1024 * 1024;
const BATCH_ITEMS = 512;

/**
 * Whether the input is one JSON document (read record by record) rather than JSON lines: a top-level
 * array (the CLI), a pretty-printed object (a lone `{` first), or an object whose first key holds the
 * records (`{"records": [` as the storage exports before Nov 2018 and flow logs write, `{"value": [` as
 * the REST API and `az monitor metrics list` do, whose first keys may come before it).
 */
export function isAzureDocument(head: string): boolean {
  const first = head.split('\n', 8).find((l) => l.trim() !== '');
  if (first === undefined) return false;
  const t = first.trim();
  if (t.startsWith('[') || t === '{') return true;
  return /^\{\s*"records"\s*:\s*\[/.test(t);
}

/**
 * The records of an Azure export, in batches: a document's records (`records` or `value` array, a
 * top-level array, or the object itself), or one record per line, where a line holding a `records`
 * array gives each of them. Bad JSON, cut lines and oversized lines are issues with their line.
 */
export async function* azureRecords(
  input: SourceInput,
  context: SourceContext,
  code: string,
): AsyncGenerator<AzureRecordItem[]> {
  let batch: AzureRecordItem[] = [];
  if (isAzureDocument(input.head.toString('utf8'))) {
    const limits = {
      maxRecordBytes: MAX_RECORD_BYTES,
      maxDocumentBytes: MAX_DOCUMENT_BYTES,
      maxRecords: 10_000_000,
      code,
      recordKeys: ['records', 'value'],
    };
    for await (const item of jsonDocumentRecords(input, limits)) {
      batch.push(item);
      if (batch.length >= BATCH_ITEMS) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
    return;
  }
  const file = input.name;
  for await (const lines of sourceLines(input, context, (i) => batch.push({ issue: i }))) {
    for (let k = 0; k < lines.lines.length; k++) {
      const text = lines.lines[k];
      const line = lines.lineNos[k];
      if (text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        const cut = k === lines.lines.length - 1 && lines.unterminated === true;
        batch.push({
          issue: cut
            ? issue({ file, line }, `${code}_TRUNCATED`, 'the last line ends inside its record')
            : issue({ file, line }, `${code}_BAD_JSON`, clip((err as Error).message, 200)),
        });
        continue;
      }
      if (isObject(value) && Array.isArray(value.records)) {
        const records = value.records;
        for (let i = 0; i < records.length && i < MAX_LINE_RECORDS; i++) batch.push({ line, value: records[i] });
        if (records.length > MAX_LINE_RECORDS)
          batch.push({
            issue: issue(
              { file, line },
              `${code}_TOO_MANY_RECORDS`,
              `${records.length - MAX_LINE_RECORDS} records after the first ${MAX_LINE_RECORDS} are not read`,
              'reading',
            ),
          });
      } else batch.push({ line, value });
    }
    if (batch.length >= BATCH_ITEMS) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** An object's field by name, else by the same name in another case (ARM bodies write `Properties` and `properties`). */
export function fieldOf(o: unknown, name: string): unknown {
  if (!isObject(o)) return undefined;
  if (o[name] !== undefined) return o[name];
  const lower = name.toLowerCase();
  let seen = 0;
  for (const key in o) {
    if (++seen > 256) break;
    if (key.toLowerCase() === lower) return o[key];
  }
  return undefined;
}

// the Azure readers' time ordering is the one every reader shares
export { MAX_HELD_EVENTS, TimeOrder } from './time-order.js';
