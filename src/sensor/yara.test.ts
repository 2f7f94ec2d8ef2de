import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Issue } from '../model/issue.js';
import { loadYaraRules, type YaraRules, yaraEngine } from './yara.js';

// the binding ships its native module for linux-x64-gnu and darwin; elsewhere inspect says it cannot scan
const shipped = (process.platform === 'linux' && process.arch === 'x64') || process.platform === 'darwin';
const skip = shipped ? false : `@litko/yara-x ships no binary for ${process.platform}-${process.arch}`;

const le32 = (words: number[]) =>
  Buffer.concat(
    words.map((w) => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(w >>> 0);
      return b;
    }),
  );
const le64 = (values: number[]) =>
  Buffer.concat(
    values.map((v) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(BigInt(v));
      return b;
    }),
  );
/** `_mm_set_epi32(e3, e2, e1, e0)` as it lies in memory: e0 first. */
const epi32 = (e3: number, e2: number, e1: number, e0: number) => le32([e0, e1, e2, e3]);
/** Memory around a sample: the bytes a heap holds beside it. */
const inHeap = (sample: Buffer | string) =>
  Buffer.concat([Buffer.alloc(4096, 0x41), Buffer.from(sample as string), Buffer.alloc(4096, 0)]);

const WALLET = `4A${'1234567891ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'.repeat(2).slice(0, 93)}`;

/** Each bundled rule: what it must match (a miner's or proxyware client's memory) and a look-alike it must not. */
const CASES: { rule: string; hits: (Buffer | string)[]; misses: (Buffer | string)[] }[] = [
  {
    rule: 'coalmine_xmrig_config',
    hits: [
      '{"api":{},"donate-level":1,"cpu":{"huge-pages":true}} XMRig/6.21.0',
      // a fork renamed, its configuration keys still its own
      '{"donate-level":0,"donate-over-proxy":0,"rig-id":"w1","randomx":{"1gb-pages":true}}',
      ' * ABOUT        XMRig/6.21.0 gcc/12.2.0\n[2026-01-01 00:00:00] net use pool pool.invalid:443\n[2026-01-01 00:00:01] net new job from pool.invalid:443 diff 120001 algo rx/0',
    ],
    misses: [
      'https://github.com/xmrig/xmrig/releases: XMRig 6.21.0', // a browser on the project's page
      '{"huge-pages":true,"nicehash":false}', // two keys alone
    ],
  },
  {
    rule: 'coalmine_stratum_session',
    hits: [
      '{"id":1,"method":"mining.subscribe","params":["cgminer/4.10"]}\n{"id":2,"method":"mining.authorize","params":["w","x"]}',
      `{"id":1,"jsonrpc":"2.0","method":"login","params":{"login":"${WALLET}","pass":"x","agent":"XMRig/6.21.0"}}{"job_id":"a1","blob":"0707"}`,
      '{"jsonrpc":"2.0","method" : "job","params":{"blob":"0707e6b1","job_id":"a1","target":"b88d0600","seed_hash":"00ff"}}',
    ],
    misses: [
      '{"method":"login","params":{"user":"alice","password":"…"}}', // a web app's JSON-RPC login
      '"mining.subscribe" in a document about the Stratum protocol',
    ],
  },
  {
    rule: 'coalmine_pool_url',
    hits: ['-o stratum+tcp://pool.invalid:3333', 'STRATUM+SSL://pool.invalid:443', 'stratum2+tcp://pool.invalid'],
    misses: ['tcp://pool.invalid:3333', 'stratum tcp pool'],
  },
  {
    rule: 'coalmine_monero_wallet',
    hits: [`{"url":"pool.invalid:3333","user":"${WALLET}","pass":"x"}`, `-o pool.invalid:3333 --user ${WALLET} -u `],
    misses: [
      `donate: ${WALLET}`, // an address alone (a README's donation line)
      `{"user":"${WALLET.slice(0, 60)}","pass":"x"}`, // too short to be an address
    ],
  },
  {
    rule: 'coalmine_pow_algorithms',
    hits: [
      'rx/0\0cn/r\0kawpow\0ethash\0',
      Buffer.concat([Buffer.from('RandomX\x03', 'latin1'), Buffer.from('\0rx/wow')]),
    ],
    misses: ['ethash kawpow cn/r', 'RandomX\x03'],
  },
  {
    rule: 'coalmine_pow_constants',
    hits: [
      // RandomX AesGenerator1R key0 and AesHash1R state0 (Blake2b of their names)
      epi32(0xb4f44917, 0xdbb5552b, 0x62716609, 0x6daca553),
      epi32(0xd7983aad, 0xcc82db47, 0x9fa856de, 0x92b52c0d),
      // KawPow's padding words: R, A, V, E, N, C, O, I, N, K, A, W, P, O, W as 32-bit words
      le32([...'rAVENCOINKAWPOW'].map((c) => c.charCodeAt(0))),
      // Ethash's dag_sizes and cache_sizes tables begin so
      le64([1073739904, 1082130304, 1090514816]),
      le64([16776896, 16907456, 17039296]),
    ],
    misses: [
      'rAVENCOINKAWPOW', // the text, not the words
      epi32(0xb4f44917, 0xdbb5552b, 0x62716609, 0x6daca554), // one bit off
      le64([1073739904, 1082130304]), // two sizes are round numbers' neighbours; the table's start is three
    ],
  },
  {
    rule: 'coalmine_proxyware_client',
    hits: [
      '{"device_id":"d1","client":"honeygain","bandwidth":{"shared":1024}}',
      'traffmonetizer start accept --token … device-name w1 traffic',
    ],
    misses: ['https://www.honeygain.com/ – earn from your traffic', '{"device_id":"d1","bandwidth":1024}'],
  },
];

describe('our YARA rules (rules/yara)', { skip }, () => {
  let rules: YaraRules;
  const issues: Issue[] = [];
  before(async () => {
    const loaded = await loadYaraRules([], (i) => issues.push(i));
    assert.ok(loaded, JSON.stringify(issues));
    rules = loaded;
  });

  it('load without an issue, every rule saying what it is evidence of', () => {
    assert.deepEqual(issues, []);
    assert.equal(rules.rules, CASES.length);
    const seen = new Set<string>();
    for (const c of CASES)
      for (const hit of rules.scan(inHeap(c.hits[0]))) {
        if (hit.rule !== c.rule) continue;
        seen.add(hit.rule);
        assert.ok(hit.kind === 'miner' || hit.kind === 'proxyware', `${hit.rule} kind`);
        assert.ok(hit.strength !== undefined, `${hit.rule} strength`);
        assert.ok((hit.description ?? '').length > 20, `${hit.rule} description`);
        assert.equal(hit.bundled, true);
      }
    assert.deepEqual([...seen].sort(), CASES.map((c) => c.rule).sort());
  });

  for (const c of CASES) {
    it(`${c.rule} matches what it is written for and not its look-alikes`, () => {
      for (const h of c.hits) {
        const found = rules.scan(inHeap(h)).map((x) => x.rule);
        assert.ok(found.includes(c.rule), `${c.rule} on ${JSON.stringify(h.toString('latin1').slice(0, 80))}`);
      }
      for (const m of c.misses) {
        const found = rules.scan(inHeap(m)).map((x) => x.rule);
        assert.ok(
          !found.includes(c.rule),
          `${c.rule} must not match ${JSON.stringify(m.toString('latin1').slice(0, 80))}`,
        );
      }
    });
  }

  it('gives each hit its offset in the scanned bytes and the matched text, inert and clipped', () => {
    const data = inHeap(`x\x1b[31m stratum+tcp://${'p'.repeat(200)}`);
    const hit = rules.scan(data).find((h) => h.rule === 'coalmine_pool_url');
    assert.ok(hit);
    const first = hit.hits[0];
    assert.equal(data.subarray(first.offset, first.offset + first.length).toString(), 'stratum+tcp://');
    assert.equal(first.text, 'stratum+tcp://');
    assert.ok(!/[\x00-\x1f\x7f]/.test(first.text));
  });
});

describe("the user's YARA rules", { skip }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'coalmine-yara-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('compiles two files that name a rule alike one by one, and names a broken file by its line', async () => {
    writeFileSync(join(dir, 'a.yar'), 'rule same { strings: $a = "alpha-marker" condition: $a }\n');
    writeFileSync(join(dir, 'b.yara'), 'rule same { strings: $b = "beta-marker" condition: $b }\n');
    writeFileSync(join(dir, 'c.yar'), 'rule fine { condition: false }\n\n\nrule broken { condition: $nope }\n');
    writeFileSync(join(dir, 'notes.txt'), 'not a rule file');
    const issues: Issue[] = [];
    const rules = await loadYaraRules([dir], (i) => issues.push(i));
    assert.ok(rules);
    assert.deepEqual(
      issues.map((i) => [i.file.endsWith('c.yar'), i.line, i.code]),
      [[true, 4, 'YARA_RULE_ERROR']],
    );
    const found = rules.scan(Buffer.from('.. alpha-marker .. beta-marker ..')).filter((h) => !h.bundled);
    assert.deepEqual(found.map((h) => [h.rule, h.hits[0].text]).sort(), [
      ['same', 'alpha-marker'],
      ['same', 'beta-marker'],
    ]);
  });

  it('reports a path that is not there', async () => {
    const issues: Issue[] = [];
    await loadYaraRules([join(dir, 'none')], (i) => issues.push(i));
    assert.deepEqual(
      issues.map((i) => i.code),
      ['INPUT_UNREADABLE'],
    );
  });

  it('loads the engine on this platform', async () => {
    assert.equal(typeof (await yaraEngine()), 'object');
  });
});
