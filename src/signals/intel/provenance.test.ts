import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../../../test/support/cli.js';
import { parseBundledList } from './list.js';
import { loadBundledIntel } from './store.js';

const INTEL_DIR = join(import.meta.dirname, '..', '..', '..', 'intel');
const LISTS = readdirSync(INTEL_DIR).filter((f) => f.endsWith('.txt'));

test('every bundled list names its feed, where it is published and its version', () => {
  assert.ok(LISTS.length >= 10);
  for (const file of LISTS) {
    const text = readFileSync(join(INTEL_DIR, file), 'utf8');
    const parsed = parseBundledList(text);
    assert.ok(parsed.source && parsed.source.length > 3, `${file}: # source:`);
    assert.match(parsed.url ?? '', /^https:\/\/\S+$/, `${file}: # url:`);
    assert.ok(parsed.version && parsed.version.length >= 6, `${file}: # version:`);
    // our own captures are never a source: the lists say which public feed each entry comes from
    assert.doesNotMatch(text, /coalmine team|labelled (?:mining )?captures|shared\/data/i, file);
    if (parsed.entries.length > 0) {
      const lines = text.split('\n');
      for (const e of parsed.entries) {
        const above = lines.slice(0, e.line - 1).some((l) => /^#\s*from:/.test(l.trim()));
        assert.ok(above || /from:/.test(e.note ?? ''), `${file}:${e.line} ${e.value} says where it came from`);
      }
    }
  }
});

test('provenance travels with each set: the store keeps the url and the licence', () => {
  const sets = new Map(
    loadBundledIntel()
      .sets()
      .map((s) => [s.name, s]),
  );
  const pools = sets.get('pool-domains');
  assert.match(pools?.url ?? '', /^https:\/\/github\.com\/falcosecurity\/rules\/blob\/[0-9a-f]{40}\//);
  assert.match(pools?.license ?? '', /Apache-2\.0/);
  for (const s of sets.values()) assert.ok(s.url, `${s.name} has a url`);
});

test('intel stats prints each set with its source, version and url', () => {
  const r = runCli(['intel', 'stats']);
  assert.equal(r.code, 0, r.stderr);
  const pools = r.stdout.split('\n').find((l) => l.startsWith('pool-domains '));
  assert.ok(pools, r.stdout);
  assert.match(pools, /falco@[0-9a-f]+\+sigma@[0-9a-f]+/);
  assert.match(pools, /Falco rules/);
  assert.match(
    pools,
    /<https:\/\/github\.com\/falcosecurity\/rules\/blob\/[0-9a-f]{40}\/rules\/falco-sandbox_rules\.yaml>/,
  );
  const json = JSON.parse(runCli(['intel', 'stats', '--json']).stdout) as Array<{ name: string; url?: string }>;
  assert.ok(json.every((s) => typeof s.url === 'string' && s.url.startsWith('https://')));
});

test('restored indicators are bundled and intel check reports where each came from', () => {
  // one of each restored kind: a campaign miner, a pool operator's domain (by a stratum host below
  // it), a proxyware client, a proxyware image; each must name its set's url and a dated from: note
  const values = ['kdevtmpfsi', 'kinsing', 'gulf.moneroocean.stream', 'bitpingd', 'myst', 'mysteriumnetwork/myst'];
  const r = runCli(['intel', 'check', ...values]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  for (const value of values) {
    const line = r.stdout.split('\n').find((l) => l.startsWith(`${value}: `));
    assert.ok(line, `${value} matched:\n${r.stdout}`);
    assert.match(line, /in set [a-z-]+ \(.*https:\/\/\S+\)/, `${value} names its set's url`);
    assert.match(line, /from: \S+.*read \d{4}-\d{2}-\d{2}/, `${value} says where and when it was read`);
  }
});

test('a set whose entries come from several pages says so per entry, with the page and the date read', () => {
  // the class of problem: an entry restored under a header describing another feed. Sets added for
  // restored entries have their own headers, and every entry in them carries its own dated from:
  for (const file of ['campaign-miner-names.txt', 'pool-operator-domains.txt', 'proxyware-names.txt']) {
    const parsed = parseBundledList(readFileSync(join(INTEL_DIR, file), 'utf8'));
    assert.ok(parsed.entries.length > 0, `${file} is not empty`);
    for (const e of parsed.entries) assert.match(e.note ?? '', /^from: .+read \d{4}-\d{2}-\d{2}$/, `${file}:${e.line}`);
  }
});
