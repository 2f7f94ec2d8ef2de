import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type PacketSpec, tcpSession, writePcap } from '../../../test/support/pcap-writer.js';
import {
  bitcoinSession,
  ethereumGetworkSession,
  mergeCaptures,
  moneroSession,
  START_MS,
} from '../../../test/support/stratum-captures.js';
import type { CoalEvent } from '../../model/event.js';
import type { StratumSession } from '../../model/shares.js';
import { memoryInput, readAll } from '../contract.js';
import { SESSION_IDLE_MS } from './flows.js';
import { pcap } from './index.js';
import {
  basicUser,
  mayBeStratum,
  REPORT_EVERY_MS,
  ShareSessions,
  type StratumStream,
  workerInPath,
} from './stratum-session.js';

const E = { client: '10.0.0.5', server: '198.51.100.7', cport: 40000, sport: 3333 };

async function reports(buf: Buffer): Promise<{ events: CoalEvent[]; sessions: StratumSession[]; issues: string[] }> {
  const r = await readAll(pcap, memoryInput('mem.pcap', buf));
  const events = r.events.filter((e) => e.coalmine.flow?.stratum !== undefined);
  return {
    events,
    sessions: events.map((e) => e.coalmine.flow?.stratum as StratumSession),
    issues: r.issues.map((i) => `${i.code}: ${i.reason}`),
  };
}

/** A stream fed by hand: direction 0 the client, 1 the pool. */
function stream(): { sessions: ShareSessions; s: StratumStream; at: (ms: number) => void } {
  const sessions = new ShareSessions();
  const s = sessions.open(
    { client: { ip: '10.0.0.5', port: 1 }, server: { ip: '192.0.2.1', port: 3333 } },
    Buffer.from('{'),
    0,
    1,
  );
  assert.ok(s);
  return { sessions, s, at: (ms) => s.at(ms, 1) };
}

test('an XMRig session is read whole: every share, the one rejected, the job target, RandomX from the job', async () => {
  const g = moneroSession();
  const { sessions, events, issues } = await reports(g.pcap);
  assert.deepEqual(issues, []);
  const last = sessions[sessions.length - 1];
  assert.equal(last.final, true);
  assert.equal(sessions.filter((s) => s.final).length, 1);
  assert.equal(last.dialect, 'monero');
  assert.equal(last.family, 'randomx');
  assert.equal(last.familyBasis, 'job algo rx/0');
  assert.equal(last.accepted, g.truth.accepted);
  assert.equal(last.rejected, g.truth.rejected);
  assert.equal(last.submitted, g.truth.accepted + g.truth.rejected);
  assert.match(last.agent ?? '', /^XMRig\/6\.21\.0/);
  assert.match(last.worker ?? '', /^48edfHu7/);
  assert.ok((last.worker ?? '').length <= 65, 'the wallet is clipped to 64 characters');
  // 2^32 / round(2^32 / 120,000): the target's own difficulty
  assert.ok(Math.abs(last.difficulties[0].hashesPerShare - 120_000) < 5, JSON.stringify(last.difficulties));
  assert.ok(Math.abs(last.miningMs / 1000 - g.truth.seconds) < 1, String(last.miningMs));
  // the report is a connect of type info, at the flow's addresses, citing a packet of the capture
  const e = events[events.length - 1];
  assert.equal(e.event.action, 'connect');
  assert.deepEqual(e.event.type, ['connection', 'info']);
  assert.deepEqual([e.source?.ip, e.destination?.ip, e.destination?.port], [g.client, g.server, 3333]);
  assert.match(e.coalmine.ref.record ?? '', /^\d+$/);
});

test('a long session reports progress every 10 minutes of capture time while shares come, then once finally', async () => {
  const g = moneroSession({ minutes: 35 });
  const { sessions } = await reports(g.pcap);
  const progress = sessions.filter((s) => !s.final);
  assert.equal(progress.length, 3, JSON.stringify(sessions.map((s) => [s.final, s.accepted])));
  // cumulative, never going back
  for (let i = 1; i < sessions.length; i++) assert.ok(sessions[i].accepted >= sessions[i - 1].accepted);
  assert.ok(REPORT_EVERY_MS === 600_000);
});

test('Bitcoin-style set_difficulty weighs the time each difficulty was in force; shares sharing one id pair in order', async () => {
  const g = bitcoinSession();
  const { sessions } = await reports(g.pcap);
  const last = sessions[sessions.length - 1];
  assert.equal(last.dialect, 'v1');
  assert.equal(last.family, 'sha256d');
  // cgminer mines SHA-256d only: its agent says the family
  assert.equal(last.familyBasis, 'agent cgminer/4.12.1');
  assert.equal(last.accepted, g.truth.accepted);
  assert.deepEqual(
    last.difficulties.map((d) => d.hashesPerShare),
    [16 * 2 ** 32, 32 * 2 ** 32],
  );
  // exposure = half the time at 16 × 2^32 hashes a share plus half at 32 × 2^32
  const half = g.truth.seconds / 2;
  const expected = half / (16 * 2 ** 32) + half / (32 * 2 ** 32);
  assert.ok(Math.abs(last.exposure / expected - 1) < 0.001, `${last.exposure} vs ${expected}`);
  assert.equal(last.worker, 'bc1qworker.rig7');
  assert.equal(last.agent, 'cgminer/4.12.1');
});

test('Ethereum getwork over HTTP: the boundary of each work package, submits answered in request order', async () => {
  const g = ethereumGetworkSession();
  const { sessions } = await reports(g.pcap);
  const last = sessions[sessions.length - 1];
  assert.equal(last.dialect, 'getwork');
  assert.equal(last.family, 'ethash');
  assert.equal(last.accepted, g.truth.accepted);
  assert.equal(last.submitted, g.truth.accepted);
  assert.ok(Math.abs(last.difficulties[0].hashesPerShare / 4e9 - 1) < 1e-9);
});

test('a login with jobs and no shares is a session of no shares; a plain web POST is none', async () => {
  const { sessions } = await reports(moneroSession({ loginOnly: true }).pcap);
  assert.equal(sessions.length, 1);
  assert.deepEqual([sessions[0].accepted, sessions[0].submitted, sessions[0].final], [0, 0, true]);
  assert.ok(sessions[0].exposure > 0, 'the time with a job in hand is still counted: it bounds the rate');
  const web = tcpSession({ ...E, sport: 8080 }, START_MS, [
    {
      from: 'client',
      data: 'POST /api/login HTTP/1.1\r\nHost: app\r\nContent-Length: 38\r\n\r\n{"method":"login","params":{"a":"b"}}\n',
    },
    { from: 'server', data: 'HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{"ok":true}\n' },
  ]);
  assert.deepEqual((await reports(writePcap(web))).sessions, []);
});

test('a miner reconnecting within a minute continues its session; the next day it is a new one', async () => {
  const a = moneroSession({ minutes: 12, seed: 1 });
  const b = moneroSession({ minutes: 12, seed: 2 });
  // the second connection: another client port, 30 s after the first closed
  const shift = (p: PacketSpec[], ms: number, port: number): PacketSpec[] =>
    p.map((x) => ({
      ...x,
      tsMs: x.tsMs + ms,
      sport: x.sport === 50_412 ? port : x.sport,
      dport: x.dport === 50_412 ? port : x.dport,
    }));
  const firstEnd = Math.max(...a.packets.map((p) => p.tsMs));
  const gap = firstEnd - START_MS + 30_000;
  const joined = writePcap([...a.packets, ...shift(b.packets, gap, 50_999)]);
  const { sessions } = await reports(joined);
  const finals = sessions.filter((s) => s.final);
  assert.equal(finals.length, 1);
  assert.equal(finals[0].connections, 2);
  assert.equal(finals[0].accepted, a.truth.accepted + b.truth.accepted);
  const apart = writePcap([...a.packets, ...shift(b.packets, 86_400_000, 50_999)]);
  assert.equal((await reports(apart)).sessions.filter((s) => s.final).length, 2);
});

test("a slow miner's connection, silent for minutes between jobs and shares, is one session whose silence is mining time", async () => {
  // a share every ~50 s, a job every 5 minutes: gaps past a plain flow's 2-minute idle time
  const g = moneroSession({ minutes: 60, hashrate: 400, difficulty: 20_000, jobEveryS: 300, seed: 5 });
  const finals = (await reports(g.pcap)).sessions.filter((s) => s.final);
  assert.equal(finals.length, 1);
  const [s] = finals;
  assert.deepEqual([s.connections, s.accepted, s.rejected], [1, g.truth.accepted, g.truth.rejected]);
  assert.ok(Math.abs(s.miningMs / 1000 - g.truth.seconds) < 1, String(s.miningMs));
  assert.ok(Math.abs(s.exposure / (g.truth.seconds / 20_000) - 1) < 0.001, String(s.exposure));
  assert.ok(SESSION_IDLE_MS >= 10 * 60_000);
});

test('two miners behind one address at one pool are two sessions, each weighed by its own difficulty', async () => {
  const a = moneroSession({ clientPort: 50_001, difficulty: 10_000, hashrate: 1000, seed: 3 });
  const b = moneroSession({ clientPort: 50_002, difficulty: 200_000, hashrate: 6000, seed: 4 });
  const finals = (await reports(mergeCaptures([a, b]))).sessions.filter((s) => s.final);
  const byDifficulty = (d: number) => finals.find((s) => Math.abs(s.difficulties[0].hashesPerShare / d - 1) < 0.001);
  for (const [g, d] of [
    [a, 10_000],
    [b, 200_000],
  ] as const) {
    const s = byDifficulty(d);
    assert.ok(s, JSON.stringify(finals.map((x) => x.difficulties)));
    assert.deepEqual([s.connections, s.accepted, s.difficulties.length], [1, g.truth.accepted, 1]);
    // the whole session at its own difficulty, not the other miner's
    assert.ok(Math.abs(s.exposure / (g.truth.seconds / d) - 1) < 0.001, `${s.exposure} at ${d}`);
  }
  assert.equal(finals.length, 2);
});

test('getwork without keep-alive: a connection per request is one session, the miner hashing between them', async () => {
  const g = ethereumGetworkSession({ connectionPerRequest: true });
  const finals = (await reports(g.pcap)).sessions.filter((s) => s.final);
  assert.equal(finals.length, 1);
  const [s] = finals;
  assert.equal(s.dialect, 'getwork');
  assert.equal(s.accepted, g.truth.accepted);
  assert.ok(s.connections > 100, String(s.connections));
  // mining time is the session's, first work to the last connection's end, not the few milliseconds each lasts
  const seconds = (Math.max(...g.packets.map((p) => p.tsMs)) - (START_MS + 50)) / 1000;
  assert.ok(seconds > g.truth.seconds - 60, String(seconds));
  assert.ok(Math.abs(s.miningMs / 1000 - seconds) < 0.1, `${s.miningMs} vs ${seconds}`);
  assert.ok(Math.abs(s.exposure / (seconds / 4e9) - 1) < 0.001, String(s.exposure));
  assert.equal(s.worker, '10@0x7a250d5630b4cf539739df2c5dacb4c659f2488d@rig1');
});

test('the family: the job names it, else the login, else a single-algorithm miner, else the shape of the work', () => {
  const family = (lines: Array<[0 | 1, object]>) => {
    const { sessions, s, at } = stream();
    at(1);
    for (const [dir, m] of lines) s.data(dir, Buffer.from(`${JSON.stringify(m)}\n`));
    s.end(2);
    const [r] = sessions.finish();
    return [r.session.family, r.session.familyBasis];
  };
  const target = { id: null, method: 'mining.set_target', params: [`0000${'f'.repeat(60)}`] };
  // kawpowminer sets its share target with mining.set_target as Zcash pools do: its agent decides
  assert.deepEqual(
    family([
      [0, { id: 1, method: 'mining.subscribe', params: ['kawpowminer/1.2.4'] }],
      [1, target],
    ]),
    ['kawpow', 'agent kawpowminer/1.2.4'],
  );
  assert.deepEqual(
    family([
      [0, { id: 1, method: 'mining.subscribe', params: ['miner/1.0'] }],
      [1, target],
    ]),
    ['equihash', 'mining.set_target (Zcash Stratum, ZIP 301)'],
  );
  // an unknown agent with set_difficulty: Bitcoin-style, said to be assumed
  const [v1, basis] = family([
    [0, { id: 1, method: 'mining.subscribe', params: ['minerd/2.5'] }],
    [1, { id: null, method: 'mining.set_difficulty', params: [8] }],
  ]);
  assert.equal(v1, 'sha256d');
  assert.match(String(basis), /^assumed: /);
  // XMRig mines many algorithms: its login's one algo, then the job's, decide
  const login = { id: 1, method: 'login', params: { login: 'w', agent: 'XMRig/6.21.0', algo: ['cn/r'] } };
  assert.deepEqual(family([[0, login]]), ['cryptonight', 'login algo cn/r']);
  assert.deepEqual(
    family([
      [0, login],
      [1, { id: 1, result: { job: { blob: 'ab', job_id: '1', target: 'ffff0000', algo: 'rx/0' } } }],
    ]),
    ['randomx', 'job algo rx/0'],
  );
});

test("HTTP getwork's worker: the URL's miner= or wallet path, the Basic user (never its password), clipped", () => {
  assert.equal(workerInPath('/?miner=30@0x4b99@Rig HTTP/1.1'), '30@0x4b99@Rig');
  const wallet = `0x${'ab'.repeat(20)}`;
  assert.equal(workerInPath(`/${wallet}/rig7 HTTP/1.1`), `${wallet}/rig7`);
  assert.equal(workerInPath(`/api/${wallet} HTTP/1.1`), wallet);
  assert.equal(workerInPath('/ HTTP/1.1'), undefined);
  assert.equal((workerInPath(`/?miner=${'x'.repeat(5000)}`) ?? '').length, 65);
  assert.equal(basicUser(`Basic ${Buffer.from('worker.1:secret').toString('base64')}`), 'worker.1');
  assert.equal(basicUser('Bearer abc'), undefined);
  assert.equal(basicUser(`Basic ${'A'.repeat(100_000)}`), undefined);
});

test('a message cut across packets is joined, wherever the cut falls', () => {
  const text = `${JSON.stringify({ id: 7, method: 'mining.submit', params: ['w', 'j', '0', '0', '0'] })}\n${JSON.stringify({ id: 7, result: true, error: null })}\n`;
  for (const cut of [1, 5, 20, text.length - 2]) {
    const { sessions, s, at } = stream();
    at(1000);
    s.data(0, Buffer.from(`${JSON.stringify({ id: null, method: 'mining.set_difficulty', params: [2] })}\n`));
    at(61_000);
    s.data(0, Buffer.from(text.slice(0, cut)));
    s.data(0, Buffer.from(text.slice(cut)));
    s.end(62_000);
    const [r] = sessions.finish();
    assert.deepEqual([r.session.submitted, r.session.accepted], [1, 1], `cut at ${cut}`);
  }
});

test('hostile input: an endless line, binary, deep JSON and 10,000 unanswered ids stay bounded and never throw', () => {
  const { sessions, s, at } = stream();
  at(1);
  s.data(0, Buffer.from('{"id":1,"method":"mining.subscribe","params":["a"]}\n'));
  // a 1 MiB line is skipped to its newline; the line after it is read
  s.data(1, Buffer.alloc(1024 * 1024, 0x41));
  s.data(1, Buffer.from('\n{"id":null,"method":"mining.set_difficulty","params":[1]}\n'));
  s.data(1, Buffer.from(`${'['.repeat(5000)}\n{"id":{"x":1},"result":true}\n`));
  s.data(0, Buffer.from(`{${'"a":1,'.repeat(10)}"method":"mining.submit","params":${'['.repeat(100)}]}\n`));
  for (let i = 0; i < 10_000; i++) s.data(0, Buffer.from(`{"id":${i},"method":"mining.submit","params":["w"]}\n`));
  for (let i = 0; i < 10_000; i++) s.data(1, Buffer.from(`{"id":${i},"result":true}\n`));
  s.data(
    1,
    Buffer.from(
      '{"id":1,"method":"mining.set_difficulty","params":[1e308]}\n{"id":1,"method":"mining.set_difficulty","params":[-5]}\n',
    ),
  );
  s.end(2);
  const [r] = sessions.finish();
  assert.equal(r.session.submitted, 10_000);
  // only the first 256 distinct ids were held for their answer
  assert.equal(r.session.accepted, 256);
  assert.deepEqual(
    r.session.difficulties.map((d) => d.hashesPerShare),
    [2 ** 32],
  );
});

test('a JSON flow that never speaks mining is given up after 32 messages and reports nothing', () => {
  const { sessions, s, at } = stream();
  at(1);
  for (let i = 0; i < 40; i++) s.data(0, Buffer.from(`{"id":${i},"method":"getBalance","params":[]}\n`));
  assert.equal(s.isActive, false);
  s.data(0, Buffer.from('{"id":1,"method":"mining.subscribe","params":["late"]}\n'));
  s.end(2);
  assert.deepEqual(sessions.finish(), []);
});

test('the first payload decides: JSON or an HTTP POST may be Stratum, TLS and binary are not', () => {
  assert.equal(mayBeStratum(Buffer.from('  {"id":1}')), true);
  assert.equal(mayBeStratum(Buffer.from('POST / HTTP/1.1\r\n')), true);
  assert.equal(mayBeStratum(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00])), false);
  assert.equal(mayBeStratum(Buffer.from('GET / HTTP/1.1\r\n')), false);
  assert.equal(mayBeStratum(Buffer.from([0xf9, 0xbe, 0xb4, 0xd9])), false);
});

test('a session of 24 hours keeps at most 64 buckets, each wider, with every share counted', () => {
  const { sessions, s, at } = stream();
  at(0);
  s.data(1, Buffer.from('{"id":null,"method":"mining.set_difficulty","params":[1]}\n'));
  for (let m = 1; m <= 24 * 60; m++) {
    at(m * 60_000);
    s.data(0, Buffer.from(`{"id":${m},"method":"mining.submit","params":["w"]}\n`));
    s.data(1, Buffer.from(`{"id":${m},"result":true}\n`));
  }
  s.end(24 * 3_600_000);
  const [r] = sessions.finish();
  assert.ok(r.session.buckets.length <= 64 && r.session.buckets.length >= 32, String(r.session.buckets.length));
  assert.equal(
    r.session.buckets.reduce((n, b) => n + b.accepted, 0),
    24 * 60,
  );
  const exposure = r.session.buckets.reduce((n, b) => n + b.exposure, 0);
  assert.ok(Math.abs(exposure / r.session.exposure - 1) < 1e-9);
});

test('at most 4,096 flows are read at once: the rest are counted in one issue, and a finished one frees its slot', async () => {
  const sessions = new ShareSessions();
  const flow = (port: number) => ({ client: { ip: '10.0.0.5', port }, server: { ip: '192.0.2.1', port: 3333 } });
  const open = Array.from({ length: 4096 }, (_, i) => sessions.open(flow(i), Buffer.from('{'), 0, i));
  assert.ok(open.every((s) => s !== undefined));
  assert.equal(sessions.open(flow(5000), Buffer.from('{'), 0, 5000), undefined);
  assert.deepEqual([sessions.untracked, sessions.firstUntracked], [1, 5000]);
  open[0]?.end(1);
  assert.ok(sessions.open(flow(5001), Buffer.from('{'), 0, 5001));
  // through the reader: 4,100 JSON flows open at once
  const packets: PacketSpec[] = Array.from({ length: 4100 }, (_, i) => ({
    tsMs: START_MS + i,
    src: '10.0.0.5',
    dst: '192.0.2.1',
    sport: 10_000 + i,
    dport: 3333,
    transport: 'tcp',
    seq: 1,
    flags: 'PA',
    payload: '{"id":1,"method":"mining.subscribe","params":["x"]}\n',
  }));
  const { issues } = await reports(writePcap(packets));
  assert.deepEqual(issues, [
    'PCAP_STRATUM_UNREAD: 4 flows that may be Stratum were not read whole (4,096 were being read at once), the first at record 4097; their shares are not counted',
  ]);
});
