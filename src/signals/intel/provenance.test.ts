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
