import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../bench/fuzz-rng.js';
import { UNKNOWN_HOST } from '../model/entity.js';
import type { CoalEvent, EventAction } from '../model/event.js';
import {
  balancedOwners,
  dealtOwners,
  PARTITIONS,
  type PartitionRoute,
  partitionOf,
  partitionRouteOf,
  partitionRouteOfLine,
  workerOf,
} from './partition.js';

function ev(action: EventAction, fields: Partial<CoalEvent>): CoalEvent {
  return {
    '@timestamp': '2026-12-01T10:00:00Z',
    event: { kind: 'event', category: ['process'], action, dataset: 't' },
    original: {},
    coalmine: { ts: 0, format: 't', ref: { file: 'f', line: 1 } },
    ...fields,
  };
}

test('an event of one named host that touches nothing shared is keyed by its host', () => {
  const exec = ev('exec', { host: { name: 'web-01' }, process: { pid: 7, command_line: 'xmrig -o pool:3333' } });
  assert.deepEqual(partitionRouteOf(exec), { scope: 'host', key: 'host:web-01' });
  const plainConnect = ev('connect', {
    host: { name: 'web-01' },
    source: { ip: '10.0.0.5', port: 50000 },
    destination: { ip: '198.51.100.7', port: 3333 },
  });
  assert.deepEqual(
    partitionRouteOf(plainConnect),
    { scope: 'host', key: 'host:web-01' },
    'a named host owns its flows',
  );
  const cron = ev('persistence-entry', { process: { command_line: '/tmp/x' } });
  assert.deepEqual(
    partitionRouteOf(cron),
    { scope: 'host', key: `host:${UNKNOWN_HOST}` },
    'naming neither host nor address: the unknown host, as the engine files it',
  );
  const hostlessConnect = ev('connect', { process: { pid: 4242 }, destination: { ip: '198.51.100.23', port: 3333 } });
  assert.deepEqual(
    partitionRouteOf(hostlessConnect),
    { scope: 'host', key: `host:${UNKNOWN_HOST}` },
    "a host sensor's record (a pid, no host) goes where its process's execs go, not to its remote address",
  );
  const hostlessFlow = ev('connect', { destination: { ip: '198.51.100.23', port: 3333 } });
  assert.deepEqual(partitionRouteOf(hostlessFlow), { scope: 'addr', key: 'addr:198.51.100.23' });
});

test('what joins across hosts is never keyed by a host', () => {
  const cases: Array<[string, CoalEvent, string]> = [
    [
      'a cloud call',
      ev('cloud-change', {
        host: { name: 'aws:123' },
        cloud: { provider: 'aws', account: { id: '123' } },
      }),
      'cloud:aws:123',
    ],
    [
      'a host event stamped with its instance',
      ev('metric', { host: { name: 'ip-10-0-0-5' }, cloud: { instance: { id: 'i-0abc' } } }),
      'cloud:?:?',
    ],
    ['a container', ev('exec', { host: { name: 'node-1' }, container: { id: 'abc123' } }), 'k8s:?'],
    [
      'a pod in a named cluster',
      ev('exec', { host: { name: 'node-1' }, orchestrator: { namespace: 'ns', cluster: { name: 'prod' } } }),
      'k8s:prod',
    ],
    [
      'a host-less flow (joined to its host by address)',
      ev('connect', { source: { ip: '10.0.0.5', port: 1 }, destination: { ip: '198.51.100.7', port: 443 } }),
      'addr:10.0.0.5',
    ],
    [
      'a web request with a user agent (judged against every host)',
      ev('connect', { host: { name: 'web-01' }, user_agent: { original: 'curl/8' } }),
      'fleet',
    ],
    ['a TLS client fingerprint', ev('connect', { host: { name: 'web-01' }, tls: { client: { ja3: 'abc' } } }), 'fleet'],
    ['an SSH session', ev('connect', { host: { name: 'web-01' }, network: { protocol: 'ssh' } }), 'fleet'],
  ];
  for (const [what, event, key] of cases) {
    const route = partitionRouteOf(event);
    assert.notEqual(route.scope, 'host', what);
    assert.equal(route.key, key, what);
  }
});

test('keys are bounded whatever the logs say', () => {
  const long = 'h'.repeat(100_000);
  const route = partitionRouteOf(ev('exec', { host: { name: long } }));
  assert.ok(route.key.length <= 'host:'.length + 256);
  assert.equal(route.key, partitionRouteOf(ev('exec', { host: { name: `${long}x` } })).key, 'clipped, then keyed');
});

test('every spelling of a host has one route: case, its FQDN, a root dot; an address is never cut at a dot', () => {
  const route = (name: string) => partitionRouteOf(ev('exec', { host: { name }, process: { pid: 1 } }));
  for (const name of ['WS-FIN-07', 'ws-fin-07', 'ws-fin-07.corp.example.com', 'WS-FIN-07.CORP.EXAMPLE.COM.'])
    assert.deepEqual(route(name), { scope: 'host', key: 'host:ws-fin-07' }, name);
  assert.deepEqual(
    route('ws-fin-07.lab.example.com'),
    route('ws-fin-07.corp.example.com'),
    'machines sharing a first label share a partition (harmless: the engine keeps them apart)',
  );
  assert.deepEqual(route('10.0.0.5'), { scope: 'host', key: 'host:10.0.0.5' });
  assert.deepEqual(route('FE80::1'), { scope: 'host', key: 'host:fe80::1' });
  assert.notEqual(route('10.0.0.5').key, route('10.0.0.6').key);
  assert.deepEqual(lineRoute('{"host":{"name":"WS-FIN-07.corp.example.com"}}'), {
    scope: 'host',
    key: 'host:ws-fin-07',
  });
});

test('a key has one partition, whatever the number of workers, spread over all of them', () => {
  // FNV-1a of "host:web-01" and "" pinned: the rule must not drift, since scale-out workers share it
  assert.equal(partitionOf(''), 0x811c9dc5 % PARTITIONS);
  assert.equal(partitionOf('host:web-01'), partitionOf('host:web-01'));
  const seen = new Set<number>();
  const perWorker = [0, 0];
  for (let i = 0; i < 200; i++) {
    const key = `host:web-${i}`;
    const p = partitionOf(key);
    assert.ok(p >= 0 && p < PARTITIONS && Number.isInteger(p));
    seen.add(p);
    assert.equal(workerOf(key, dealtOwners(2)), p % 2);
    assert.equal(workerOf(key, dealtOwners(1)), 0);
    perWorker[workerOf(key, dealtOwners(2))]++;
  }
  assert.ok(seen.size > PARTITIONS / 2, `200 hosts fill most of the ${PARTITIONS} partitions (${seen.size})`);
  assert.ok(Math.min(...perWorker) >= 70, `two workers share 200 hosts roughly evenly (${perWorker})`);
});

test('balancedOwners: the heaviest partitions first to the least-loaded worker; unweighed ones keep the deal', () => {
  const weights = new Array<number>(PARTITIONS).fill(0);
  // the bench fleet's shape: a few heavy partitions, many light, the plain deal 60/40
  for (let p = 0; p < 20; p++) weights[p] = p % 2 === 0 ? 30 : 10;
  weights[40] = 25;
  const dealt = dealtOwners(2);
  const load = (owners: readonly number[]) =>
    owners.reduce(
      (acc, w, p) => {
        acc[w] += weights[p];
        return acc;
      },
      [0, 0],
    );
  assert.deepEqual(load(dealt), [325, 100]);
  const owners = balancedOwners(weights, 2);
  assert.deepEqual(load(owners), [215, 210]);
  for (let p = 20; p < PARTITIONS; p++) if (p !== 40) assert.equal(owners[p], dealt[p], `partition ${p} kept`);
  assert.deepEqual(balancedOwners(weights, 2), owners, 'deterministic');
  assert.deepEqual(balancedOwners(new Array(PARTITIONS).fill(0), 3), dealtOwners(3), 'nothing weighed: the deal');
  const three = balancedOwners(weights, 3);
  const loads3 = [0, 0, 0];
  three.forEach((w, p) => {
    loads3[w] += weights[p];
  });
  assert.ok(Math.max(...loads3) - Math.min(...loads3) <= 30, `three workers within one heavy partition (${loads3})`);
});

/** The route of a line told from its bytes, as the NDJSON reader asks it (util/lines.ts hands it the line's bytes). */
function lineRoute(line: string): PartitionRoute | undefined {
  // inside a bigger buffer, as a chunk of the input holds it
  const bytes = Buffer.from(`{"before":1}\n${line}\n{"after":"host"}`);
  const start = bytes.indexOf(10) + 1;
  return partitionRouteOfLine(bytes, start, bytes.lastIndexOf(10));
}

/** What partitionRouteOf says of a line as the NDJSON reader hands it on (its `coalmine` rebuilt). */
function parsedRoute(line: string): PartitionRoute | 'not an event' {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return 'not an event';
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return 'not an event';
  const e = o as CoalEvent;
  if (typeof e.event !== 'object' || e.event === null) return 'not an event';
  e.coalmine = { ts: 0, format: 'ndjson', ref: { file: 'f', line: 1 } };
  return partitionRouteOf(e);
}

const ROUTED_LINES = [
  '{"@timestamp":"2026-03-02T06:00:00.017Z","event":{"kind":"event","action":"exec","dataset":"auditd.execve"},"host":{"name":"web-001","os":{"platform":"linux"}},"process":{"pid":775,"command_line":"ls -la \\"/var/www\\" C:\\\\x"}}',
  '{"event":{"action":"metric","dataset":"m"},"process":{"pid":1},"host":{"os":{"platform":"linux"},"name":"db-7"},"@timestamp":"2026-03-02T06:00:00Z"}',
  '{ "@timestamp" : "2026-03-02T06:00:00Z" , "event" : { "action" : "connect" , "dataset" : "d" } , "host" : { "ip" : [ "10.0.0.1" ] , "name" : "spaced host" } }',
  '{"@timestamp":"2026-03-02T06:00:00Z","event":{"action":"exec","dataset":"d"},"host":{"name":"ünïcode-höst"},"process":{"command_line":"echo {\\"a\\":[1,{\\"b\\":2}]}"}}',
  '{"@timestamp":"2026-03-02T06:00:00Z","event":{"action":"exec","dataset":"d"},"host":{"name":"WS-FIN-07.Corp.Example.com."},"process":{"pid":6120}}',
  '{"@timestamp":"2026-03-02T06:00:00Z","event":{"action":"connect","dataset":"d"},"host":{"name":"10.0.0.5"},"source":{"ip":"10.0.0.5"}}',
];

test('a line of our NDJSON is routed from its text as its parsed event is', () => {
  for (const line of ROUTED_LINES) {
    const route = lineRoute(line);
    assert.ok(route, line);
    assert.deepEqual(route, parsedRoute(line), line);
  }
});

test('a line whose route the text cannot settle is left to a parse', () => {
  const base = '"@timestamp":"2026-03-02T06:00:00Z","event":{"action":"exec","dataset":"d"}';
  const unsettled: Array<[string, string]> = [
    ['no host', `{${base}}`],
    ['a nested host only', `{${base},"url":{"host":{"name":"a"}}}`],
    ['a host key spelled with \\u escapes', `{${base},"ho\\u0073t":{"name":"b"},"url":{"host":{"name":"a"}}}`],
    ['a key that ends in an escaped quote and host', `{${base},"x\\"host":{"name":"a"}}`],
    ['"host" as a value', `{${base},"tag":"host","x":{"name":"a"}}`],
    ['a host that is no object', `{${base},"host":"a"}`],
    ['a name that is no string', `{${base},"host":{"name":7}}`],
    ['a repeated name', `{${base},"host":{"name":"a","name":"b"}}`],
    ['an escaped name', `{${base},"host":{"name":"a\\tb"}}`],
    ['an empty name', `{${base},"host":{"name":""}}`],
    ['an array line', `[{"host":{"name":"a"}}]`],
  ];
  for (const [what, line] of unsettled) assert.equal(lineRoute(line), undefined, what);
});

test('the walk stops at the first top-level host: a nested one after it is no matter, a repeated key is for the parse to find', () => {
  const base = '"@timestamp":"2026-03-02T06:00:00Z","event":{"action":"exec","dataset":"d"}';
  const nested = `{${base},"host":{"name":"a"},"original":{"host":{"name":"b"}}}`;
  assert.deepEqual(lineRoute(nested), parsedRoute(nested));
  // JSON.parse keeps the last `host`: the owner of `a` parses the line, finds `b`, and the run goes back to one thread
  const repeated = `{${base},"host":{"name":"a"},"host":{"name":"b"}}`;
  assert.deepEqual(lineRoute(repeated), { scope: 'host', key: 'host:a' });
  assert.deepEqual(parsedRoute(repeated), { scope: 'host', key: 'host:b' });
});

test('a line of a named host that joins across hosts goes to its host: the owner parses it and finds out', () => {
  // the owner's parse sees the cloud, k8s or fleet route and the run goes back to one thread (hunt-worker.ts)
  const base = '"@timestamp":"2026-03-02T06:00:00Z","event":{"action":"connect","dataset":"d"},"host":{"name":"a"}';
  for (const extra of [
    '"cloud":{"instance":{"id":"i-1"}}',
    '"container":{"id":"c1"}',
    '"orchestrator":{"namespace":"n"}',
    '"user_agent":{"original":"x"}',
    '"network":{"protocol":"ssh"}',
  ]) {
    const line = `{${base},${extra}}`;
    assert.deepEqual(lineRoute(line), { scope: 'host', key: 'host:a' }, extra);
    const parsed = parsedRoute(line);
    assert.ok(
      parsed !== 'not an event' && parsed.scope !== 'host',
      `${extra}: the parse says ${JSON.stringify(parsed)}`,
    );
  }
});

/** How many keys of the line's top-level object decode to `host` (the test's own scan: JSON.parse keeps only the last). */
function topLevelHostKeys(line: string): number {
  let n = 0;
  let depth = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      let j = i + 1;
      while (j < line.length && line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
      const after = line.slice(j + 1).trimStart();
      if (depth === 1 && after.startsWith(':')) {
        try {
          if (JSON.parse(line.slice(i, j + 1)) === 'host') n++;
        } catch {
          // no key
        }
      }
      i = j;
    }
  }
  return n;
}

test('whatever a line holds, a route told from its text is the route of the event it parses into', () => {
  // mutate routed lines with the tokens that could fool a scan; every route it gives must hold
  const tokens = [
    '"host"',
    '"name"',
    '"category":["host"]',
    '\\u0068',
    '{',
    '}',
    '[',
    ']',
    '"',
    '\\',
    '\\"',
    ':',
    ',',
    ' ',
    '"host":{"name":"z"}',
    'x',
  ];
  const rng = new Rng(0x51ce);
  let routed = 0;
  let parsedAsEvents = 0;
  for (let i = 0; i < 20_000; i++) {
    let line = rng.pick(ROUTED_LINES);
    const edits = 1 + rng.int(3);
    for (let k = 0; k < edits; k++) {
      const at = rng.int(line.length + 1);
      line = rng.chance(0.8)
        ? line.slice(0, at) + rng.pick(tokens) + line.slice(at)
        : line.slice(0, at) + line.slice(at + 1 + rng.int(4));
    }
    const route = lineRoute(line);
    const parsed = parsedRoute(line);
    if (parsed !== 'not an event') parsedAsEvents++;
    if (route === undefined) continue;
    routed++;
    // a host-scoped event is routed to its host unless the line repeats the top-level key (the walk takes the
    // first, JSON.parse the last: the owner's parse finds that out, as it does any other scope)
    if (parsed !== 'not an event' && parsed.scope === 'host' && topLevelHostKeys(line) < 2)
      assert.deepEqual(route, parsed, line);
  }
  assert.ok(
    routed > 1000 && parsedAsEvents > 1000,
    `${routed} routed, ${parsedAsEvents} parsed: the mutations reach both`,
  );
});
