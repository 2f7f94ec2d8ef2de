/**
 * Loading `coalmine.yaml`: thresholds, per-analytic overrides, host facts, the allowlist, the approved
 * containers and the approved path for cloud compute. Unknown keys are refused (a typo must not silently change detection); every error names
 * file:line.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, type YAMLMap } from 'yaml';
import { expiryMs } from '../model/approval-terms.js';
import type { Issue } from '../model/issue.js';
import {
  type AllowlistEntry,
  type AllowlistField,
  type ApprovalTerms,
  type CloudPolicy,
  type ContainerPolicy,
  defaultPolicy,
  type Policy,
  type SigmaPolicy,
  type Thresholds,
} from '../model/policy.js';
import { readHashrates } from '../signals/hashrate.js';
import { parseDurationMs } from '../util/time.js';
import { yamlErrorReason } from '../util/yaml-error.js';

const MAX_POLICY_BYTES = 4 * 1024 * 1024;

const THRESHOLD_KEYS: Record<string, { field: keyof Thresholds; kind: 'duration' | 'percent' | 'count' }> = {
  window: { field: 'windowMs', kind: 'duration' },
  sustain: { field: 'sustainMs', kind: 'duration' },
  process_cpu_pct: { field: 'processCpuPct', kind: 'percent' },
  host_cpu_pct: { field: 'hostCpuPct', kind: 'percent' },
  hidden_cpu_gap_pct: { field: 'hiddenCpuGapPct', kind: 'percent' },
  mem_pct: { field: 'memPct', kind: 'percent' },
  gpu_pct: { field: 'gpuPct', kind: 'percent' },
  relay_destinations: { field: 'relayDestinations', kind: 'count' },
  relay_user_agents: { field: 'relayUserAgents', kind: 'count' },
  relay_window: { field: 'relayWindowMs', kind: 'duration' },
};
const MATCH_FIELDS: AllowlistField[] = ['executable', 'hash', 'host', 'user', 'command'];

export interface PolicyLoad {
  policy: Policy;
  errors: Issue[];
}

export async function loadPolicy(path: string): Promise<PolicyLoad> {
  let text: string;
  try {
    const buf = await readFile(path);
    if (buf.length > MAX_POLICY_BYTES)
      return fail(path, 'POLICY_TOO_LARGE', `policy file is over ${MAX_POLICY_BYTES} bytes`);
    text = buf.toString('utf8');
  } catch (err) {
    return fail(path, 'POLICY_UNREADABLE', (err as Error).message);
  }
  return parsePolicy(path, text);
}

function fail(file: string, code: string, reason: string): PolicyLoad {
  return { policy: defaultPolicy(), errors: [{ file, code, reason, stage: 'loading' }] };
}

export function parsePolicy(file: string, text: string): PolicyLoad {
  const policy = defaultPolicy();
  const errors: Issue[] = [];
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const at = (node: Node | null | undefined): number | undefined =>
    node?.range ? lines.linePos(node.range[0]).line : undefined;
  const err = (node: Node | null | undefined, code: string, reason: string) =>
    errors.push({ file, line: at(node), code, reason, stage: 'loading' });
  for (const e of doc.errors)
    errors.push({
      file,
      line: e.linePos?.[0].line,
      code: 'POLICY_YAML',
      reason: yamlErrorReason(e.message),
      stage: 'loading',
    });
  if (errors.length > 0) return { policy, errors };
  const root = doc.contents;
  if (root === null || root === undefined) return { policy, errors };
  if (!isMap(root)) {
    err(root, 'POLICY_SHAPE', 'the policy must be a mapping');
    return { policy, errors };
  }

  const readThresholds = (map: YAMLMap, into: Partial<Thresholds>) => {
    for (const pair of map.items) {
      const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
      const spec = THRESHOLD_KEYS[key];
      const valueNode = pair.value as Node;
      const value = isScalar(valueNode) ? valueNode.value : undefined;
      if (!spec) {
        err(
          pair.key as Node,
          'POLICY_UNKNOWN_KEY',
          `unknown threshold "${key}" (known: ${Object.keys(THRESHOLD_KEYS).join(', ')})`,
        );
        continue;
      }
      if (spec.kind === 'duration') {
        const ms = typeof value === 'string' ? parseDurationMs(value) : undefined;
        if (ms === undefined || ms <= 0)
          err(valueNode, 'POLICY_BAD_VALUE', `${key} must be a duration like 15m or 1h, from 1ms to 365d`);
        else into[spec.field] = ms;
      } else if (spec.kind === 'count') {
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 100_000)
          err(valueNode, 'POLICY_BAD_VALUE', `${key} must be a whole number from 1 to 100000`);
        else into[spec.field] = value;
      } else if (typeof value !== 'number' || !(value > 0) || value > 100_000)
        err(valueNode, 'POLICY_BAD_VALUE', `${key} must be a positive number (percent)`);
      else into[spec.field] = value;
    }
  };

  for (const pair of root.items) {
    const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
    const value = pair.value as Node;
    switch (key) {
      case 'thresholds':
        if (isMap(value)) readThresholds(value, policy.thresholds);
        else err(value, 'POLICY_SHAPE', 'thresholds must be a mapping');
        break;
      case 'analytics':
        if (!isMap(value)) {
          err(value, 'POLICY_SHAPE', 'analytics must be a mapping of analytic id to thresholds');
          break;
        }
        for (const a of value.items) {
          const id = String(isScalar(a.key) ? a.key.value : a.key);
          if (!/^AN\d{4}$/.test(id))
            err(a.key as Node, 'POLICY_UNKNOWN_KEY', `"${id}" is not an analytic id (AN0741, AN0742, AN0744, AN0745)`);
          const over: Partial<Thresholds> = {};
          if (isMap(a.value)) readThresholds(a.value, over);
          else err(a.value as Node, 'POLICY_SHAPE', `analytics.${id} must be a mapping`);
          policy.analytics[id] = over;
        }
        break;
      case 'hosts':
        if (!isMap(value)) {
          err(value, 'POLICY_SHAPE', 'hosts must be a mapping of host name to facts');
          break;
        }
        for (const h of value.items) {
          const name = String(isScalar(h.key) ? h.key.value : h.key);
          if (!isMap(h.value)) {
            err(h.value as Node, 'POLICY_SHAPE', `hosts.${name} must be a mapping (cores, ips)`);
            continue;
          }
          for (const fact of h.value.items) {
            const factKey = String(isScalar(fact.key) ? fact.key.value : fact.key);
            const v = isScalar(fact.value) ? fact.value.value : undefined;
            if (factKey === 'cores') {
              if (typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 4096) policy.hostCores[name] = v;
              else err(fact.value as Node, 'POLICY_BAD_VALUE', `hosts.${name}.cores must be a whole number of cores`);
            } else if (factKey === 'ips') {
              const ips = isSeq(fact.value) ? fact.value.items : [];
              if (!isSeq(fact.value)) err(fact.value as Node, 'POLICY_SHAPE', `hosts.${name}.ips must be a list`);
              for (const ip of ips) {
                const text = isScalar(ip) ? String(ip.value) : '';
                if (isIP(text) !== 0) policy.hostIps[text.toLowerCase()] = name;
                else
                  err(ip as Node, 'POLICY_BAD_VALUE', `hosts.${name}.ips: "${text.slice(0, 64)}" is not an IP address`);
              }
            } else
              err(fact.key as Node, 'POLICY_UNKNOWN_KEY', `unknown key "hosts.${name}.${factKey}" (known: cores, ips)`);
          }
        }
        break;
      case 'prices':
        if (!isMap(value)) {
          err(value, 'POLICY_SHAPE', 'prices must be a mapping (currency, core_hour, gpu_hour, instance_hour)');
          break;
        }
        for (const item of value.items) {
          const priceKey = String(isScalar(item.key) ? item.key.value : item.key);
          const v = isScalar(item.value) ? item.value.value : undefined;
          if (priceKey === 'currency') {
            if (typeof v === 'string' && /^[A-Z]{3}$/.test(v)) policy.prices.currency = v;
            else
              err(
                item.value as Node,
                'POLICY_BAD_VALUE',
                'prices.currency must be a three-letter code like USD or EUR',
              );
          } else if (priceKey === 'core_hour') {
            if (typeof v === 'number' && v >= 0 && v <= 1000) policy.prices.coreHour = v;
            else err(item.value as Node, 'POLICY_BAD_VALUE', 'prices.core_hour must be a price from 0 to 1000');
          } else if (priceKey === 'gpu_hour') {
            if (typeof v === 'number' && v >= 0 && v <= 1000) policy.prices.gpuHour = v;
            else err(item.value as Node, 'POLICY_BAD_VALUE', 'prices.gpu_hour must be a price from 0 to 1000');
          } else if (priceKey === 'instance_hour')
            policy.prices.instanceHour = readInstanceHourPrices(item.key as Node, item.value as Node | null, err);
          else
            err(
              item.key as Node,
              'POLICY_UNKNOWN_KEY',
              `unknown key "prices.${priceKey}" (known: currency, core_hour, gpu_hour, instance_hour)`,
            );
        }
        break;
      case 'allowlist':
        if (!isSeq(value)) {
          err(value, 'POLICY_SHAPE', 'allowlist must be a list');
          break;
        }
        for (const item of value.items) {
          const entry = readEntry(item as Node, file, at, err);
          if (entry) policy.allowlist.push(entry);
        }
        break;
      case 'containers':
        policy.containers = readContainers(pair.key as Node, value, file, at, err);
        break;
      case 'cloud':
        policy.cloud = readCloud(pair.key as Node, value, file, at, err);
        break;
      case 'sigma':
        policy.sigma = readSigma(pair.key as Node, value, err);
        break;
      case 'hashrates':
        policy.hashrates = readHashrates(value, err, (n) => `${file}:${at(n) ?? '?'}`);
        break;
      default:
        err(
          pair.key as Node,
          'POLICY_UNKNOWN_KEY',
          `unknown key "${key}" (known: thresholds, analytics, hosts, prices, allowlist, containers, cloud, sigma, hashrates)`,
        );
    }
  }
  return { policy, errors };
}

/** Bounds of the `containers:` and `cloud:` sections: entries per list or mapping, characters per entry. */
const MAX_SECTION_ENTRIES = 1000;
const MAX_ENTRY_CHARS = 512;
const BAD_ENTRY = `must be a non-empty string of at most ${MAX_ENTRY_CHARS} characters on one line`;
const CONTAINER_LISTS = ['registries', 'images', 'namespaces', 'creators'] as const;
const CONTAINER_KEYS = ['cluster', ...CONTAINER_LISTS, 'labels'];
const DIGEST_ENTRY = /^sha256:[0-9a-f]{64}$/i;
/** `cloud:` YAML keys and the CloudPolicy lists they fill. */
const CLOUD_LISTS = {
  principals: 'principals',
  pipelines: 'pipelines',
  services: 'services',
  regions: 'regions',
  instance_families: 'instanceFamilies',
} as const satisfies Record<string, keyof CloudPolicy>;
const CLOUD_KEYS = [...Object.keys(CLOUD_LISTS), 'tags'];
/** The key naming what an entry approves when it is written as a mapping with owner, reason and expires. */
const CONTAINER_ENTRY_KEY = {
  registries: 'registry',
  images: 'image',
  namespaces: 'namespace',
  creators: 'creator',
} as const satisfies Record<(typeof CONTAINER_LISTS)[number], string>;
const CLOUD_ENTRY_KEY = {
  principals: 'principal',
  pipelines: 'pipeline',
  services: 'service',
  regions: 'region',
  instance_families: 'instance_family',
} as const satisfies Record<keyof typeof CLOUD_LISTS, string>;

type PolicyError = (n: Node | null | undefined, code: string, reason: string) => void;

/** Sigma placeholder names as rules write them between `%`s (compile.ts reads the same shape). */
const PLACEHOLDER_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** `sigma: placeholders: {name: [values]}`: each name a placeholder, each value a bounded one-line string. */
function readSigma(keyNode: Node, value: Node | null, err: PolicyError): SigmaPolicy {
  const out: SigmaPolicy = { placeholders: {} };
  if (!isMap(value)) {
    err(value ?? keyNode, 'POLICY_SHAPE', 'sigma must be a mapping (placeholders)');
    return out;
  }
  for (const pair of value.items) {
    const k = String(isScalar(pair.key) ? pair.key.value : pair.key);
    if (k !== 'placeholders') {
      err(pair.key as Node, 'POLICY_UNKNOWN_KEY', `unknown key "sigma.${k}" (known: placeholders)`);
      continue;
    }
    const map = pair.value as Node | null;
    if (!isMap(map)) {
      err(
        map ?? (pair.key as Node),
        'POLICY_SHAPE',
        'sigma.placeholders must map placeholder names to lists of values',
      );
      continue;
    }
    for (const item of map.items.slice(0, MAX_SECTION_ENTRIES)) {
      const name = String(isScalar(item.key) ? item.key.value : item.key);
      if (!PLACEHOLDER_NAME.test(name)) {
        err(
          item.key as Node,
          'POLICY_BAD_VALUE',
          `sigma.placeholders: "${name.slice(0, 64)}" is not a placeholder name`,
        );
        continue;
      }
      // one value may stand alone; numbers (ports) are written as YAML numbers
      const node = item.value as Node | null;
      const scalars = isSeq(node) ? node.items : [node];
      const values: string[] = [];
      for (const v of scalars) {
        const raw = isScalar(v) ? v.value : undefined;
        const text = typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : raw;
        if (entryString(text)) values.push(text);
        else
          err(
            (v as Node | null) ?? (item.key as Node),
            'POLICY_BAD_VALUE',
            `sigma.placeholders.${name}: each value ${BAD_ENTRY}`,
          );
      }
      if (values.length > MAX_SECTION_ENTRIES)
        err(node, 'POLICY_BAD_VALUE', `sigma.placeholders.${name} has over ${MAX_SECTION_ENTRIES} values`);
      else out.placeholders[name] = values;
    }
  }
  return out;
}

/** One section string: non-empty, bounded, one line. */
function entryString(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_ENTRY_CHARS && !/[\u0000-\u001f\u007f]/.test(v);
}

/** The keys that give an approval entry its terms, beside the key naming what it approves. */
const TERM_KEYS = ['owner', 'reason', 'expires'] as const;
const BAD_EXPIRES =
  'is not a date (YYYY-MM-DD, through that day UTC) or a date-time with its zone (2026-12-31T18:00:00Z)';

/**
 * The owner, reason and expiry of an entry written as a mapping (`- image: x` with `owner:`…), each
 * optional; the entry's own line is kept to cite. Undefined (with errors) when one is not what it must be.
 */
function readTerms(name: string, node: YAMLMap, ref: string, err: PolicyError): ApprovalTerms | undefined {
  const terms: ApprovalTerms = { ref };
  let ok = true;
  for (const k of TERM_KEYS) {
    const valueNode = node.get(k, true) as Node | undefined;
    if (!node.has(k)) continue;
    const v = isScalar(valueNode) ? valueNode.value : undefined;
    if (!entryString(v)) {
      err(valueNode ?? node, 'POLICY_BAD_VALUE', `${name}: ${k} ${BAD_ENTRY}`);
      ok = false;
    } else if (k === 'expires' && expiryMs(v) === undefined) {
      err(valueNode, 'POLICY_BAD_VALUE', `${name}: expires "${v.slice(0, 64)}" ${BAD_EXPIRES}`);
      ok = false;
    } else terms[k] = v;
  }
  return ok ? terms : undefined;
}

/**
 * One approval entry: a plain string, or a mapping of `key` (what it approves) with optional owner,
 * reason and expires. Its value and terms, or undefined when it was reported bad.
 */
function readApprovalEntry(
  name: string,
  key: string,
  item: Node | null,
  ref: string,
  err: PolicyError,
  refuse: (entry: string) => string | undefined,
  numbers = false,
): { value: string; terms?: ApprovalTerms } | undefined {
  if (isMap(item)) {
    let ok = true;
    for (const pair of item.items) {
      const k = String(isScalar(pair.key) ? pair.key.value : pair.key);
      if (k !== key && !(TERM_KEYS as readonly string[]).includes(k)) {
        err(
          pair.key as Node,
          'POLICY_UNKNOWN_KEY',
          `unknown key "${k.slice(0, 64)}" in a ${name} entry (known: ${key}, ${TERM_KEYS.join(', ')})`,
        );
        ok = false;
      }
    }
    if (!item.has(key)) {
      err(
        item,
        'POLICY_SHAPE',
        `${name}: an entry written as a mapping needs "${key}" (and may give ${TERM_KEYS.join(', ')})`,
      );
      return undefined;
    }
    const valueNode = item.get(key, true) as Node | null;
    const raw = isScalar(valueNode) ? valueNode.value : undefined;
    const v = numbers && typeof raw === 'number' ? String(raw) : raw;
    const refused = entryString(v) ? refuse(v) : `${name}: ${key} ${BAD_ENTRY}`;
    if (refused !== undefined) {
      err(valueNode ?? item, 'POLICY_BAD_VALUE', refused);
      ok = false;
    }
    const terms = readTerms(name, item, ref, err);
    return ok && terms ? { value: v as string, terms } : undefined;
  }
  const v = isScalar(item) ? item.value : undefined;
  const refused = entryString(v) ? refuse(v) : `${name}: an entry ${BAD_ENTRY}`;
  if (refused !== undefined) {
    err(item, 'POLICY_BAD_VALUE', refused);
    return undefined;
  }
  return { value: v as string };
}

/**
 * A bounded list of section entries (`containers.creators`, `cloud.regions`): each a string, or a mapping
 * of `key` (`creator`, `region`) with optional owner, reason and expires, whose terms are kept aligned
 * with the list. A bad entry is reported with its line and left out; `refuse` says why an otherwise good
 * entry is not allowed. A list over the bound is refused whole.
 */
function readEntryList(
  name: string,
  key: string,
  keyNode: Node,
  value: Node | null,
  ref: (n: Node | null | undefined) => string,
  err: PolicyError,
  refuse: (entry: string) => string | undefined = () => undefined,
): { values: string[]; terms: Array<ApprovalTerms | undefined> } {
  const out: { values: string[]; terms: Array<ApprovalTerms | undefined> } = { values: [], terms: [] };
  if (!isSeq(value)) {
    err(value ?? keyNode, 'POLICY_SHAPE', `${name} must be a list`);
    return out;
  }
  if (value.items.length > MAX_SECTION_ENTRIES) {
    err(value, 'POLICY_BAD_VALUE', `${name} has over ${MAX_SECTION_ENTRIES} entries`);
    return out;
  }
  for (const item of value.items) {
    const entry = readApprovalEntry(name, key, item as Node | null, ref(item as Node), err, refuse);
    if (!entry) continue;
    out.values.push(entry.value);
    out.terms.push(entry.terms);
  }
  return out;
}

/** Terms aligned with a list, or undefined when no entry of it has any (a list of plain strings). */
function someTerms(terms: Array<ApprovalTerms | undefined>): Array<ApprovalTerms | undefined> | undefined {
  return terms.some((t) => t !== undefined) ? terms : undefined;
}

/**
 * A bounded mapping of name → value glob (`containers.labels`, `cloud.tags`) into `into`, or name →
 * `{ value: glob, owner, reason, expires }`, whose terms go into `terms` by name; a name such as
 * `__proto__` is an ordinary own key. Numbers are taken as their text (`tier: 2`).
 */
function readGlobMap(
  name: string,
  noun: string,
  keyNode: Node,
  value: Node | null,
  into: Record<string, string>,
  terms: Record<string, ApprovalTerms>,
  ref: (n: Node | null | undefined) => string,
  err: PolicyError,
): void {
  if (!isMap(value)) {
    err(value ?? keyNode, 'POLICY_SHAPE', `${name} must be a mapping of ${noun} name to value glob`);
    return;
  }
  if (value.items.length > MAX_SECTION_ENTRIES) {
    err(value, 'POLICY_BAD_VALUE', `${name} has over ${MAX_SECTION_ENTRIES} entries`);
    return;
  }
  const own = (target: object, key: string, v: unknown) =>
    Object.defineProperty(target, key, { value: v, enumerable: true, writable: true });
  for (const pair of value.items) {
    const key = isScalar(pair.key) ? pair.key.value : undefined;
    if (!entryString(key)) {
      err(pair.key as Node, 'POLICY_BAD_VALUE', `${name}: a ${noun} name ${BAD_ENTRY}`);
      continue;
    }
    const valueNode = pair.value as Node | null;
    if (isMap(valueNode)) {
      // `{ value: "CHG-*", owner: …, reason: …, expires: … }`; a number value is its text, as above
      const entry = readApprovalEntry(`${name}.${key}`, 'value', valueNode, ref(valueNode), err, () => undefined, true);
      if (!entry) continue;
      own(into, key, entry.value);
      if (entry.terms) own(terms, key, entry.terms);
      continue;
    }
    const glob = isScalar(valueNode) ? valueNode.value : undefined;
    if (typeof glob !== 'string' && typeof glob !== 'number')
      err(valueNode ?? (pair.key as Node), 'POLICY_BAD_VALUE', `${name}.${key} must be a value glob`);
    else if (!entryString(String(glob))) err(valueNode, 'POLICY_BAD_VALUE', `${name}.${key} ${BAD_ENTRY}`);
    else own(into, key, String(glob));
  }
}

/** An instance type as the providers spell them (`g4dn.xlarge`, `n2-standard-8`, `Standard_NC6s_v3`). */
const INSTANCE_TYPE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAX_INSTANCE_HOUR = 10_000;

/**
 * `prices.instance_hour`: instance type → price of one instance-hour, in `prices.currency`, overriding
 * the bundled on-demand table for AN0744. Types are kept lowercase (the providers' names match without
 * case); a bad entry is reported with its line and left out.
 */
function readInstanceHourPrices(keyNode: Node, value: Node | null, err: PolicyError): Record<string, number> {
  const out: Record<string, number> = {};
  if (!isMap(value)) {
    err(value ?? keyNode, 'POLICY_SHAPE', 'prices.instance_hour must be a mapping of instance type to price');
    return out;
  }
  if (value.items.length > MAX_SECTION_ENTRIES) {
    err(value, 'POLICY_BAD_VALUE', `prices.instance_hour has over ${MAX_SECTION_ENTRIES} entries`);
    return out;
  }
  for (const pair of value.items) {
    const type = isScalar(pair.key) ? pair.key.value : undefined;
    const price = isScalar(pair.value) ? pair.value.value : undefined;
    if (typeof type !== 'string' || !INSTANCE_TYPE.test(type))
      err(
        pair.key as Node,
        'POLICY_BAD_VALUE',
        'prices.instance_hour: a key must be an instance type (letters, digits, ".", "_", "-"; at most 64)',
      );
    else if (typeof price !== 'number' || !(price >= 0 && price <= MAX_INSTANCE_HOUR))
      err(
        (pair.value as Node) ?? (pair.key as Node),
        'POLICY_BAD_VALUE',
        `prices.instance_hour.${type} must be a price from 0 to ${MAX_INSTANCE_HOUR}`,
      );
    else Object.defineProperty(out, type.toLowerCase(), { value: price, enumerable: true, writable: true });
  }
  return out;
}

/**
 * `containers:` (AN0745): what is approved to run. Each list is bounded; a bad entry is reported with
 * its line and left out, the rest of the section still applies.
 */
function readContainers(
  keyNode: Node,
  node: Node,
  file: string,
  at: (n: Node | null | undefined) => number | undefined,
  err: PolicyError,
): ContainerPolicy | undefined {
  if (!isMap(node)) {
    err(node ?? keyNode, 'POLICY_SHAPE', `containers must be a mapping (${CONTAINER_KEYS.join(', ')})`);
    return undefined;
  }
  const out: ContainerPolicy = {
    registries: [],
    images: [],
    namespaces: [],
    creators: [],
    labels: {},
    ref: `${file}:${at(keyNode) ?? 0}`,
  };
  const ref = (n: Node | null | undefined) => `${file}:${at(n) ?? 0}`;
  const terms: NonNullable<ContainerPolicy['terms']> = {};
  const labelTerms: Record<string, ApprovalTerms> = {};
  const list = (
    k: (typeof CONTAINER_LISTS)[number],
    keyOf: Node,
    value: Node,
    refuse?: (v: string) => string | undefined,
  ) => {
    const read = readEntryList(`containers.${k}`, CONTAINER_ENTRY_KEY[k], keyOf, value, ref, err, refuse);
    out[k] = read.values;
    const aligned = someTerms(read.terms);
    if (aligned) terms[k] = aligned;
  };
  for (const pair of node.items) {
    const k = String(isScalar(pair.key) ? pair.key.value : pair.key);
    const value = pair.value as Node;
    if (k === 'cluster') {
      const v = isScalar(value) ? value.value : undefined;
      if (entryString(v)) out.cluster = v;
      else err(value ?? (pair.key as Node), 'POLICY_BAD_VALUE', `containers.cluster ${BAD_ENTRY}`);
    } else if (k === 'labels')
      readGlobMap('containers.labels', 'label', pair.key as Node, value, out.labels, labelTerms, ref, err);
    else if (k === 'registries')
      list(k, pair.key as Node, value, (v) =>
        /^[a-z][a-z0-9+.-]*:\/\//i.test(v) || /[*@\s]/.test(v)
          ? `containers.registries: "${v}" must be a registry host[/path] (no scheme, glob or digest)`
          : undefined,
      );
    else if (k === 'images')
      list(k, pair.key as Node, value, (v) =>
        /^sha256:/i.test(v) && !DIGEST_ENTRY.test(v)
          ? `containers.images: "${v}" is not a sha256: digest of 64 hex digits`
          : undefined,
      );
    else if (k === 'namespaces' || k === 'creators') list(k, pair.key as Node, value);
    else
      err(
        pair.key as Node,
        'POLICY_UNKNOWN_KEY',
        `unknown key "containers.${k}" (known: ${CONTAINER_KEYS.join(', ')})`,
      );
  }
  if (Object.keys(labelTerms).length > 0) terms.labels = labelTerms;
  if (Object.keys(terms).length > 0) out.terms = terms;
  return out;
}

/**
 * `cloud:` (AN0744): the approved path for creating compute. Bounded like `containers:`; regions and
 * services are names compared whole, so a `*` in them is refused rather than taken literally.
 */
function readCloud(
  keyNode: Node,
  node: Node,
  file: string,
  at: (n: Node | null | undefined) => number | undefined,
  err: PolicyError,
): CloudPolicy | undefined {
  if (!isMap(node)) {
    err(node ?? keyNode, 'POLICY_SHAPE', `cloud must be a mapping (${CLOUD_KEYS.join(', ')})`);
    return undefined;
  }
  const out: CloudPolicy = {
    principals: [],
    pipelines: [],
    services: [],
    regions: [],
    instanceFamilies: [],
    tags: {},
    ref: `${file}:${at(keyNode) ?? 0}`,
  };
  const noGlob = (k: string, example: string) => (v: string) =>
    v.includes('*') ? `cloud.${k}: "${v}" must be a name such as ${example} (no glob)` : undefined;
  const ref = (n: Node | null | undefined) => `${file}:${at(n) ?? 0}`;
  const terms: NonNullable<CloudPolicy['terms']> = {};
  const tagTerms: Record<string, ApprovalTerms> = {};
  for (const pair of node.items) {
    const k = String(isScalar(pair.key) ? pair.key.value : pair.key);
    const value = pair.value as Node;
    if (k === 'tags') readGlobMap('cloud.tags', 'tag', pair.key as Node, value, out.tags, tagTerms, ref, err);
    else if (Object.hasOwn(CLOUD_LISTS, k)) {
      const key = k as keyof typeof CLOUD_LISTS;
      const field = CLOUD_LISTS[key];
      const refuse =
        k === 'regions'
          ? noGlob(k, 'eu-west-1, europe-west4 or westeurope')
          : k === 'services'
            ? noGlob(k, 'autoscaling.amazonaws.com')
            : undefined;
      const read = readEntryList(`cloud.${k}`, CLOUD_ENTRY_KEY[key], pair.key as Node, value, ref, err, refuse);
      out[field] = read.values;
      const aligned = someTerms(read.terms);
      if (aligned) terms[field] = aligned;
    } else err(pair.key as Node, 'POLICY_UNKNOWN_KEY', `unknown key "cloud.${k}" (known: ${CLOUD_KEYS.join(', ')})`);
  }
  if (Object.keys(tagTerms).length > 0) terms.tags = tagTerms;
  if (Object.keys(terms).length > 0) out.terms = terms;
  return out;
}

function readEntry(
  node: Node,
  file: string,
  at: (n: Node | null | undefined) => number | undefined,
  err: (n: Node | null | undefined, code: string, reason: string) => void,
): AllowlistEntry | undefined {
  if (!isMap(node)) {
    err(node, 'POLICY_SHAPE', 'an allowlist entry must be a mapping');
    return undefined;
  }
  const line = at(node);
  const str = (k: string) => {
    const v = node.get(k);
    return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
  };
  let ok = true;
  for (const pair of node.items) {
    const k = String(isScalar(pair.key) ? pair.key.value : pair.key);
    if (!['match', 'analytics', 'owner', 'reason', 'expires'].includes(k)) {
      err(pair.key as Node, 'POLICY_UNKNOWN_KEY', `unknown allowlist key "${k}"`);
      ok = false;
    }
  }
  for (const k of ['owner', 'reason', 'expires']) {
    if (!str(k)) {
      err(
        node,
        'POLICY_ALLOWLIST_INCOMPLETE',
        `allowlist entry needs "${k}": every suppression has an owner, a reason and an expiry`,
      );
      ok = false;
    }
  }
  const expires = str('expires');
  if (expires && Number.isNaN(Date.parse(expires))) {
    err(node.get('expires', true) as Node, 'POLICY_BAD_VALUE', `expires "${expires}" is not a date (YYYY-MM-DD)`);
    ok = false;
  }
  const matchNode = node.get('match', true) as Node | undefined;
  const match: AllowlistEntry['match'] = {};
  if (!isMap(matchNode)) {
    err(node, 'POLICY_SHAPE', `allowlist entry needs "match" with one or more of ${MATCH_FIELDS.join(', ')}`);
    ok = false;
  } else {
    for (const pair of matchNode.items) {
      const k = String(isScalar(pair.key) ? pair.key.value : pair.key) as AllowlistField;
      const v = isScalar(pair.value) ? pair.value.value : undefined;
      if (!MATCH_FIELDS.includes(k)) {
        err(pair.key as Node, 'POLICY_UNKNOWN_KEY', `unknown match field "${k}" (known: ${MATCH_FIELDS.join(', ')})`);
        ok = false;
      } else if (typeof v !== 'string' || v.length === 0 || v.length > 1024) {
        err(pair.value as Node, 'POLICY_BAD_VALUE', `match.${k} must be a non-empty string`);
        ok = false;
      } else match[k] = v;
    }
  }
  const analyticsNode = node.get('analytics');
  const analytics: string[] = [];
  if (analyticsNode !== undefined) {
    const list = isSeq(analyticsNode) ? analyticsNode.toJSON() : undefined;
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
      err(node, 'POLICY_BAD_VALUE', 'analytics must be a list of analytic ids');
      ok = false;
    } else analytics.push(...(list as string[]));
  }
  if (!ok) return undefined;
  return {
    match,
    analytics,
    owner: str('owner')!,
    reason: str('reason')!,
    expires: str('expires')!,
    ref: `${file}:${line ?? 0}`,
  };
}
