/**
 * Containment plans per platform, in the playbook's order: isolate, remove, preserve evidence,
 * patch / revoke, watch for recurrence. Commands are filled in for this finding (pids, paths, cron
 * lines, destinations) and quoted so that a hostile path or cron line pasted into a shell stays one
 * inert argument; a value holding control characters gets no command, only a note to do it by hand.
 * Volatile state (the running binary, its memory) is captured in the isolate step, because removal
 * destroys it. Printed for the analyst; never executed.
 */
import type { Evidence, Finding, PlanStep, ProcessFacts } from '../model/finding.js';

const EVIDENCE_DIR_LINUX = '/root/coalmine-evidence';
const EVIDENCE_DIR_WINDOWS = 'C:\\coalmine-evidence';
/** Programs that are the system's own: never deleted by a plan, whatever ran them. */
const SYSTEM_PATH = /^(?:\/(?:usr\/)?s?bin\/|\/usr\/lib|\/lib|[a-z]:\\windows\\)/i;
const CONTROL = /[\u0000-\u001f\u007f]/;
const IPV4 = /\b(?:\d{1,3}\.){3}\d{1,3}\b/g;
const MAX_TARGETS = 8;

export type Platform = 'linux' | 'windows' | 'network';

export function platformOf(f: Finding): Platform {
  if (f.entity.startsWith('ip:')) return 'network';
  return f.analytic === 'AN0741' ? 'windows' : 'linux';
}

/** POSIX shell single quotes: nothing inside is expanded. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** PowerShell single quotes: only a doubled quote is special. */
export function psQuote(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function safe(value: string | undefined): value is string {
  return value !== undefined && value.length > 0 && value.length <= 4096 && !CONTROL.test(value);
}

function byHand(what: string): string {
  return `# ${what} holds control characters: do this step by hand`;
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
        'debsums -c 2>/dev/null || rpm -Va',
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
  const platform = platformOf(f);
  return platform === 'windows' ? windowsPlan(f) : platform === 'network' ? networkPlan(f) : linuxPlan(f);
}
