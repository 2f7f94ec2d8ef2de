/**
 * The indicator lists that used to be constants in the classifiers (kill.ts RIVALS, process.ts
 * PROXYWARE_FLAGS) are bundled intel sets now: they load with their counts and provenance, show in
 * `intel stats`/`intel check`, and a user's `--intel` file extends them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli } from '../../../test/support/cli.js';
import type { Issue } from '../../model/issue.js';
import type { Signal } from '../../model/signal.js';
import { kill } from '../kill.js';
import { processClassifier } from '../process.js';
import { evt } from '../test-events.js';
import type { Classifier } from '../types.js';
import { loadBundledIntel, loadIntel } from './store.js';
import type { Intel } from './types.js';

const work = mkdtempSync(join(tmpdir(), 'coalmine-code-lists-'));
after(() => rmSync(work, { recursive: true, force: true }));

const RIVALS = [
  'ksoftirqds',
  'ddgs',
  'qw3xt',
  'qw3xt.2',
  'askdljlqw',
  'biosetjenkins',
  'jnkihgjn',
  'kpsmouseds',
  'mixnerdx',
  'performedl',
  'sustse',
  'sysguard',
  'watchdogs',
];
/** In the code before 2026-12-08, dropped for want of a kill script we could cite (intel/README.md). */
const DROPPED = ['kswapd0', 'bashirc', 'khk75neoiq', 'zzh'];

function run(classifier: Classifier, intel: Intel, event: ReturnType<typeof evt>): Signal[] {
  const out: Signal[] = [];
  classifier.classify(event, { intel }, out);
  return out;
}

const killOf = (name: string) => evt('kill', { process: { pid: 1, name: 'sh', target: { pid: 2, name, signal: 9 } } });

test('rival-names and proxyware-flags load from intel/ with their counts, kinds and provenance', () => {
  const issues: Issue[] = [];
  const store = loadBundledIntel(issues);
  assert.deepEqual(issues, []);
  const sets = new Map(store.sets().map((s) => [s.name, s]));
  const rivals = sets.get('rival-names');
  assert.deepEqual([rivals?.kind, rivals?.count], ['rival-name', RIVALS.length]);
  assert.match(rivals?.source ?? '', /campaigns' shell scripts/);
  assert.match(rivals?.url ?? '', /^https:\/\/github\.com\/timb-machine\/linux-malware$/);
  const flags = sets.get('proxyware-flags');
  assert.deepEqual([flags?.kind, flags?.count], ['proxyware-flag', 4]);
  assert.match(flags?.url ?? '', /^https:\/\/github\.com\/mysteriumnetwork\/node\/blob\/[0-9a-f]{40}\//);
  for (const name of RIVALS) {
    assert.equal(store.rivalName(name)?.set, 'rival-names', name);
    assert.equal(store.rivalName(name.toUpperCase())?.indicator, name, `${name}, any case`);
  }
  for (const name of DROPPED) assert.equal(store.rivalName(name), undefined, `${name} was dropped`);
  // a rival is not a miner: a process merely called like a rival's process is never judged a miner
  assert.equal(store.processName('ksoftirqds'), undefined);
  assert.equal(store.rivalName('xmrig'), undefined, 'miners are rivals through miner-names, not repeated');
  const clients = [
    ['pawns-cli -email=a@b.example -accept-tos', 'Pawns (IPRoyal)', 'strong'],
    ['/app/agent -tou-accept -email a@b.example', 'Honeygain', 'strong'],
    ['/app/Cli start accept --token T0KEN', 'Traffmonetizer', 'strong'],
    ['/app/Cli start  accept --token=T0KEN', 'Traffmonetizer', 'strong'],
    ['myst service --agreed-terms-and-conditions wireguard', 'Mysterium', 'medium'],
  ];
  for (const [command, client, strength] of clients) {
    const m = store.proxywareFlag(command);
    assert.deepEqual([m?.kind, m?.note, m?.strength, m?.set], ['proxyware-flag', client, strength, 'proxyware-flags']);
  }
  // whole words only, and a flag that takes a value needs one
  for (const command of ['/bin/x --no-accept-tos', '/bin/x -accept-tosx', '/bin/x start accept --token', 'make -t'])
    assert.equal(store.proxywareFlag(command), undefined, command);
});

test("a user's --intel file adding a rival name makes a kill of it a competitor kill", async () => {
  const bundled = loadBundledIntel();
  assert.deepEqual(run(kill, bundled, killOf('xfiltrd9')), [], 'not a rival without the user file');
  const csv = join(work, 'rivals.csv');
  writeFileSync(csv, 'indicator,type,note\nxfiltrd9,rival-name,from our case 4711\n');
  const plain = join(work, 'rivals.txt');
  writeFileSync(plain, 'rival-name:kdevrival  # the other campaign\n');
  const { intel, issues } = await loadIntel([csv, plain]);
  assert.deepEqual(issues, []);
  const bySignal = run(kill, intel, killOf('xfiltrd9'));
  assert.deepEqual(
    bySignal.map((s) => [s.kind, s.strength, s.by, s.subject?.victim]),
    [['competitor-kill', 'strong', 'kill:signal', 'xfiltrd9']],
  );
  assert.match(bySignal[0].explanation, /rival campaign's process/);
  const byCommand = run(
    kill,
    intel,
    evt('exec', { process: { pid: 9, name: 'sh', executable: '/bin/sh', command_line: 'pkill -9 -f KDEVRIVAL' } }),
  );
  assert.deepEqual(
    byCommand.map((s) => [s.kind, s.strength, s.subject?.victim]),
    [['competitor-kill', 'strong', 'KDEVRIVAL']],
  );
  // still not a miner: the process classifier says nothing of a process by that name
  assert.equal(intel.processName('xfiltrd9'), undefined);
  const sets = new Map(intel.sets().map((s) => [s.name, s]));
  assert.deepEqual([sets.get('rivals.csv')?.kind, sets.get('rivals.csv')?.count], ['rival-name', 1]);
});

test("a user's proxyware flags: any client's option sequence, named by its note, the shared gate rebuilt", async () => {
  const file = join(work, 'flags.csv');
  writeFileSync(
    file,
    [
      'indicator,type,strength,note',
      '--share-bandwidth,proxyware-flag,,ExampleShare',
      'run --earn-key=,proxyware-flag,medium,',
      'start,proxyware-flag,,no option in it',
      '--a=b --c,proxyware-flag,,value in the middle',
    ].join('\n'),
  );
  const { intel, issues } = await loadIntel([file]);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [4, 'INTEL_BAD_LINE'],
      [5, 'INTEL_BAD_LINE'],
    ],
  );
  const exec = (command_line: string) =>
    run(
      processClassifier,
      intel,
      evt('exec', { process: { pid: 5, name: 'agent', executable: '/opt/agent', command_line } }),
    );
  // no "-t" in this flag: the gate the bundled flags shared no longer holds and is rebuilt from all of them
  const strong = exec('/opt/agent --share-bandwidth --email ops@example.net');
  assert.deepEqual(
    strong.map((s) => [s.by, s.strength]),
    [['process:proxyware-args', 'strong']],
  );
  assert.match(strong[0].explanation, /carries ExampleShare client arguments \(--email=ops@example\.net\)/);
  const unnamed = exec('/opt/agent run --earn-key K --email ops@example.net');
  assert.deepEqual(
    unnamed.map((s) => [s.by, s.strength]),
    [['process:proxyware-args', 'medium']],
  );
  assert.match(unnamed[0].explanation, /carries proxyware client arguments \(run --earn-key=\)/);
  // the bundled flags still match beside them
  assert.equal(intel.proxywareFlag('/app/Cli -accept-tos')?.note, 'Pawns (IPRoyal)');
});

test('intel stats and intel check show the moved sets with their source', () => {
  const stats = runCli(['intel', 'stats']);
  assert.equal(stats.code, 0, stats.stderr);
  const row = (name: string) => stats.stdout.split('\n').find((l) => l.startsWith(`${name} `));
  assert.match(
    row('rival-names') ?? '',
    /^rival-names\s+rival-name\s+13\s+2026-12-08\s+.*campaigns' shell scripts.*<https:\/\//,
  );
  assert.match(row('proxyware-flags') ?? '', /^proxyware-flags\s+proxyware-flag\s+4\s+/);
  const rivals = join(work, 'check-rivals.txt');
  writeFileSync(rivals, 'rival-name:xfiltrd9\n');
  const check = runCli([
    'intel',
    'check',
    '--intel',
    rivals,
    '--',
    'sysguard',
    'xfiltrd9',
    '--agreed-terms-and-conditions',
  ]);
  assert.equal(check.code, 0, check.stdout + check.stderr);
  const lines = check.stdout.split('\n');
  assert.match(
    lines.find((l) => l.startsWith('sysguard: ')) ?? '',
    /rival-name sysguard in set rival-names \(.*https:\/\/.*from: github\.com\/G4rb3n\/Script-Ganker@\S+ .*read 2026-12-08/,
  );
  assert.match(lines.find((l) => l.startsWith('xfiltrd9: ')) ?? '', /rival-name xfiltrd9 in set check-rivals\.txt/);
  assert.match(
    lines.find((l) => l.startsWith('--agreed-terms-and-conditions: ')) ?? '',
    /proxyware-flag --agreed-terms-and-conditions in set proxyware-flags .*medium evidence: Mysterium/,
  );
});
