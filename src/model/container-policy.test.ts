import assert from 'node:assert/strict';
import { test } from 'node:test';
import { approvalOf, containerApprovalOf, normalisedRepository, type WorkloadForApproval } from './container-policy.js';
import type { ContainerPolicy } from './policy.js';

function policy(over: Partial<ContainerPolicy> = {}): ContainerPolicy {
  return { registries: [], images: [], namespaces: [], creators: [], labels: {}, ref: 'coalmine.yaml:40', ...over };
}

/** When the write judged happened: 2026-06-01T12:00:00Z. */
const AT = Date.parse('2026-06-01T12:00:00Z');

function workload(over: Partial<WorkloadForApproval> = {}): WorkloadForApproval {
  return { namespace: 'shop', images: [], digests: [], creators: ['alice@example.com'], labels: {}, at: AT, ...over };
}

const DIGEST_A = `sha256:${'a'.repeat(64)}`;
const DIGEST_B = `sha256:${'b'.repeat(64)}`;

test('image references normalise as Docker does: library images, user images, Hub aliases, registry host case', () => {
  assert.equal(normalisedRepository('nginx'), 'docker.io/library/nginx');
  assert.equal(normalisedRepository(`nginx:1.25@${DIGEST_A}`), 'docker.io/library/nginx');
  assert.equal(normalisedRepository('user/x:tag'), 'docker.io/user/x');
  assert.equal(normalisedRepository('index.docker.io/nginx'), 'docker.io/library/nginx');
  assert.equal(normalisedRepository('registry-1.docker.io/user/x'), 'docker.io/user/x');
  assert.equal(normalisedRepository('REGISTRY.Example.com:5000/Team/app:1'), 'registry.example.com:5000/Team/app');
  assert.equal(normalisedRepository('localhost/app'), 'localhost/app');
  for (const bad of ['', 'a b', 'x\n', '"x"', 'registry.example.com/../evil', 'a//b', `${'a'.repeat(600)}`, '/x'])
    assert.equal(normalisedRepository(bad), undefined, JSON.stringify(bad));
});

test('registries approve an image at or under them at "/" boundaries only, and cite the entry with its file:line', () => {
  const p = policy({ registries: ['registry.example.com', 'docker.io/library/', 'Index.Docker.io/bitnami'] });
  const approved = (image: string) => approvalOf(p, workload({ images: [image] }));
  assert.equal(
    approved('registry.example.com/team/app:1'),
    'containers.registries "registry.example.com" (coalmine.yaml:40)',
  );
  assert.equal(
    approved('REGISTRY.EXAMPLE.COM/team/app'),
    'containers.registries "registry.example.com" (coalmine.yaml:40)',
  );
  assert.equal(approved('nginx:1.25'), 'containers.registries "docker.io/library/" (coalmine.yaml:40)');
  assert.equal(
    approved('index.docker.io/library/redis'),
    'containers.registries "docker.io/library/" (coalmine.yaml:40)',
  );
  assert.equal(approved('bitnami/redis:7'), 'containers.registries "Index.Docker.io/bitnami" (coalmine.yaml:40)');
  // look-alikes: a longer host, another port, a sibling path, a user image outside library
  for (const image of [
    'registry.example.com.evil.net/team/app',
    'registry.example.com:5000/team/app',
    'evilregistry.example.com/app',
    'docker.io/libraryx/nginx',
    'user/nginx',
    'bitnamix/redis',
    'registry.example.com/../../evil.net/app',
    'registry.example.com/app\nevil',
    'registry.example.com/app evil',
  ])
    assert.equal(approved(image), undefined, image);
});

test('image globs and digests: every image must be approved; a pinned or reported digest must be listed', () => {
  const p = policy({
    images: ['registry.gitlab.com/gitlab-org/*', DIGEST_A.toUpperCase().replace('SHA256', 'sha256')],
  });
  assert.equal(
    approvalOf(p, workload({ images: ['registry.gitlab.com/gitlab-org/gitlab-runner:v17'] })),
    'containers.images "registry.gitlab.com/gitlab-org/*" (coalmine.yaml:40)',
  );
  assert.equal(
    approvalOf(p, workload({ images: ['registry.gitlab.com/gitlab-org/gitlab-runner', 'xmrig/xmrig'] })),
    undefined,
  );
  // pinned digest in the reference, any case
  assert.match(
    approvalOf(p, workload({ images: [`evil/app@${DIGEST_A.toUpperCase().replace('SHA256', 'sha256')}`] })) ?? '',
    /containers\.images "sha256:a{64}"/i,
  );
  assert.equal(approvalOf(p, workload({ images: [`evil/app@${DIGEST_B}`] })), undefined);
  // the runtime's digests stand for the images only when each image has one and every one is listed
  assert.ok(approvalOf(p, workload({ images: ['evil/app:latest'], digests: [DIGEST_A] })));
  assert.equal(approvalOf(p, workload({ images: ['evil/app:latest'], digests: [DIGEST_A, DIGEST_B] })), undefined);
  assert.equal(approvalOf(p, workload({ images: ['evil/app', 'other/app'], digests: [DIGEST_A] })), undefined);
  // a workload with no image named approves only through a listed digest
  assert.equal(approvalOf(p, workload({ images: [] })), undefined);
  assert.ok(approvalOf(p, workload({ images: [], digests: [DIGEST_A] })));
});

test('namespaces, creators (every one) and label globs approve; anonymous creators never are', () => {
  const p = policy({
    namespaces: ['kube-system'],
    creators: ['system:serviceaccount:ci:*', 'alice@example.com'],
    labels: { 'change-ticket': 'CHG-*' },
  });
  assert.equal(
    approvalOf(p, workload({ namespace: 'kube-system', creators: ['bob'] })),
    'containers.namespaces "kube-system" (coalmine.yaml:40)',
  );
  assert.equal(
    approvalOf(p, workload({ creators: ['system:serviceaccount:ci:gitlab-runner', 'alice@example.com'] })),
    'containers.creators "system:serviceaccount:ci:*" (coalmine.yaml:40)',
  );
  assert.equal(approvalOf(p, workload({ creators: ['alice@example.com', 'mallory'] })), undefined);
  assert.equal(
    approvalOf(p, workload({ creators: ['bob'], labels: { 'change-ticket': 'CHG-1234' } })),
    'containers.labels change-ticket="CHG-*" (coalmine.yaml:40)',
  );
  assert.equal(approvalOf(p, workload({ creators: ['bob'], labels: { 'change-ticket': 'INC-1' } })), undefined);
  for (const anonymous of [['system:anonymous'], ['alice@example.com', 'system:anonymous']])
    assert.equal(
      approvalOf(p, workload({ namespace: 'kube-system', creators: anonymous, labels: { 'change-ticket': 'CHG-1' } })),
      undefined,
    );
  assert.equal(approvalOf(undefined, workload({ namespace: 'kube-system' })), undefined);
});

test('hostile workload values approve nothing: inherited keys, non-strings, oversized values and lists', () => {
  const p = policy({ registries: ['docker.io'], labels: { constructor: '*', toString: '*' }, creators: ['*'] });
  // labels only by own keys: Object.prototype's constructor/toString are not labels
  assert.equal(approvalOf(p, workload({ creators: [], labels: {} })), undefined);
  assert.equal(
    approvalOf(p, workload({ creators: [], labels: JSON.parse('{"__proto__":{"constructor":"x"}}') })),
    undefined,
  );
  // non-strings where strings belong (a source let them through)
  const wrong = [42, null, { toString: () => 'nginx' }] as unknown as string[];
  assert.equal(approvalOf(p, workload({ images: wrong, creators: [] })), undefined);
  assert.equal(approvalOf(p, workload({ creators: wrong })), undefined);
  assert.equal(approvalOf(p, workload({ images: 'nginx' as unknown as string[], creators: [] })), undefined);
  // oversized: a 1 MB image, a creator over the bound, more images than judged
  assert.equal(approvalOf(p, workload({ images: [`docker.io/${'a'.repeat(1 << 20)}`], creators: [] })), undefined);
  assert.equal(approvalOf(p, workload({ creators: [`u${'x'.repeat(600)}`] })), undefined);
  assert.equal(
    approvalOf(p, workload({ images: Array.from({ length: 300 }, (_, i) => `app${i}`), creators: [] })),
    undefined,
  );
  // bounded time on a pathological glob
  const slow = policy({ creators: [`${'*a'.repeat(200)}*b`] });
  const started = process.hrtime.bigint();
  assert.equal(approvalOf(slow, workload({ creators: ['a'.repeat(512)] })), undefined);
  assert.ok(Number(process.hrtime.bigint() - started) / 1e6 < 200);
});

test('an entry with terms approves until its expiry, judged at the write, and is cited with its line, owner and reason', () => {
  const terms = {
    owner: 'platform@example.com',
    reason: 'edge proxy (CHG-2291)',
    expires: '2026-06-30',
    ref: 'c.yaml:44',
  };
  const p = policy({ images: ['docker.io/envoyproxy/envoy'], terms: { images: [terms] } });
  const envoy = (at: string) =>
    containerApprovalOf(p, workload({ images: ['envoyproxy/envoy:v1.30'], at: Date.parse(at) }));
  assert.deepEqual(envoy('2026-06-30T23:59:59Z'), {
    approved: true,
    reason:
      'containers.images "docker.io/envoyproxy/envoy" (c.yaml:44; owner platform@example.com; reason "edge proxy (CHG-2291)"; expires 2026-06-30)',
  });
  // the same workload written after the expiry: not approved, and the entry that lapsed is named
  assert.deepEqual(envoy('2026-07-01T00:00:00Z'), {
    approved: false,
    expired:
      'containers.images "docker.io/envoyproxy/envoy" (c.yaml:44; owner platform@example.com; reason "edge proxy (CHG-2291)") expired 2026-06-30, before this write at 2026-07-01T00:00:00.000Z',
  });
  assert.equal(
    approvalOf(p, workload({ images: ['envoyproxy/envoy'], at: Date.parse('2026-07-01T00:00:00Z') })),
    undefined,
  );
  // something no entry, in force or not, approves is simply not approved
  assert.equal(containerApprovalOf(p, workload({ images: ['xmrig/xmrig'] })), undefined);
  // an entry without terms (every existing policy) approves at any time, cited by its section as before
  const plain = policy({ images: ['docker.io/envoyproxy/envoy'] });
  assert.equal(
    approvalOf(plain, workload({ images: ['envoyproxy/envoy'], at: Date.parse('2099-01-01T00:00:00Z') })),
    'containers.images "docker.io/envoyproxy/envoy" (coalmine.yaml:40)',
  );
});

test('an entry in force is preferred over one that lapsed; a lapsed one is named only when nothing in force approves', () => {
  const at = Date.parse('2026-06-01T00:00:00Z');
  const old = { owner: 'bob', expires: '2026-01-31', ref: 'c.yaml:5' };
  const current = { owner: 'alice', expires: '2026-12-31', ref: 'c.yaml:7' };
  // the same registry listed twice: the entry in force approves
  const twice = policy({
    registries: ['registry.example.com', 'registry.example.com'],
    terms: { registries: [old, current] },
  });
  assert.match(
    approvalOf(twice, workload({ images: ['registry.example.com/app'], at })) ?? '',
    /\(c\.yaml:7; owner alice; expires 2026-12-31\)$/,
  );
  // the namespace lapsed, the creator did not: approved by the creator
  const byCreator = policy({ namespaces: ['shop'], creators: ['alice@example.com'], terms: { namespaces: [old] } });
  assert.equal(approvalOf(byCreator, workload({ at })), 'containers.creators "alice@example.com" (coalmine.yaml:40)');
  // every image must be approved: the one whose entry lapsed is named, not the one in force
  const images = policy({
    images: ['registry.example.com/*', 'docker.io/library/redis'],
    terms: { images: [undefined, old] },
  });
  const both = containerApprovalOf(
    images,
    workload({ images: ['registry.example.com/app', 'redis:7'], creators: [], at }),
  );
  assert.equal(both?.approved, false);
  assert.match(
    both?.approved === false ? both.expired : '',
    /^containers\.images "docker\.io\/library\/redis" \(c\.yaml:5; owner bob\) expired 2026-01-31/,
  );
  // labels and digests lapse alike; an anonymous creator is never approved, lapsed or not
  const labelled = policy({ labels: { 'change-ticket': 'CHG-*' }, terms: { labels: { 'change-ticket': old } } });
  const ticket = workload({ labels: { 'change-ticket': 'CHG-1' }, at });
  assert.match(
    JSON.stringify(containerApprovalOf(labelled, ticket)),
    /containers\.labels change-ticket=\\"CHG-\*\\" \(c\.yaml:5; owner bob\) expired/,
  );
  assert.equal(containerApprovalOf(labelled, { ...ticket, creators: ['system:anonymous'] }), undefined);
  const pinned = policy({ images: [DIGEST_A], terms: { images: [old] } });
  assert.equal(
    containerApprovalOf(pinned, workload({ images: ['evil/app'], digests: [DIGEST_A], at }))?.approved,
    false,
  );
  assert.equal(
    containerApprovalOf(
      pinned,
      workload({ images: ['evil/app'], digests: [DIGEST_A], at: Date.parse('2026-01-31T12:00:00Z') }),
    )?.approved,
    true,
  );
});
