/**
 * Containment plans per platform, in the playbook's order: isolate, remove, preserve evidence,
 * patch / revoke, watch for recurrence. Commands are filled in for this finding (pids, paths, cron
 * lines, destinations) and quoted so that a hostile path or cron line pasted into a shell stays one
 * inert argument; a value holding control characters gets no command, only a note to do it by hand.
 * Volatile state (the running binary, its memory) is captured in the isolate step, because removal
 * destroys it. Containers (AN0745, `kubernetes` or `docker`) preserve first: the object, its pods,
 * logs and image digests are gone once the workload is removed; so do cloud launches (AN0744, `aws`,
 * `gcp` or `azure`, in cloud-containment.ts). Printed for the analyst; never executed.
 */
import type { Evidence, Finding, PlanStep, ProcessFacts } from '../model/finding.js';
import { clip, inert } from '../util/hostile.js';
import { cloudPlan, cloudPlatformOf } from './cloud-containment.js';
import { byHand, psQuote, safe, shellQuote } from './shell.js';

export { psQuote, shellQuote };

const EVIDENCE_DIR_LINUX = '/root/coalmine-evidence';
const EVIDENCE_DIR_WINDOWS = 'C:\\coalmine-evidence';
/** Programs that are the system's own: never deleted by a plan, whatever ran them. */
const SYSTEM_PATH = /^(?:\/(?:usr\/)?s?bin\/|\/usr\/lib|\/lib|[a-z]:\\windows\\)/i;
const IPV4 = /\b(?:\d{1,3}\.){3}\d{1,3}\b/g;
const MAX_TARGETS = 8;

export type Platform = 'linux' | 'windows' | 'network' | 'kubernetes' | 'docker' | 'aws' | 'gcp' | 'azure' | 'cloud';

export function platformOf(f: Finding): Platform {
  if (f.analytic === 'AN0744') return cloudPlatformOf(f);
  if (f.entity.startsWith('ip:')) return 'network';
  if (f.analytic === 'AN0745') return f.facts.runtime === 'docker' ? 'docker' : 'kubernetes';
  return f.analytic === 'AN0741' ? 'windows' : 'linux';
}

/**
 * An executable path a command may name: safe, and whole and absolute for its platform. A path that
 * is not (`"/tmp/kdevtm` from a log cut inside its quotes, hex auditd wrote that did not decode, a
 * bare name) is never put into a command, whatever the source let through: `rm` of a relative or
 * cut name would hit another file.
 */
function wholePath(value: string | undefined, platform: 'linux' | 'windows'): value is string {
  if (!safe(value)) return false;
  return platform === 'linux' ? value.startsWith('/') : /^(?:[a-z]:\\|\\\\)/i.test(value);
}

function notWholePath(pid: number | undefined): string {
  return `# the path of pid ${pid} is not a whole absolute path (cut or not decoded in the log): find it by hand`;
}

/** The finding's own addresses: its `ip:` entity and a host named by its address. */
function ownAddresses(f: Finding): Set<string> {
  const own = new Set<string>();
  if (f.entity.startsWith('ip:')) own.add(f.entity.slice(3));
  if (/^(?:\d{1,3}\.){3}\d{1,3}$/.test(f.host)) own.add(f.host);
  return own;
}

/**
 * Addresses and names the finding's processes reached, from `facts.destinations` (`name:port (ip)`,
 * `ip:port`). Never the host's own address: a flow read the wrong way round would otherwise make a
 * rule that cuts the host off from itself (`-s X -d X`); `self` lists what was left out.
 */
function destinations(f: Finding): { ips: string[]; names: string[]; self: string[] } {
  const ips = new Set<string>();
  const names = new Set<string>();
  const own = ownAddresses(f);
  const self = new Set<string>();
  for (const d of (f.facts.destinations as string[] | undefined) ?? []) {
    for (const m of d.matchAll(IPV4)) (own.has(m[0]) ? self : ips).add(m[0]);
    const head = d.split(/[\s:(]/, 1)[0];
    if (head && !/^[\d.]+$/.test(head) && /^[a-z0-9.-]{1,253}$/i.test(head)) names.add(head.toLowerCase());
  }
  return { ips: [...ips].slice(0, MAX_TARGETS), names: [...names].slice(0, MAX_TARGETS), self: [...self] };
}

function selfNotes(self: string[]): string[] {
  return self.map((ip) => `# ${ip} is this host's own address, not a destination: not blocked`);
}

/** Processes the plan stops: the primary and every process carrying miner, proxy or resource evidence. */
function culprits(f: Finding): ProcessFacts[] {
  const flagged = new Set(
    f.evidence
      .filter(
        (e) =>
          e.kind === 'miner-process' ||
          e.kind === 'proxyware-process' ||
          e.kind === 'masquerade' ||
          e.kind === 'sustained-cpu' ||
          e.kind === 'sustained-gpu' ||
          e.kind === 'pool-contact',
      )
      .map((e) => e.entity),
  );
  return f.processes
    .filter((p, i) => i === 0 || flagged.has(p.entity))
    .filter((p) => p.pid !== undefined)
    .slice(0, MAX_TARGETS);
}

function persistenceEntries(f: Finding): Evidence[] {
  const seen = new Set<string>();
  return f.evidence.filter((e) => {
    if (!e.persistence) return false;
    const key = `${e.persistence.file}|${e.persistence.line ?? ''}|${e.persistence.entry}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function timeArg(iso: string): string {
  return iso.slice(0, 19).replace('T', ' ');
}

function linuxRemoval(e: Evidence): string[] {
  const p = e.persistence;
  if (!p) return [];
  if (!safe(p.entry) || !safe(p.file)) return [byHand(`the ${p.mechanism} entry in ${p.file}`)];
  const spool = /\/(?:var\/spool\/cron\/crontabs|var\/spool\/cron)\/([a-z_][a-z0-9_.-]{0,31})$/i.exec(p.file);
  const user = p.user ?? spool?.[1];
  if (p.mechanism === 'cron' && spool && user && safe(user))
    return [
      `crontab -u ${shellQuote(user)} -l | grep -vF -- ${shellQuote(p.entry)} | crontab -u ${shellQuote(user)} -`,
    ];
  if (p.mechanism === 'systemd') {
    const unit = p.file.split('/').pop() ?? p.file;
    return [`systemctl disable --now ${shellQuote(unit)}`, `rm -f -- ${shellQuote(p.file)}`, 'systemctl daemon-reload'];
  }
  if (p.line !== undefined)
    return [
      `sed -n '${p.line}p' ${shellQuote(p.file)}   # check it is still: ${p.entry.slice(0, 120)}`,
      `sed -i.coalmine-bak '${p.line}d' ${shellQuote(p.file)}`,
    ];
  return [
    `grep -vF -- ${shellQuote(p.entry)} ${shellQuote(p.file)} > /tmp/coalmine.$$ && cat /tmp/coalmine.$$ > ${shellQuote(p.file)}`,
  ];
}

function linuxPlan(f: Finding): PlanStep[] {
  const { ips, names, self } = destinations(f);
  const procs = culprits(f);
  const dir = EVIDENCE_DIR_LINUX;
  const isolate: string[] = [
    ...ips.map((ip) => `iptables -I OUTPUT -d ${ip} -j DROP`),
    ...selfNotes(self),
    ...names.map((n) => `echo ${shellQuote(`0.0.0.0 ${n}`)} >> /etc/hosts`),
    `mkdir -p ${dir}`,
  ];
  const remove: string[] = [];
  for (const p of procs) {
    isolate.push(`kill -STOP ${p.pid}`);
    isolate.push(`cp /proc/${p.pid}/exe ${dir}/${p.pid}.exe; cat /proc/${p.pid}/maps > ${dir}/${p.pid}.maps`);
    isolate.push(`gcore -o ${dir}/core ${p.pid}   # gdb's gcore: the process memory`);
    // read-only: the miner's matching memory (pools, wallets, config) named, kept and hashed (coalmine inspect)
    isolate.push(`coalmine inspect ${p.pid} --dump ${dir}/inspect-${p.pid}`);
    if (wholePath(p.executable, 'linux')) {
      // the pid may have been reused since the logs were written: kill only if it still runs that file
      remove.push(`[ "$(readlink /proc/${p.pid}/exe)" = ${shellQuote(p.executable)} ] && kill -9 ${p.pid}`);
      if (!SYSTEM_PATH.test(p.executable)) remove.push(`rm -f -- ${shellQuote(p.executable)}`);
    } else if (p.executable && !safe(p.executable)) remove.push(byHand(`the path of pid ${p.pid}`));
    else {
      if (p.executable) remove.push(notWholePath(p.pid));
      remove.push(`kill -9 ${p.pid}   # check first: ps -p ${p.pid} -o pid,args`);
    }
  }
  for (const e of persistenceEntries(f)) remove.push(...linuxRemoval(e));
  const user = procs[0]?.user;
  return [
    {
      phase: 'isolate',
      action: `Cut ${f.host} off from the pools and freeze the culprits, keeping the machine up so memory survives (in a cloud: an isolation security group, not a stop)`,
      commands: isolate,
    },
    { phase: 'remove', action: 'Kill the processes and remove their files and persistence', commands: remove },
    {
      phase: 'preserve',
      action: 'Preserve logs and a disk snapshot for the investigation, and the inputs coalmine read',
      commands: [
        `journalctl --since ${shellQuote(timeArg(f.first_seen))} --until ${shellQuote(timeArg(f.last_seen))} > ${dir}/journal.txt`,
        `tar czf ${dir}/logs.tgz /var/log/audit /var/log/syslog /var/log/auth.log /var/spool/cron /etc/cron* /etc/systemd/system 2>/dev/null`,
        `sha256sum ${dir}/* > ${dir}/SHA256SUMS`,
      ],
    },
    {
      phase: 'patch',
      action: 'Close the way in and revoke what the attacker could use (see question 4 for the exposed service)',
      commands: [
        ...(user && safe(user)
          ? [
              /^\d+$/.test(user)
                ? `passwd -l "$(id -nu ${user})"   # or rotate: the account (uid ${user}) the miner ran as`
                : `passwd -l ${shellQuote(user)}   # or rotate: the account the miner ran as`,
            ]
          : []),
        'ss -tlnp   # which services listen, and which of them the internet reaches',
        ...(wholePath(procs[0]?.executable, 'linux')
          ? [
              `find / -xdev -newer ${shellQuote(procs[0].executable)} -type f 2>/dev/null | head -100   # other files dropped since`,
            ]
          : []),
      ],
    },
    {
      phase: 'watch',
      action: 'Watch for recurrence and check the system binaries are intact',
      commands: [
        'auditctl -w /var/spool/cron -p wa -k coalmine-cron; auditctl -w /etc/ld.so.preload -p wa -k coalmine-preload',
        `coalmine verify --baseline-out ${dir}/persistence.json   # after cleanup: system files against dpkg/rpm, hidden processes, preload; the persistence places kept`,
        `coalmine verify --baseline ${dir}/persistence.json   # daily: anything changed or back since`,
        `coalmine hunt /var/log/audit /var/spool/cron --fail-on low   # daily, with --intel for your feeds`,
      ],
    },
  ];
}

function windowsRemoval(e: Evidence): string[] {
  const p = e.persistence;
  if (!p) return [];
  if (!safe(p.entry) || !safe(p.file)) return [byHand(`the ${p.mechanism} entry ${p.file}`)];
  if (p.mechanism === 'scheduled-task') {
    const name = p.file.split('\\').pop() ?? p.file;
    return [`Unregister-ScheduledTask -TaskName ${psQuote(name)} -Confirm:$false`];
  }
  if (p.mechanism === 'run-key') {
    const cut = p.file.lastIndexOf('\\');
    return cut > 0
      ? [
          `Remove-ItemProperty -Path ${psQuote(`Registry::${p.file.slice(0, cut)}`)} -Name ${psQuote(p.file.slice(cut + 1))}`,
        ]
      : [byHand(`the Run value ${p.file}`)];
  }
  if (p.mechanism === 'service') {
    // the service's key (7045, 4697) or its ImagePath value (a registry write): the name is the key's
    const name =
      p.file
        .replace(/\\ImagePath$/i, '')
        .split('\\')
        .pop() ?? '';
    return name !== ''
      ? [`Stop-Service -Name ${psQuote(name)} -Force`, `sc.exe delete ${psQuote(name)}`]
      : [byHand(`the service ${p.file}`)];
  }
  if (p.mechanism === 'winlogon') {
    // Userinit and Shell must hold Windows' own program: put it back, never delete the value
    const value = p.file.split('\\').pop() ?? '';
    const original = /^userinit$/i.test(value) ? 'C:\\Windows\\system32\\userinit.exe,' : 'explorer.exe';
    const cut = p.file.lastIndexOf('\\');
    return cut > 0 && /^(?:userinit|shell)$/i.test(value)
      ? [
          `Set-ItemProperty -Path ${psQuote(`Registry::${p.file.slice(0, cut)}`)} -Name ${psQuote(value)} -Value ${psQuote(original)}`,
        ]
      : [byHand(`the Winlogon value ${p.file}`)];
  }
  return [`# remove the ${p.mechanism} entry in ${p.file}: ${p.entry.slice(0, 160)}`];
}

function windowsPlan(f: Finding): PlanStep[] {
  const { ips } = destinations(f);
  const procs = culprits(f);
  const dir = EVIDENCE_DIR_WINDOWS;
  const isolate: string[] = [
    ...(ips.length > 0
      ? [
          `New-NetFirewallRule -DisplayName 'coalmine block pools' -Direction Outbound -Action Block -RemoteAddress ${ips.join(',')}`,
        ]
      : []),
    `New-Item -ItemType Directory -Force ${psQuote(dir)}`,
  ];
  const remove: string[] = [];
  for (const p of procs) {
    isolate.push(`procdump.exe -accepteula -ma ${p.pid} ${psQuote(dir)}   # Sysinternals: full memory dump`);
    if (wholePath(p.executable, 'windows')) {
      isolate.push(`Copy-Item -LiteralPath ${psQuote(p.executable)} -Destination ${psQuote(dir)}`);
      remove.push(
        `if ((Get-Process -Id ${p.pid} -ErrorAction SilentlyContinue).Path -eq ${psQuote(p.executable)}) { Stop-Process -Id ${p.pid} -Force }`,
      );
      if (!SYSTEM_PATH.test(p.executable)) remove.push(`Remove-Item -LiteralPath ${psQuote(p.executable)} -Force`);
    } else {
      if (p.executable) remove.push(safe(p.executable) ? notWholePath(p.pid) : byHand(`the path of pid ${p.pid}`));
      remove.push(`Stop-Process -Id ${p.pid} -Force   # check first: Get-Process -Id ${p.pid}`);
    }
  }
  for (const e of persistenceEntries(f)) remove.push(...windowsRemoval(e));
  if (f.evidence.some((e) => e.by === 'windows:defender-exclusion' || /Defender exclusion/i.test(e.explanation)))
    remove.push(
      'Get-MpPreference | Select-Object -ExpandProperty ExclusionPath   # then Remove-MpPreference -ExclusionPath <each one the attacker added>',
    );
  return [
    {
      phase: 'isolate',
      action: `Block ${f.host}'s pool traffic and capture the culprits' memory and binaries before anything is removed (or isolate the host in your EDR)`,
      commands: isolate,
    },
    { phase: 'remove', action: 'Stop the processes and remove their files, tasks and Run values', commands: remove },
    {
      phase: 'preserve',
      action: 'Export the event logs of the incident window',
      commands: [
        `wevtutil epl Security ${psQuote(`${dir}\\Security.evtx`)}`,
        `wevtutil epl Microsoft-Windows-Sysmon/Operational ${psQuote(`${dir}\\Sysmon.evtx`)}`,
        `wevtutil epl Microsoft-Windows-PowerShell/Operational ${psQuote(`${dir}\\PowerShell.evtx`)}`,
      ],
    },
    {
      phase: 'patch',
      action: 'Revoke the account the miner ran as and close the way in',
      commands: [
        ...(procs[0]?.user && safe(procs[0].user)
          ? [`# reset or disable ${procs[0].user}: Disable-LocalUser / Set-ADAccountPassword`]
          : []),
        'Get-NetTCPConnection -State Listen | Sort-Object LocalPort   # exposed services',
      ],
    },
    {
      phase: 'watch',
      action: 'Watch for recurrence and check system files',
      commands: [
        'sfc /scannow',
        'Get-ScheduledTask | Where-Object { $_.Date -gt (Get-Date).AddDays(-7) }',
        'coalmine hunt <exported .evtx files> --fail-on low   # daily',
      ],
    },
  ];
}

function networkPlan(f: Finding): PlanStep[] {
  const { ips, names, self } = destinations(f);
  const address = f.entity.slice(3);
  return [
    {
      phase: 'isolate',
      action: `Block the destinations at the perimeter and find the machine holding ${address} (DHCP leases, ARP tables, cloud network interfaces)`,
      commands: [
        ...ips.map((ip) => `iptables -I FORWARD -s ${shellQuote(address)} -d ${ip} -j DROP   # on the gateway`),
        ...selfNotes(self),
        ...names.map((n) => `# sinkhole ${n} on your resolvers`),
        `arp -an | grep -F -- ${shellQuote(address)}`,
      ],
    },
    {
      phase: 'remove',
      action: `Once the machine is known, follow its platform's plan (hunt its host telemetry with coalmine)`,
      commands: [],
    },
    {
      phase: 'preserve',
      action: 'Keep the captures and flow logs of the window',
      commands: [
        `# keep ${[...new Set(f.evidence.map((e) => e.source.replace(/[:#]\d+$/, '')))].slice(0, 4).join(', ')}`,
      ],
    },
    { phase: 'patch', action: 'Close the exposure found on that machine', commands: [] },
    {
      phase: 'watch',
      action: 'Alert on any host reaching the same destinations',
      commands: [...ips, ...names].map((d) => `# alert on traffic to ${d}`),
    },
  ];
}

export function containmentPlan(f: Finding): PlanStep[] {
  if (f.analytic === 'AN0744') return cloudPlan(f);
  switch (platformOf(f)) {
    case 'windows':
      return windowsPlan(f);
    case 'network':
      return networkPlan(f);
    case 'kubernetes':
      return kubernetesPlan(f);
    case 'docker':
      return dockerPlan(f);
    default:
      return linuxPlan(f);
  }
}

// ——— containers (AN0745) ———

/** A Kubernetes object name (RFC 1123 subdomain): anything else goes into no command. */
const K8S_NAME = /^[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?$/;
const K8S_NAME_MAX = 253;
const CONTAINER_ID = /^[0-9a-f]{12,64}$/;
const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
const IMAGE_DIGEST = /^sha256:[0-9a-f]{64}$/;
const IMAGE_REFERENCE = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,511}$/;
const ADDRESS = /^[0-9a-f:.]{2,45}$/i;
const EVIDENCE_DIR_CLUSTER = 'coalmine-evidence';
const QUARANTINE_LABEL = 'coalmine-quarantine';
/** kubectl's resource name per workload kind; kinds not here get pod commands only. */
const KUBECTL_RESOURCE: Record<string, string> = {
  Deployment: 'deploy',
  StatefulSet: 'statefulset',
  ReplicaSet: 'replicaset',
  DaemonSet: 'daemonset',
  Job: 'job',
  CronJob: 'cronjob',
  Pod: 'pod',
};
const SCALED = new Set(['Deployment', 'StatefulSet', 'ReplicaSet']);
const ANONYMOUS_GROUP = 'system:unauthenticated';

function k8sName(value: unknown): value is string {
  return typeof value === 'string' && value.length <= K8S_NAME_MAX && K8S_NAME.test(value);
}

function factText(f: Finding, key: string): string | undefined {
  const v = f.facts[key];
  return typeof v === 'string' ? v : undefined;
}

function factList(f: Finding, key: string): string[] {
  const v = f.facts[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Why a value goes into no command, with the value shown inert and short. */
function notAName(what: string, value: string): string {
  return `# ${what} "${inert(clip(value, 80))}" is not a valid Kubernetes name ([a-z0-9]([-a-z0-9.]*[a-z0-9])?, at most ${K8S_NAME_MAX} characters): left out of every command; do this by hand`;
}

/** Names a command may carry, at most MAX_TARGETS, and a note for each refused one. */
function validNames(values: string[], what: string, notes: string[]): string[] {
  const ok: string[] = [];
  for (const v of values) {
    if (!k8sName(v)) notes.push(notAName(what, v));
    else if (ok.length < MAX_TARGETS && !ok.includes(v)) ok.push(v);
  }
  if (values.length > MAX_TARGETS)
    notes.push(`# ${values.length - MAX_TARGETS} more ${what}s than shown: repeat for each`);
  return ok;
}

/** The audit log coalmine read for this workload (the file of its first API-write evidence), for the watch step. */
function auditInput(f: Finding): string | undefined {
  const e = f.evidence.find((x) => x.class === 'authorization' && x.by.startsWith('engine:workload-'));
  const file = e?.source.replace(/(?::\d+|#.*)$/, '');
  return file && safe(file) ? file : undefined;
}

function digestsOf(f: Finding): string[] {
  return factList(f, 'image_digests')
    .filter((d) => IMAGE_DIGEST.test(d))
    .slice(0, MAX_TARGETS);
}

/** The identity that created the workload and what revoking it takes. */
function revokeCommands(f: Finding, ns: string | undefined): string[] {
  const creator = factText(f, 'creator');
  const groups = factList(f, 'creator_groups');
  const out: string[] = [];
  const ips = factList(f, 'creator_source_ips').filter((ip) => ADDRESS.test(ip));
  if (creator === 'system:anonymous' || groups.includes(ANONYMOUS_GROUP)) {
    out.push(
      `kubectl get clusterrolebindings,rolebindings -A -o wide | grep -E 'system:(anonymous|unauthenticated)'   # bindings granting anonymous requests anything: delete each`,
      '# on every control-plane node: kube-apiserver --anonymous-auth=false (in /etc/kubernetes/manifests/kube-apiserver.yaml), and kubelets: authentication.anonymous.enabled: false',
    );
  } else if (creator && !safe(creator)) out.push(byHand('the creator'));
  else if (creator?.startsWith('system:serviceaccount:')) {
    const [saNs, saName, ...rest] = creator.slice('system:serviceaccount:'.length).split(':');
    if (rest.length === 0 && k8sName(saNs) && k8sName(saName))
      out.push(
        `kubectl get clusterrolebindings,rolebindings -A -o wide | grep -F -- ${shellQuote(`${saNs}/${saName}`)}   # the bindings that let ${saNs}/${saName} create workloads: delete or narrow them`,
        `kubectl -n ${saNs} delete serviceaccount/${saName}   # invalidates every token issued to it; recreate it without those bindings if a legitimate workload needs it`,
      );
    else out.push(notAName('service account', creator));
  } else if (creator)
    out.push(
      `kubectl get clusterrolebindings,rolebindings -A -o wide | grep -F -- ${shellQuote(creator)}   # the bindings that let it create workloads: delete or narrow them`,
      `# rotate the credentials of ${shellQuote(creator)} where they are issued (OIDC/IAM user, kubeconfig client certificate: a certificate cannot be revoked, remove its bindings)`,
    );
  else
    out.push(
      `# no creator known (no audit record of the create was read): find it in the API server audit log, then revoke its bindings`,
    );
  if (ips.length > 0)
    out.push(
      `# the API server was reached from ${ips.join(', ')}: restrict who can reach its endpoint (firewall, authorized networks)`,
    );
  const sa = factText(f, 'service_account');
  if (sa && ns && k8sName(sa) && creator !== `system:serviceaccount:${ns}:${sa}`)
    out.push(
      `kubectl get clusterrolebindings,rolebindings -A -o wide | grep -F -- ${shellQuote(`${ns}/${sa}`)}   # the pods ran as ${ns}/${sa}: its token was readable inside the container`,
    );
  return out;
}

function kubernetesPlan(f: Finding): PlanStep[] {
  const notes: string[] = [];
  const rawNs = factText(f, 'namespace');
  const ns = k8sName(rawNs) ? rawNs : undefined;
  if (rawNs !== undefined && !ns) notes.push(notAName('namespace', rawNs));
  const kind = factText(f, 'workload_kind') ?? 'Workload';
  const rawName = factText(f, 'workload_name');
  const name = k8sName(rawName) ? rawName : undefined;
  if (rawName !== undefined && !name) notes.push(notAName('workload name', rawName));
  const resource = KUBECTL_RESOURCE[kind];
  const object = ns && name && resource ? `${resource}/${name}` : undefined;
  const pods = validNames(kind === 'Pod' && name ? [name, ...factList(f, 'pods')] : factList(f, 'pods'), 'pod', notes);
  const nodes = validNames(factList(f, 'nodes'), 'node', notes);
  const digests = digestsOf(f);
  const dir = EVIDENCE_DIR_CLUSTER;
  const k = (rest: string) => `kubectl -n ${ns} ${rest}`;
  const file = (what: string) => `${dir}/${ns}.${what}`;

  const preserve: string[] = [...notes, `mkdir -p ${dir}`];
  if (ns) {
    if (object) preserve.push(`${k(`get ${object} -o yaml`)} > ${file(`${resource}.${name}.yaml`)}`);
    preserve.push(`${k('get pods -o yaml')} > ${file('pods.yaml')}`);
    preserve.push(
      `${k(`get pods -o jsonpath='{range .items[*]}{.metadata.name}{"\\t"}{range .status.containerStatuses[*]}{.image}{" "}{.imageID}{" "}{end}{"\\n"}{end}'`)} > ${file('image-digests.txt')}`,
    );
    for (const pod of pods)
      preserve.push(`${k(`logs pod/${pod} --all-containers --timestamps`)} > ${file(`${pod}.log`)}`);
    if (pods.length === 0 && object && kind !== 'CronJob')
      preserve.push(`${k(`logs ${object} --all-containers --timestamps`)} > ${file(`${name}.log`)}`);
    preserve.push(`${k('get events --sort-by=.lastTimestamp -o wide')} > ${file('events.txt')}`);
  }
  if (digests.length > 0) preserve.push(`# image digests coalmine saw: ${digests.join(' ')}`);
  preserve.push(
    `# keep the API server audit log of ${f.first_seen} to ${f.last_seen} and the files coalmine read`,
    `sha256sum ${dir}/* > ${dir}/SHA256SUMS`,
  );

  const isolate: string[] = [];
  if (ns) {
    if (pods.length > 0) isolate.push(k(`label pod ${pods.join(' ')} ${QUARANTINE_LABEL}=AN0745 --overwrite`));
    else
      isolate.push(
        `# no pod names known: label the workload's pods ${QUARANTINE_LABEL}=AN0745 by its selector${object ? ` (${k(`get ${object} -o jsonpath='{.spec.selector.matchLabels}'`)})` : ''}`,
      );
    const manifest = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: QUARANTINE_LABEL, namespace: ns },
      spec: { podSelector: { matchLabels: { [QUARANTINE_LABEL]: 'AN0745' } }, policyTypes: ['Egress'], egress: [] },
    };
    // one line (JSON is YAML): a heredoc's closing line breaks once a terminal or a report indents the plan
    isolate.push(
      `echo ${shellQuote(JSON.stringify(manifest))} | kubectl apply -f -   # deny all egress of the labelled pods (needs a CNI that enforces NetworkPolicy)`,
    );
  }
  for (const node of nodes)
    isolate.push(
      `kubectl cordon ${node}   # no new pods there${kind === 'DaemonSet' ? '; DaemonSet pods tolerate it and leave with the removal below' : ''}`,
    );

  const remove: string[] = [];
  if (ns) {
    if (object && SCALED.has(kind))
      remove.push(
        `${k(`scale ${object} --replicas=0`)}   # keeps the object for the investigation; delete it once preserved`,
      );
    else if (object && kind !== 'Pod') remove.push(k(`delete ${object}`));
    else
      for (const pod of pods) {
        if (kind !== 'Pod')
          remove.push(
            `${k(`get pod/${pod} -o jsonpath='{.metadata.ownerReferences}'`)}   # its owner was not known: remove that instead if there is one`,
          );
        remove.push(k(`delete pod/${pod}`));
      }
    if (remove.length === 0) remove.push(`# neither the ${kind} nor its pods are named: find them by hand`);
  }

  const auditFile = auditInput(f);
  const watch: string[] = [
    `coalmine hunt ${auditFile ? shellQuote(auditFile) : '<the API server audit log>'} --fail-on low   # daily, with the Tetragon/Falco and Prometheus exports beside it`,
  ];
  if (digests.length > 0)
    watch.push(
      `kubectl get pods -A -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}{" "}{.status.containerStatuses[*].imageID}{"\\n"}{end}' | grep -F ${digests.map((d) => `-e ${d}`).join(' ')}   # any pod running the same image; alert or deny it at admission`,
    );
  const where = ns ? `${ns}/${name ?? 'the workload'}` : 'the workload';
  return [
    {
      phase: 'preserve',
      action: `Preserve ${where} first: its object, pods, logs and image digests go with the workload`,
      commands: preserve,
    },
    {
      phase: 'isolate',
      action: `Cut ${where} off the network and keep new pods off its nodes`,
      commands: isolate,
    },
    { phase: 'remove', action: `Remove ${kind} ${where} (after preserving it)`, commands: remove },
    {
      phase: 'patch',
      action: 'Revoke what allowed it: the creator’s credentials and bindings, anonymous access',
      commands: revokeCommands(f, ns),
    },
    {
      phase: 'watch',
      action: 'Watch for recurrence: re-run coalmine on the audit log and alert on the image digest',
      commands: watch,
    },
  ];
}

function dockerPlan(f: Finding): PlanStep[] {
  const notes: string[] = [];
  const ids = factList(f, 'container_ids').filter((id) => CONTAINER_ID.test(id));
  const names = factList(f, 'containers');
  for (const n of names)
    if (!DOCKER_NAME.test(n))
      notes.push(`# container name "${inert(clip(n, 80))}" is not a Docker name: left out of every command`);
  const targets = (ids.length > 0 ? ids : names.filter((n) => DOCKER_NAME.test(n))).slice(0, MAX_TARGETS);
  const images = factList(f, 'images')
    .filter((i) => IMAGE_REFERENCE.test(i))
    .slice(0, MAX_TARGETS);
  const digests = digestsOf(f);
  const dir = EVIDENCE_DIR_LINUX;
  if (targets.length === 0) notes.push('# no container id or name is known: find them with docker ps -a');
  const preserve = [...notes, `mkdir -p ${dir}`];
  const isolate: string[] = [];
  const remove: string[] = [];
  for (const t of targets) {
    preserve.push(
      `docker inspect ${t} > ${dir}/${t}.inspect.json`,
      `docker logs --timestamps ${t} > ${dir}/${t}.log 2>&1`,
      `docker export -o ${dir}/${t}.tar ${t}   # its filesystem, with what was dropped into it`,
      `docker inspect --format '{{.Name}} {{.Config.Image}} {{.Image}}' ${t} >> ${dir}/images.txt`,
    );
    isolate.push(
      `docker pause ${t}   # freezes its processes and keeps their memory`,
      `for n in $(docker inspect --format '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' ${t}); do docker network disconnect -f "$n" ${t}; done`,
    );
    remove.push(`docker update --restart=no ${t}`, `docker stop ${t}`, `docker rm ${t}`);
  }
  if (digests.length > 0) preserve.push(`# image digests coalmine saw: ${digests.join(' ')}`);
  preserve.push(`sha256sum ${dir}/* > ${dir}/SHA256SUMS`);
  for (const image of images) remove.push(`docker image rm ${shellQuote(image)}   # after the containers are gone`);
  const service = factText(f, 'workload_name');
  if (service && !names.includes(service) && safe(service))
    remove.push(`# started as service ${shellQuote(service)} (compose): remove it from its compose file too`);
  return [
    {
      phase: 'preserve',
      action: `Preserve the containers on ${f.host} first: inspect, logs, filesystem, image`,
      commands: preserve,
    },
    { phase: 'isolate', action: 'Freeze the containers and take them off every network', commands: isolate },
    { phase: 'remove', action: 'Stop and remove the containers (not restarted) and their images', commands: remove },
    {
      phase: 'patch',
      action: 'Revoke who could start them: Docker records no creator, so check who reaches the daemon',
      commands: [
        'ls -l /var/run/docker.sock; getent group docker   # every member is root on this host',
        "ss -tlnp | grep -E ':(2375|2376)\\b'   # a Docker API on TCP: without TLS client auth anyone who reaches it starts containers",
      ],
    },
    {
      phase: 'watch',
      action: 'Watch for recurrence: new containers and the same image',
      commands: [
        `coalmine hunt <docker events and docker inspect output> --fail-on low   # daily`,
        ...(digests.length > 0
          ? [
              `docker ps -aq | xargs -r docker inspect --format '{{.Name}} {{.Image}} {{.Config.Image}}' | grep -F ${digests.map((d) => `-e ${d}`).join(' ')}`,
            ]
          : []),
      ],
    },
  ];
}
