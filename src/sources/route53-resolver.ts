/**
 * Amazon Route 53 Resolver query logs: one JSON record per query (`version`, `account_id`, `region`,
 * `vpc_id`, `query_timestamp`, `query_name`, `query_type`, `query_class`, `rcode`, `answers[{Rdata, Type,
 * Class}]`, `srcaddr`, `srcport`, `transport`, `srcids{instance | resolver_endpoint}`, and the DNS
 * Firewall's `firewall_rule_action` when a rule matched), as S3 delivery writes them (JSON lines, .gz)
 * or in their CloudWatch Logs forms (see cloudwatch-logs.ts). One `dns-query` per record: the name
 * asked (without the root's trailing dot), the addresses answered, the asking address; a query from
 * an instance is that instance's (host.name, cloud.instance.id). A query the DNS Firewall blocked is a
 * failure (kept: the attempt is evidence). A file's events are given in time order (bounded,
 * `time-order.ts`): an S3 object's records are only roughly in order and a Logs Insights export lists
 * the newest first.
 */
import { isIP } from 'node:net';
import type { CoalEvent } from '../model/event.js';
import { issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { parseTimestamp } from '../util/time.js';
import { instanceIdOf } from './aws-ids.js';
import { firstLogMessage, type LogMessage, logMessages } from './cloudwatch-logs.js';
import { endpointOf, isObject, MAX_NAME_CHARS, textOf } from './net-fields.js';
import { timeOrdered } from './time-order.js';
import type { SourceBatch, SourceContext, SourceDescriptor, SourceInput } from './types.js';

const FORMAT = 'route53-resolver';
const CODE = 'ROUTE53';
const MAX_ANSWERS = 64;
const MAX_ORIGINAL_KEYS = 64;
const MAX_VALUE_CHARS = 1024;
const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(?:-[a-z]+){1,2}-\d{1,2}$/;
const BATCH_EVENTS = 1000;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

/** Whether a parsed record is a Resolver query log record (for sniffing and for telling it from other JSON). */
export function isResolverRecord(o: unknown): o is Record<string, unknown> {
  return (
    isObject(o) &&
    typeof o.query_name === 'string' &&
    o.query_timestamp !== undefined &&
    (o.srcids !== undefined || o.vpc_id !== undefined || o.srcaddr !== undefined)
  );
}

/** The record as kept in `original`: top-level keys bounded, strings clipped, answers bounded. */
function originalOf(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const key in o) {
    if (n++ >= MAX_ORIGINAL_KEYS) break;
    const v = o[key];
    out[clip(key, 128)] =
      typeof v === 'string' ? clip(v, MAX_VALUE_CHARS) : Array.isArray(v) ? v.slice(0, MAX_ANSWERS) : v;
  }
  return out;
}

/** The addresses an answer list holds (A and AAAA records), bounded. */
function resolvedOf(answers: unknown): string[] {
  if (!Array.isArray(answers)) return [];
  const out: string[] = [];
  for (const a of answers.slice(0, MAX_ANSWERS)) {
    if (!isObject(a) || (a.Type !== 'A' && a.Type !== 'AAAA')) continue;
    const ip = textOf(a.Rdata, 64);
    if (ip !== undefined && isIP(ip) !== 0 && !out.includes(ip)) out.push(ip);
  }
  return out;
}

/** One record as an event, or why it is not one. */
export function resolverEvent(o: unknown, file: string, line: number): CoalEvent | string {
  if (!isResolverRecord(o)) return 'not a Route 53 Resolver query log record (no query_name, query_timestamp)';
  // Resolver writes RFC 3339 in UTC; Date.parse would also guess at local forms such as 03/02/2026
  const ts =
    typeof o.query_timestamp === 'string' && ISO_TIME.test(o.query_timestamp)
      ? parseTimestamp(o.query_timestamp)
      : undefined;
  if (ts === undefined) return `query_timestamp ${clip(JSON.stringify(o.query_timestamp) ?? '', 60)} is not a time`;
  const asked = textOf(o.query_name, MAX_NAME_CHARS + 1);
  // the root's dot ends every name Resolver logs; names are compared without it everywhere else
  const name = asked?.endsWith('.') && asked.length > 1 ? asked.slice(0, -1) : asked;
  if (name === undefined || name.length > MAX_NAME_CHARS) return 'query_name is empty or over 255 characters';
  const source = endpointOf(o.srcaddr, o.srcport);
  if (o.srcaddr !== undefined && source?.ip === undefined)
    return `srcaddr ${clip(JSON.stringify(o.srcaddr) ?? '', 60)} is not an IP address`;
  if (o.srcport !== undefined && source?.port === undefined)
    return `srcport ${clip(JSON.stringify(o.srcport) ?? '', 40)} is not a port`;
  const srcids = isObject(o.srcids) ? o.srcids : {};
  const instance = instanceIdOf(srcids.instance);
  if (srcids.instance !== undefined && instance === undefined)
    return `srcids.instance ${clip(JSON.stringify(srcids.instance) ?? '', 40)} is not an instance id`;
  const account = textOf(o.account_id, 32);
  if (account !== undefined && !ACCOUNT.test(account))
    return `account_id ${clip(JSON.stringify(account), 40)} is not an account id`;
  const region = textOf(o.region, 32);
  if (region !== undefined && !REGION.test(region)) return `region ${clip(JSON.stringify(region), 40)} is not a region`;

  const e: CoalEvent = {
    '@timestamp': new Date(ts).toISOString(),
    event: {
      kind: 'event',
      category: ['network'],
      type: ['protocol'],
      action: 'dns-query',
      dataset: `${FORMAT}.query`,
    },
    dns: { question: { name } },
    original: originalOf(o),
    coalmine: { ts, format: FORMAT, ref: { file, line } },
  };
  const resolved = resolvedOf(o.answers);
  if (resolved.length > 0 && e.dns) e.dns.resolved_ip = resolved;
  if (source !== undefined) e.source = source;
  const transport = textOf(o.transport, 16)?.toLowerCase();
  e.network = transport === 'udp' || transport === 'tcp' ? { transport, protocol: 'dns' } : { protocol: 'dns' };
  const firewall = textOf(o.firewall_rule_action, 32);
  if (firewall === 'BLOCK') e.event.outcome = 'failure';
  const cloud: NonNullable<CoalEvent['cloud']> = { provider: 'aws' };
  if (account !== undefined) cloud.account = { id: account };
  if (region !== undefined) cloud.region = region;
  if (instance !== undefined) {
    cloud.instance = { id: instance };
    e.host = { name: instance };
  }
  e.cloud = cloud;
  return e;
}

/** A message's record: the parsed JSON line, or the JSON a CloudWatch event's message holds; else why not. */
function recordOf(m: LogMessage): { value: unknown } | { why: string } {
  if (m.value !== undefined) return { value: m.value };
  const text = m.text ?? '';
  if (!text.trimStart().startsWith('{')) return { why: 'not a JSON record' };
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (err) {
    return {
      why: m.cut ? 'the file ends inside this record' : `message is not JSON: ${clip((err as Error).message, 160)}`,
    };
  }
}

export const route53Resolver: SourceDescriptor = {
  name: FORMAT,
  summary:
    'Amazon Route 53 Resolver query logs (JSON lines from S3, or their CloudWatch Logs forms): a DNS query per record',
  platform: 'cloud',
  delivers: 'events',
  sniff(head) {
    const first = firstLogMessage(head);
    if (first === undefined) return 0;
    if (first.value !== undefined) return isResolverRecord(first.value) ? 90 : 0;
    const record = recordOf({ line: 1, text: first.text });
    if ('value' in record && isResolverRecord(record.value)) return 90;
    // a first line the head cut short: its keys say enough
    const text = first.text ?? '';
    return text.startsWith('{') && text.includes('"query_name"') && text.includes('"query_timestamp"') ? 60 : 0;
  },
  read(input, context) {
    return timeOrdered(readInFileOrder(input, context), input.name, CODE, BATCH_EVENTS);
  },
};

async function* readInFileOrder(input: SourceInput, context: SourceContext): AsyncGenerator<SourceBatch> {
  const file = input.name;
  let out: SourceBatch = { events: [], issues: [], unused: 0 };
  for await (const batch of logMessages(input, context, CODE)) {
    out.issues.push(...batch.issues);
    for (const m of batch.messages) {
      const record = recordOf(m);
      const mapped = 'why' in record ? record.why : resolverEvent(record.value, file, m.line);
      const code = 'why' in record && m.cut ? `${CODE}_TRUNCATED` : `${CODE}_BAD_RECORD`;
      if (typeof mapped === 'string') out.issues.push(issue({ file, line: m.line }, code, mapped));
      else out.events.push(mapped);
      if (out.events.length + out.issues.length >= BATCH_EVENTS) {
        yield out;
        out = { events: [], issues: [], unused: 0 };
      }
    }
  }
  if (out.events.length > 0 || out.issues.length > 0) yield out;
}
