/**
 * SigmaHQ's compute-hijacking rules, unmodified, on our own fixtures (issue 15, acceptance 2): for each rule
 * family, `hunt FIXTURE --rules RULE` gives evidence by that rule's id, and on the benign look-alikes no rule and
 * no classifier gives a finding. The rules are read from ../shared/data/sigmahq (SigmaHQ, DRL 1.1), never copied
 * here; without it the whole file skips. test/fixtures/sigma-mining/README.md lists the rules, the fixtures and
 * the families that still wait for the Sigma engine; a family joins FAMILIES once its case passes.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
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
}

/** Families whose SigmaHQ rule raises its evidence today (README: "Waits for the Sigma engine" for the rest). */
const FAMILIES: Family[] = [];

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

const work = mkdtempSync(join(tmpdir(), 'coalmine-sigma-mining-'));
after(() => rmSync(work, { recursive: true, force: true }));

function hunt(fixture: string, rules: string[]) {
  const args = ['hunt', fixture, '--format', 'ndjson', '--no-progress'];
  for (const rule of rules) args.push('--rules', join(SIGMAHQ, rule));
  // an empty cwd: no ./coalmine.yaml from wherever the tests run
  return runCli(args, { cwd: mkdtempSync(join(work, 'run-')) });
}

describe('SigmaHQ mining rules on our fixtures', {
  skip: !existsSync(SIGMAHQ) && '../shared/data/sigmahq is absent',
}, () => {
  for (const { family, fixture, rule, id } of FAMILIES) {
    test(`${family}: ${rule} gives evidence by rule ${id}`, () => {
      const r = hunt(join(FIXTURES, family, fixture), [rule]);
      assert.equal(r.code, 0, r.stderr);
      const by = ndjsonFindings(r.stdout).flatMap((f) => f.evidence.map((e) => e.by));
      assert.ok(by.includes(`rule:${id}`), `no evidence by rule:${id}; got ${[...new Set(by)].join(', ')}`);
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

  test('every positive family folder is in FAMILIES or waits in the README, and every listed rule exists', () => {
    const readme = readFileSync(join(FIXTURES, 'README.md'), 'utf8');
    const waiting = readme.slice(readme.indexOf('## Waits for the Sigma engine'));
    const folders = readdirSync(FIXTURES, { withFileTypes: true })
      .filter((d) => d.isDirectory() && d.name !== 'benign')
      .map((d) => d.name);
    assert.ok(folders.length > 0);
    for (const folder of folders) {
      const tested = FAMILIES.some((f) => f.family === folder);
      assert.ok(tested || waiting.includes(`\`${folder}\``), `${folder} is neither tested nor listed as waiting`);
      assert.ok(!(tested && waiting.includes(`\`${folder}\``)), `${folder} is tested but still listed as waiting`);
    }
    for (const rule of [...MINING_RULES, ...FAMILIES.map((f) => f.rule)]) {
      assert.ok(existsSync(join(SIGMAHQ, rule)), `${rule} is not in ../shared/data/sigmahq`);
    }
  });
});
