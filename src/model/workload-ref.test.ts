import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CoalEvent } from './event.js';
import { ownerOfControllerName, ownerOfPodName, workloadRefOf } from './workload-ref.js';

function event(fields: Partial<CoalEvent>): CoalEvent {
  return {
    '@timestamp': '2026-12-01T10:00:00Z',
    event: { kind: 'event', category: [], action: 'exec', dataset: 'test' },
    original: {},
    coalmine: { ts: 0, format: 'test', ref: { file: 't', line: 1 } },
    ...fields,
  };
}

test('pod names trace back to the controller that generated them', () => {
  assert.deepEqual(ownerOfPodName('web-7d9f8c6b5-x2k4q'), { kind: 'Deployment', name: 'web' });
  assert.deepEqual(ownerOfPodName('node-exporter-x7k2p'), { name: 'node-exporter' });
  assert.deepEqual(ownerOfPodName('backup-28391234-q5wlm'), { kind: 'CronJob', name: 'backup' });
  assert.deepEqual(ownerOfPodName('etl-0'), { kind: 'StatefulSet', name: 'etl' });
  // vowels and 0/1/3 never appear in generated suffixes: a name like this is the pod itself
  assert.deepEqual(ownerOfPodName('my-app-hello'), { kind: 'Pod', name: 'my-app-hello' });
  assert.equal(ownerOfPodName('x'.repeat(5000)).name.length, 253);
});

test('a ReplicaSet is its Deployment (by pod-template-hash when known), a Job its CronJob', () => {
  assert.deepEqual(ownerOfControllerName('ReplicaSet', 'api-5c7f9d8b6', '5c7f9d8b6'), {
    kind: 'Deployment',
    name: 'api',
  });
  assert.deepEqual(ownerOfControllerName('ReplicaSet', 'api-5c7f9d8b6'), { kind: 'Deployment', name: 'api' });
  assert.deepEqual(ownerOfControllerName('Job', 'nightly-28391234'), { kind: 'CronJob', name: 'nightly' });
  assert.deepEqual(ownerOfControllerName('DaemonSet', 'kube-proxy'), { kind: 'DaemonSet', name: 'kube-proxy' });
});

test('audit requests, in-pod processes and Docker containers each name their workload', () => {
  const audit = workloadRefOf(
    event({
      coalmine: {
        ts: 0,
        format: 'k8s-audit',
        ref: { file: 'a', line: 1 },
        workload: {
          verb: 'update',
          kind: 'ReplicaSet',
          name: 'api-5c7f9d8b6',
          namespace: 'shop',
          owner: { kind: 'Deployment', name: 'api' },
        },
      },
    }),
  );
  assert.equal(audit?.name, 'api');
  assert.equal(audit?.kind, 'Deployment');
  const rbac = workloadRefOf(
    event({
      coalmine: {
        ts: 0,
        format: 'k8s-audit',
        ref: { file: 'a', line: 1 },
        workload: { verb: 'create', kind: 'ClusterRoleBinding', name: 'x', namespace: 'default' },
      },
    }),
  );
  assert.equal(rbac, undefined, 'RBAC objects are not workloads');
  const exec = workloadRefOf(
    event({
      coalmine: {
        ts: 0,
        format: 'k8s-audit',
        ref: { file: 'a', line: 1 },
        workload: { verb: 'exec', kind: 'Pod', name: 'web-7d9f8c6b5-x2k4q', namespace: 'shop' },
      },
    }),
  );
  assert.deepEqual([exec?.name, exec?.pod, exec?.guessed], ['web', 'web-7d9f8c6b5-x2k4q', true]);
  const tetragon = workloadRefOf(
    event({
      container: { id: 'ab'.repeat(32) },
      orchestrator: {
        namespace: 'default',
        resource: { type: 'pod', name: 'ne-x7k2p', parent: { type: 'DaemonSet', name: 'node-exporter' } },
      },
    }),
  );
  assert.deepEqual([tetragon?.name, tetragon?.kind, tetragon?.guessed], ['node-exporter', 'DaemonSet', false]);
  const docker = workloadRefOf(event({ container: { id: 'cd'.repeat(32), name: '/festive_turing' } }));
  assert.deepEqual([docker?.namespace, docker?.name, docker?.runtime], ['docker', 'festive_turing', 'docker']);
  assert.equal(workloadRefOf(event({ process: { pid: 1 } })), undefined);
});
