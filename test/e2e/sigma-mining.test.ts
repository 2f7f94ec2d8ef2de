/**
 * SigmaHQ's compute-hijacking rules, unmodified, on our own fixtures (issue 15, acceptance 2): for each rule
 * family, the rule raises evidence by its id on the fixture of what it describes, and on the benign look-alikes no
 * rule and no classifier gives a finding. A family whose evidence is a finding by itself (a strong, mining-specific
 * signal: PRODUCT §5) is checked through `hunt FIXTURE --rules RULE`; one whose evidence is too weak for a finding
 * alone (a driver load, a persistence write, a user agent, a cluster write) is checked where evidence is made: the
 * fixture read by the source `hunt` sniffs, each event through the classifier with the rule loaded, and, when its
 * story has a miner in our fixtures, through `hunt` with that miner too, where it must join the miner's finding.
 * The rules are read from ../shared/data/sigmahq (SigmaHQ, DRL 1.1), never copied here; without it the whole file
 * skips. test/fixtures/sigma-mining/README.md lists the rules, the fixtures and the families that cannot pass yet
 * (with why); a family joins FAMILIES once its case passes.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Signal } from '../../src/model/signal.js';
import { createClassifier } from '../../src/signals/index.js';
import { loadIntel } from '../../src/signals/intel/store.js';
import { windowsRecordFilter } from '../../src/signals/rules.js';
import { loadRules } from '../../src/signals/sigma/index.js';
import { formatRecordFilter } from '../../src/signals/sigma/logsources.js';
import { sniffSource } from '../../src/sources/index.js';
import { ndjsonFindings, runCli } from '../support/cli.js';

const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'sigma-mining');
const SIGMAHQ = join(ROOT, '..', 'shared', 'data', 'sigmahq');

interface Family {
  /** Folder under test/fixtures/sigma-mining/. */
  family: string;
  fixture: string;
  /** Rule file, relative to ../shared/data/sigmahq. */
  rule: string;
  id: string;
  /** The signal the rule's match raises (its logsource's leg, or what mining-families.yml says). */
  kind: Signal['kind'];
  /** `finding`: the evidence alone is a finding; `evidence`: too weak alone, checked at the classifier. */
  alone: 'finding' | 'evidence';
  /** Another family's fixture holding the miner this evidence belongs with (same host, same launcher). */
  story?: string;
}

const LNX_MINER = 'lnx-process-creation/audit.log';

/** Families whose SigmaHQ rule raises its evidence today (README: "Waits for the Sigma engine" for the rest). */
const FAMILIES: Family[] = [
  {
    family: 'win-process-creation',
    fixture: 'sysmon-1.xml',
    rule: 'rules/windows/process_creation/proc_creation_win_susp_crypto_mining_monero.yml',
    id: '66c3b204-9f88-4d0a-a7f7-8a57d521ca55',
    kind: 'miner-process',
    alone: 'finding',
  },
  {
    family: 'win-network-connection',
    fixture: 'sysmon-3.jsonl',
    rule: 'rules/windows/network_connection/net_connection_win_domain_crypto_mining_pools.yml',
    id: 'fa5b1358-b040-4403-9868-15f7d9ab6329',
    kind: 'pool-contact',
    alone: 'finding',
  },
  {
    family: 'win-driver-load',
    fixture: 'sysmon-6.xml',
    rule: 'rules/windows/driver_load/driver_load_win_vuln_winring0_driver.yml',
    id: '1a42dfa6-6cb2-4df9-9b48-295be477e835',
    kind: 'miner-tuning',
    alone: 'evidence',
  },
  {
    family: 'win-blue-mockingbird',
    fixture: 'sysmon-1-13.xml',
    rule: 'rules-emerging-threats/2020/Malware/Blue-Mockingbird/proc_creation_win_malware_blue_mockingbird.yml',
    id: 'c3198a27-23a0-4c2c-af19-e5328d49680e',
    kind: 'persistence',
    alone: 'evidence',
  },
  {
    family: 'win-blue-mockingbird',
    fixture: 'sysmon-1-13.xml',
    rule: 'rules-emerging-threats/2020/Malware/Blue-Mockingbird/registry_set_mal_blue_mockingbird.yml',
    id: '92b0b372-a939-44ed-a11b-5136cf680e27',
    kind: 'persistence',
    alone: 'evidence',
  },
  {
    family: 'lnx-process-creation',
    fixture: 'audit.log',
    rule: 'rules/linux/process_creation/proc_creation_lnx_crypto_mining.yml',
    id: '9069ea3c-b213-4c52-be13-86506a227ab1',
    kind: 'miner-process',
    alone: 'finding',
  },
  {
    family: 'lnx-auditd-execve',
    fixture: 'audit.log',
    rule: 'rules/linux/auditd/execve/lnx_auditd_coinminer.yml',
    id: '071d5e5a-9cef-47ec-bc4e-a42e34d8d0ed',
    kind: 'miner-process',
    alone: 'finding',
  },
  {
    // the rival's crontab wiped by the miner's launcher (ppid 24790 in both files)
    family: 'lnx-crontab-removal',
    fixture: 'audit.log',
    rule: 'rules/linux/process_creation/proc_creation_lnx_crontab_removal.yml',
    id: 'c2e234de-03a3-41e1-b39a-1e56dc17ba67',
    kind: 'competitor-kill',
    alone: 'evidence',
    story: LNX_MINER,
  },
  {
    family: 'dns',
    fixture: 'eve.json',
    rule: 'rules/network/dns/net_dns_pua_cryptocoin_mining_xmr.yml',
    id: 'b593fd50-7335-4682-a36c-4edcb68e4641',
    kind: 'pool-contact',
    alone: 'finding',
  },
  {
    family: 'zeek-dns',
    fixture: 'dns.log',
    rule: 'rules/network/zeek/zeek_dns_mining_pools.yml',
    id: 'bf74135c-18e8-4a72-a926-0e4f47888c19',
    kind: 'pool-contact',
    alone: 'finding',
  },
  {
    family: 'proxy-useragent',
    fixture: 'http.log',
    rule: 'rules/web/proxy_generic/proxy_ua_cryptominer.yml',
    id: 'fa935401-513b-467b-81f4-f9e77aa0dd78',
    kind: 'pool-contact',
    alone: 'evidence',
  },
  {
    family: 'azure-activity-k8s',
    fixture: 'activity.jsonl',
    rule: 'rules/cloud/azure/activity_logs/azure_kubernetes_cluster_created_or_deleted.yml',
    id: '9541f321-7cba-4b43-80fc-fbd1fb922808',
    kind: 'miner-process',
    alone: 'evidence',
  },
];

/** Families that cannot pass yet, each with what it waits for. */
const PENDING: Record<string, string> = {
  'lnx-network-connection':
    'the rule reads DestinationHostname; an auditd connect record has only the address (Sysmon for Linux has the name, which coalmine does not read), and the engine does not give a connection the name a DNS answer gave its address',
  'webserver-useragent':
    'coalmine has no web server access log reader (Apache/nginx combined, IIS W3C): the file is SOURCE_UNKNOWN_FORMAT',
};

/** Every mining rule the README lists with a fixture: the benign files run against all of them at once. */
const MINING_RULES = [
  'rules/windows/process_creation/proc_creation_win_susp_crypto_mining_monero.yml',
  'rules/windows/network_connection/net_connection_win_domain_crypto_mining_pools.yml',
  'rules/windows/driver_load/driver_load_win_vuln_winring0_driver.yml',
  'rules-emerging-threats/2020/Malware/Blue-Mockingbird/proc_creation_win_malware_blue_mockingbird.yml',
  'rules-emerging-threats/2020/Malware/Blue-Mockingbird/registry_set_mal_blue_mockingbird.yml',
  'rules/linux/process_creation/proc_creation_lnx_crypto_mining.yml',
  'rules/linux/auditd/execve/lnx_auditd_coinminer.yml',
  'rules/linux/process_creation/proc_creation_lnx_crontab_removal.yml',
  'rules/linux/network_connection/net_connection_lnx_crypto_mining_indicators.yml',
  'rules/network/dns/net_dns_pua_cryptocoin_mining_xmr.yml',
  'rules/network/zeek/zeek_dns_mining_pools.yml',
  'rules/web/proxy_generic/proxy_ua_cryptominer.yml',
  'rules-emerging-threats/2026/Malware/RedTail-Cryptominer/web_malware_redtail_useragent.yml',
  'rules/cloud/azure/activity_logs/azure_kubernetes_cluster_created_or_deleted.yml',
];

/** Benign file → the format it must be read as (so "no finding" never means "not read"). */
const BENIGN: Record<string, string> = {
  'audit.log': 'auditd',
  'sysmon.xml': 'evtx-xml',
  'zeek-dns.log': 'zeek',
  'eve.json': 'suricata',
  'zeek-http.log': 'zeek',
};

/** Every signal of the fixture's events with the rule loaded: the source hunt sniffs, the classifier hunt runs. */
async function classified(fixture: string, rule: string): Promise<Signal[]> {
  const rules = await loadRules([rule]);
  assert.deepEqual([...rules.errors, ...rules.warnings, ...rules.unsupported], []);
  const { intel } = await loadIntel([]);
  const classify = createClassifier(intel, rules);
  const buf = readFileSync(fixture);
  const input = {
    name: fixture,
    head: buf.subarray(0, 65536),
    async *open() {
      yield buf;
    },
  };
  const source = sniffSource(input);
  assert.ok(source, `${fixture} is read by no source`);
  const context = {
    maxLineBytes: 1 << 20,
    maxPendingRecords: 4096,
    keepWindowsRecord: windowsRecordFilter(rules),
    keepRecord: formatRecordFilter(rules.rules),
  };
  const out: Signal[] = [];
  for await (const batch of source.read(input, context)) for (const event of batch.events) classify(event, out);
  return out;
}

const work = mkdtempSync(join(tmpdir(), 'coalmine-sigma-mining-'));
after(() => rmSync(work, { recursive: true, force: true }));

function hunt(fixture: string | string[], rules: string[]) {
  const args = ['hunt', ...(Array.isArray(fixture) ? fixture : [fixture]), '--format', 'ndjson', '--no-progress'];
  for (const rule of rules) args.push('--rules', join(SIGMAHQ, rule));
  // an empty cwd: no ./coalmine.yaml from wherever the tests run
  return runCli(args, { cwd: mkdtempSync(join(work, 'run-')) });
}

describe('SigmaHQ mining rules on our fixtures', {
  skip: !existsSync(SIGMAHQ) && '../shared/data/sigmahq is absent',
}, () => {
  for (const { family, fixture, rule, id, kind, alone, story } of FAMILIES) {
    test(`${family}: ${rule} raises ${kind} evidence by rule ${id}`, async () => {
      const signals = await classified(join(FIXTURES, family, fixture), join(SIGMAHQ, rule));
      const mine = signals.filter((s) => s.by === `rule:${id}`);
      assert.ok(mine.length > 0, `no signal by rule:${id}; got ${[...new Set(signals.map((s) => s.by))].join(', ')}`);
      assert.deepEqual([...new Set(mine.map((s) => s.kind))], [kind]);
      if (alone === 'evidence' && !story) return;
      const paths = [join(FIXTURES, family, fixture), ...(story ? [join(FIXTURES, story)] : [])];
      const r = hunt(paths, [rule]);
      assert.equal(r.code, 0, r.stderr);
      const by = ndjsonFindings(r.stdout).flatMap((f) => f.evidence.map((e) => e.by));
      assert.ok(by.includes(`rule:${id}`), `no finding evidence by rule:${id}; got ${[...new Set(by)].join(', ')}`);
    });
  }

  for (const [file, format] of Object.entries(BENIGN)) {
    test(`benign/${file}: read as ${format}, no finding with every mining rule loaded`, () => {
      const r = hunt(join(FIXTURES, 'benign', file), MINING_RULES);
      assert.equal(r.code, 0, r.stderr);
      const read = /\((\S+) 1\), (\d+) events/.exec(r.stderr);
      assert.ok(read, r.stderr);
      assert.equal(read[1], format);
      assert.ok(Number(read[2]) > 0, r.stderr);
      assert.deepEqual(
        ndjsonFindings(r.stdout).map((f) => f.title),
        [],
      );
    });
  }

  test('every positive family folder is in FAMILIES or PENDING, and every listed rule exists', () => {
    const folders = readdirSync(FIXTURES, { withFileTypes: true })
      .filter((d) => d.isDirectory() && d.name !== 'benign')
      .map((d) => d.name);
    assert.ok(folders.length > 0);
    for (const folder of folders) {
      const tested = FAMILIES.some((f) => f.family === folder);
      assert.ok(tested || Object.hasOwn(PENDING, folder), `${folder} is neither tested nor pending`);
      assert.ok(!(tested && Object.hasOwn(PENDING, folder)), `${folder} is tested but still pending`);
    }
    for (const rule of [...MINING_RULES, ...FAMILIES.map((f) => f.rule)]) {
      assert.ok(existsSync(join(SIGMAHQ, rule)), `${rule} is not in ../shared/data/sigmahq`);
    }
  });
});

describe('rule loading is reported, never silent', () => {
  test('rules check: every error, unsupported rule and warning with file:line, and the counts by reason', () => {
    const r = runCli(['rules', 'check', join(ROOT, 'test', 'fixtures', 'sigma', 'bad')]);
    const listed = r.stdout.split('\n').filter((l) => /^(?:error|unsupported|warning) (?!by reason)/.test(l));
    assert.ok(listed.some((l) => l.startsWith('error ')) && listed.some((l) => l.startsWith('warning ')), r.stdout);
    for (const l of listed) assert.match(l, /^(?:error|unsupported|warning) \S+\.yml:[1-9]\d*: RULE_[A-Z_]+: /);
    assert.match(r.stdout, /errors by reason: RULE_BAD_CONDITION 1, RULE_DUPLICATE_ID 1, RULE_UNKNOWN_MODIFIER 1/);
    assert.match(r.stdout, /warnings by reason: RULE_UNKNOWN_LOGSOURCE 1/);
  });

  test('rules check: an error of a whole file names the file alone, with no made-up line', () => {
    const dir = mkdtempSync(join(work, 'whole-file-'));
    writeFileSync(join(dir, 'huge.yml'), `title: x\n${'#'.repeat(1_100_000)}\n`);
    const r = runCli(['rules', 'check', dir]);
    assert.match(r.stdout, /^error \S+huge\.yml: RULE_TOO_LARGE: /m, r.stdout);
    assert.doesNotMatch(r.stdout, /:0:/, r.stdout);
  });

  test('hunt --rules: rule-load warnings are counted on stderr with the first ones by file:line', () => {
    const r = hunt(join(FIXTURES, 'benign', 'zeek-dns.log'), []);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stderr.includes('rule warnings'), r.stderr);
    const bad = runCli(
      [
        'hunt',
        join(FIXTURES, 'benign', 'zeek-dns.log'),
        '--rules',
        join(ROOT, 'test', 'fixtures', 'sigma', 'bad'),
        '--format',
        'ndjson',
        '--no-progress',
      ],
      { cwd: mkdtempSync(join(work, 'run-')) },
    );
    assert.match(bad.stderr, /rule warnings: 1 \(RULE_UNKNOWN_LOGSOURCE 1\); \d+ rules loaded/);
    assert.match(bad.stderr, /\n {2}\S+rules\.yml:72: RULE_UNKNOWN_LOGSOURCE: rule unknown-product/);
  });
});
