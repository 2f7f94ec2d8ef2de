/**
 * The pcap reader against tshark: `node --import tsx bench/pcap.ts [--mb 300] [--seed 1] [--results DIR]`.
 * Writes a seeded synthetic capture (classic pcap, Ethernet, some VLAN-tagged flows) to
 * bench/results/.work/ — TCP sessions carrying HTTP requests with a Host, TLS ClientHellos with an SNI,
 * Stratum logins, then bulk data; UDP DNS queries and answers — and reuses it while its meta sidecar
 * matches. Then, in one run, times our path (the registered `pcap` source reading the file as `hunt`
 * does, and the Stratum classifier on every flow it reports) and one tshark pass extracting flows, DNS,
 * SNI and HTTP Host from the same file, and checks that the two agree on the counts. Without tshark on
 * PATH it says so, skips the comparison and still measures our reader against the generated counts.
 * Results: bench/results/pcap.json and .md (or --results DIR, the capture in DIR/.work).
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Issue } from '../src/model/issue.js';
import type { Signal } from '../src/model/signal.js';
import { expandInputs } from '../src/run/inputs.js';
import { loadBundledIntel } from '../src/signals/intel/store.js';
import { stratum } from '../src/signals/stratum.js';
import { pcap } from '../src/sources/pcap/index.js';
import { DEFAULT_MAX_LINE_BYTES } from '../src/util/lines.js';
import { clientHello, dnsExchange, type PacketSpec, tcpSession, writePcap } from '../test/support/pcap-writer.js';
import { Rng } from './fuzz-rng.js';
import { describeMachine, machine } from './machine.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const DEFAULT_RESULTS = join(HERE, 'results');
const MB = 1024 * 1024;
const GENERATOR_VERSION = 1;
/** Fields of the one tshark pass; `-2` is not needed: every field is per packet. */
const TSHARK_FIELDS = [
  'tcp.stream',
  'tcp.flags.syn',
  'tcp.flags.ack',
  'dns.flags.response',
  'dns.qry.name',
  'tls.handshake.extensions_server_name',
  'http.host',
];
const TSHARK_ARGS = (file: string) => [
  '-r',
  file,
  '-n',
  '-T',
  'fields',
  '-E',
  'separator=/t',
  '-E',
  'occurrence=f',
  ...TSHARK_FIELDS.flatMap((f) => ['-e', f]),
];

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

/** tshark's version line, or undefined when it is not installed (or does not run). */
function tsharkVersion(): string | undefined {
  const r = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  return r.stdout.split('\n')[0] || 'tshark';
}

interface Meta {
  generator: number;
  seed: number;
  targetMb: number;
  bytes: number;
  packets: number;
  tcpFlows: number;
  dnsQueries: number;
  sni: number;
  httpHosts: number;
  stratum: number;
}

const SITES = ['example.com', 'cdn.example.net', 'api.example.org', 'static.example.io', 'news.example.com'];
const POOLS = ['pool.supportxmr.com', 'xmr.2miners.com', 'gulf.moneroocean.stream'];

/** Flows of ~200 KiB each until the target size; one DNS exchange per flow. Deterministic per seed. */
function generate(path: string, seed: number, targetMb: number): Meta {
  const rng = new Rng(seed);
  const meta: Meta = {
    generator: GENERATOR_VERSION,
    seed,
    targetMb,
    bytes: 0,
    packets: 0,
    tcpFlows: 0,
    dnsQueries: 0,
    sni: 0,
    httpHosts: 0,
    stratum: 0,
  };
  const fd = openSync(path, 'w');
  let first = true;
  let t = Date.UTC(2026, 10, 1);
  const bulk = Buffer.alloc(1400);
  try {
    while (meta.bytes < targetMb * MB) {
      const batch: PacketSpec[] = [];
      for (let k = 0; k < 50; k++) {
        const n = meta.tcpFlows++;
        const client = `10.${1 + (n % 200)}.${rng.int(250)}.${1 + rng.int(250)}`;
        const server = `198.51.${rng.int(100)}.${1 + rng.int(250)}`;
        const kind = rng.int(10);
        const exchanges: Array<{ from: 'client' | 'server'; data: string | Buffer }> = [];
        let sport = 443;
        if (kind < 4) {
          const host = rng.pick(SITES);
          exchanges.push({ from: 'client', data: clientHello(`${rng.int(1000)}.${host}`) });
          meta.sni++;
        } else if (kind < 8) {
          sport = 80;
          exchanges.push({
            from: 'client',
            data: `GET /item/${rng.int(1e6)} HTTP/1.1\r\nHost: ${rng.pick(SITES)}\r\nUser-Agent: bench\r\n\r\n`,
          });
          meta.httpHosts++;
        } else if (kind < 9) {
          sport = rng.pick([80, 443, 3333, 14444]);
          exchanges.push({
            from: 'client',
            data: `{"id":1,"jsonrpc":"2.0","method":"login","params":{"login":"4${'A'.repeat(94)}","pass":"x","agent":"XMRig/6.21.0"}}\n`,
          });
          exchanges.push({ from: 'server', data: '{"id":1,"jsonrpc":"2.0","result":{"status":"OK"}}\n' });
          meta.stratum++;
        } else {
          sport = 8443;
          exchanges.push({ from: 'client', data: Buffer.from(`opaque-${rng.int(1e9)}`) });
        }
        for (let i = 0; i < 140; i++) {
          bulk.writeUInt32BE(rng.int(0xffffffff), (i * 4) % 1396);
          exchanges.push({ from: 'server', data: Buffer.from(bulk) });
        }
        const vlan = rng.chance(0.1) ? [100 + rng.int(50)] : undefined;
        batch.push(
          ...tcpSession({ client, server, cport: 20000 + (n % 40000), sport }, t, exchanges, { fin: true, vlan }),
        );
        const name = kind < 9 && kind >= 8 ? rng.pick(POOLS) : `${rng.int(1000)}.${rng.pick(SITES)}`;
        batch.push(...dnsExchange(client, '10.0.0.53', t + 2, n % 20000, name, [server]));
        meta.dnsQueries++;
        t += 1000 + rng.int(500);
      }
      const buf = writePcap(batch);
      const body = first ? buf : buf.subarray(24);
      first = false;
      writeSync(fd, body);
      meta.bytes += body.length;
      meta.packets += batch.length;
    }
  } finally {
    closeSync(fd);
  }
  return meta;
}

interface Counts {
  tcpFlows: number;
  dnsQueries: number;
  sni: number;
  httpHosts: number;
}

async function ours(path: string): Promise<{
  seconds: number;
  counts: Counts;
  events: number;
  stratumSignals: number;
  issues: number;
  peakRssMiB: number;
}> {
  const intel = loadBundledIntel();
  const issues: Issue[] = [];
  const [file] = await expandInputs([path], 'bench', (i) => issues.push(i));
  const counts: Counts = { tcpFlows: 0, dnsQueries: 0, sni: 0, httpHosts: 0 };
  let events = 0;
  let stratumSignals = 0;
  let issueCount = issues.length;
  const out: Signal[] = [];
  const started = performance.now();
  for await (const batch of pcap.read(file.input, { maxLineBytes: DEFAULT_MAX_LINE_BYTES, maxPendingRecords: 4096 })) {
    issueCount += batch.issues.length;
    for (const e of batch.events) {
      events++;
      if (e.event.action === 'dns-query') {
        if (e.dns?.question?.name) counts.dnsQueries++;
        continue;
      }
      if (e.event.action !== 'connect') continue;
      // a Stratum session's report (stratum-session.ts) is not a flow: tshark has no row for it
      if (e.event.dataset === 'pcap.stratum') {
        out.length = 0;
        stratum.classify(e, { intel }, out);
        stratumSignals += out.length;
        continue;
      }
      if (e.network?.transport === 'tcp') counts.tcpFlows++;
      if (e.tls?.client?.server_name) counts.sni++;
      if (e.http?.request?.host) counts.httpHosts++;
      out.length = 0;
      stratum.classify(e, { intel }, out);
      stratumSignals += out.length;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    seconds,
    counts,
    events,
    stratumSignals,
    issues: issueCount,
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

/** One tshark pass under /usr/bin/time -v (for its peak RSS), its lines counted as they stream. */
function tshark(
  path: string,
  version: string,
): Promise<{ seconds: number; counts: Counts; peakRssMiB: number | null; version: string }> {
  const timed = existsSync('/usr/bin/time');
  const cmd = timed ? '/usr/bin/time' : 'tshark';
  const args = timed ? ['-v', 'tshark', ...TSHARK_ARGS(path)] : TSHARK_ARGS(path);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const streams = new Set<string>();
    const counts: Counts = { tcpFlows: 0, dnsQueries: 0, sni: 0, httpHosts: 0 };
    let rest = '';
    let stderr = '';
    const onLine = (line: string) => {
      const [stream, syn, ack, response, qname, sni, host] = line.split('\t');
      // a flow as we count it: a TCP stream whose client SYN was seen
      if (stream && syn === '1' && ack === '0' && !streams.has(stream)) {
        streams.add(stream);
        counts.tcpFlows++;
      }
      if (response === '0' && qname) counts.dnsQueries++;
      if (sni) counts.sni++;
      if (host) counts.httpHosts++;
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      const lines = (rest + d).split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) onLine(l);
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      if (stderr.length > 1e6) stderr = stderr.slice(-1e5);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (rest) onLine(rest);
      if (code !== 0) return reject(new Error(`tshark exited ${code}: ${stderr.slice(-500)}`));
      const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      resolve({
        seconds: (performance.now() - started) / 1000,
        counts,
        peakRssMiB: rss ? Math.round(Number(rss[1]) / 1024) : null,
        version,
      });
    });
  });
}

async function main(args: string[]): Promise<void> {
  const targetMb = flag(args, '--mb', 300);
  const seed = flag(args, '--seed', 1);
  const resultsAt = args.indexOf('--results');
  const RESULTS = resultsAt >= 0 && args[resultsAt + 1] ? args[resultsAt + 1] : DEFAULT_RESULTS;
  const WORK = join(RESULTS, '.work');
  if (!(targetMb > 0) || !Number.isInteger(seed)) {
    console.error('usage: bench/pcap.ts [--mb N] [--seed S] [--results DIR]');
    process.exit(2);
  }
  const version = tsharkVersion();
  if (!version)
    console.error(
      'pcap bench: tshark is not installed (not on PATH): the comparison is skipped; our reader is still measured',
    );
  mkdirSync(WORK, { recursive: true });
  const file = join(WORK, `synthetic-${seed}-${targetMb}mb.pcap`);
  const metaFile = `${file}.meta.json`;
  let meta: Meta | undefined;
  try {
    const m = JSON.parse(readFileSync(metaFile, 'utf8')) as Meta;
    if (
      m.generator === GENERATOR_VERSION &&
      m.seed === seed &&
      m.targetMb === targetMb &&
      statSync(file).size === m.bytes
    )
      meta = m;
  } catch {
    meta = undefined;
  }
  const generatedNow = !meta;
  if (!meta) {
    console.error(`pcap bench: writing a ${targetMb} MB synthetic capture (seed ${seed}) …`);
    const t = performance.now();
    meta = generate(file, seed, targetMb);
    writeFileSync(metaFile, `${JSON.stringify(meta, null, 2)}\n`);
    console.error(`pcap bench: written in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  const mb = meta.bytes / MB;
  console.error(`pcap bench: ${mb.toFixed(0)} MB, ${meta.packets} packets, ${meta.tcpFlows} TCP flows`);
  const a = await ours(file);
  const reused = generatedNow ? 'generated in this run (its memory is in our peak RSS)' : 'reused from an earlier run';
  const b = version ? await tshark(file, version) : undefined;
  const keys: Array<keyof Counts> = ['tcpFlows', 'dnsQueries', 'sni', 'httpHosts'];
  const agreement = keys.map((k) => ({
    count: k,
    generated: meta[k],
    ours: a.counts[k],
    tshark: b?.counts[k] ?? null,
  }));
  const agree = agreement.every((x) => x.ours === x.generated && (b === undefined || x.ours === x.tshark));
  const result = {
    date: new Date().toISOString(),
    machine: machine(),
    capture: meta,
    ours: {
      seconds: Number(a.seconds.toFixed(2)),
      mbPerSecond: Number((mb / a.seconds).toFixed(1)),
      packetsPerSecond: Math.round(meta.packets / a.seconds),
      events: a.events,
      stratumSignals: a.stratumSignals,
      issues: a.issues,
      peakRssMiB: a.peakRssMiB,
    },
    // null: tshark was not installed, nothing was compared
    tshark: b
      ? {
          version: b.version,
          command: `tshark ${TSHARK_ARGS('FILE').join(' ')}`,
          seconds: Number(b.seconds.toFixed(2)),
          mbPerSecond: Number((mb / b.seconds).toFixed(1)),
          peakRssMiB: b.peakRssMiB,
        }
      : null,
    ratioOursToTshark: b ? Number((b.seconds / a.seconds).toFixed(2)) : null,
    agreement,
    agree,
  };
  writeFileSync(join(RESULTS, 'pcap.json'), `${JSON.stringify(result, null, 2)}\n`);
  const md = [
    '# pcap reader vs tshark',
    '',
    `${result.date}, ${b ? b.version.replace(/\.$/, '') : 'tshark not installed'}. ${describeMachine(result.machine)}`,
    `Synthetic capture (${reused}): ${mb.toFixed(0)} MB, ${meta.packets} packets, ${meta.tcpFlows} TCP flows (HTTP, TLS, Stratum, opaque; 10% VLAN-tagged), ${meta.dnsQueries} DNS exchanges; seed ${seed}.`,
    '',
    '| | seconds | MB/s | peak RSS MiB |',
    '|---|---|---|---|',
    `| ours: pcap source + Stratum classifier | ${result.ours.seconds} | ${result.ours.mbPerSecond} | ${a.peakRssMiB} (whole bench process) |`,
    ...(b && result.tshark
      ? [
          `| tshark, one pass (flows + DNS + SNI + HTTP Host) | ${result.tshark.seconds} | ${result.tshark.mbPerSecond} | ${b.peakRssMiB ?? 'n/a'} (/usr/bin/time -v) |`,
          '',
          `Ours is **${result.ratioOursToTshark}×** tshark's speed (tshark time ÷ our time, same file, same run).`,
          '',
          `tshark command: \`${result.tshark.command}\``,
        ]
      : ['', 'tshark is not installed: no comparison in this run; our counts are checked against the generated ones.']),
    '',
    '| count | generated | ours | tshark |',
    '|---|---|---|---|',
    ...agreement.map((x) => `| ${x.count} | ${x.generated} | ${x.ours} | ${x.tshark ?? 'not run'} |`),
    '',
    agree ? 'All counts agree.' : 'Counts differ: see the table (a difference is a reader bug until explained).',
    `Our events: ${a.events} (one per flow, one per DNS exchange), Stratum signals: ${a.stratumSignals} on the ${meta.stratum} generated Stratum flows, issues: ${a.issues}.`,
    '',
  ].join('\n');
  writeFileSync(join(RESULTS, 'pcap.md'), md);
  process.stdout.write(md);
}

await main(process.argv.slice(2));
