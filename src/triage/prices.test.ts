import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bundledPriceTable, instancePrice, parsePriceTable } from './prices.js';

test('the bundled cloud price table parses whole: versioned, sourced, common and GPU types on every provider', () => {
  const table = bundledPriceTable();
  assert.deepEqual(table.bad, []);
  assert.equal(table.name, 'cloud-prices 2026-12-05');
  assert.deepEqual(table.defaultRegions, { aws: 'us-east-1', gcp: 'us-central1', azure: 'eastus' });
  for (const provider of ['aws', 'gcp', 'azure']) {
    const rows = [...table.rows.keys()].filter((k) => k.startsWith(`${provider}|`));
    assert.ok(rows.length >= 24, `${provider}: ${rows.length} rows`);
  }
  for (const [provider, type] of [
    ['aws', 'g4dn.xlarge'],
    ['aws', 'p3.2xlarge'],
    ['aws', 'c5.large'],
    ['gcp', 'a2-highgpu-1g'],
    ['gcp', 'e2-medium'],
    ['azure', 'Standard_NC6s_v3'],
    ['azure', 'Standard_D2s_v3'],
  ])
    assert.ok(instancePrice(table, provider, undefined, type), `${provider} ${type}`);
  assert.equal(bundledPriceTable(), table, 'read once');
});

test('every bundled row says where its price was checked: a page and the date it shows, or unverified', () => {
  const table = bundledPriceTable();
  assert.deepEqual([...table.sources.keys()], [...table.rows.keys()], 'a source for each row, none without a row');
  const verified = [...table.sources.values()].filter((s) => s.verified);
  assert.ok(verified.length >= 1, 'at least one row checked against a dated public page');
  for (const source of verified) {
    assert.ok(source.verified);
    assert.match(source.url, /^https:\/\//);
    assert.ok(source.checked <= '2026-12-05', `${source.url}: the page's date is not after the check`);
  }
  assert.deepEqual(table.sources.get('aws|*|g5.xlarge'), {
    verified: true,
    url: 'https://www.factualminds.com/blog/amazon-ec2-on-demand-pricing-instance-families-2026/',
    checked: '2026-06-17',
  });
  assert.deepEqual(table.sources.get('azure|*|standard_nc6s_v3'), { verified: false });
});

test('a table without source and checked columns (an older copy a user keeps) reads the same, with no sources', () => {
  const text = ['# version: old', 'provider,region,instance_type,usd_per_hour', 'aws,*,m5.large,0.096', ''].join('\n');
  const table = parsePriceTable(text);
  assert.deepEqual(table.bad, []);
  assert.deepEqual([...table.rows.entries()], [['aws|*|m5.large', 0.096]]);
  assert.equal(table.sources.size, 0);
  // a row with the new columns in an old-header table is a bad row, not a silently dropped column
  const mixed = parsePriceTable(`${text}aws,*,m5.xlarge,0.192,unverified,\n`);
  assert.deepEqual(mixed.bad, [{ line: 4, reason: 'expected 4 fields' }]);
});

test('hostile source and checked fields: each bad one is reported with its line and the row left out', () => {
  const table = parsePriceTable(
    [
      'provider,region,instance_type,usd_per_hour,source,checked',
      'aws,*,m5.large,0.096,https://example.org/prices,2026-06-17',
      'aws,*,m5.xlarge,0.192,unverified,',
      'aws,*,m5.2xlarge,0.384,http://example.org/prices,2026-06-17',
      'aws,*,m5.4xlarge,0.768,https://example.org/a b,2026-06-17',
      'aws,*,m5.8xlarge,1.536,https://example.org/prices,',
      'aws,*,m5.12xlarge,2.304,https://example.org/prices,2026-02-30',
      'aws,*,m5.16xlarge,3.072,unverified,2026-06-17',
      "aws,*,m5.24xlarge,4.608,javascript:alert('x'),2026-06-17",
      'aws,*,c5.large,0.085,https://example.org/prices',
      `aws,*,c5.xlarge,0.17,https://${'a'.repeat(300)}.org/,2026-06-17`,
      'gcp,*,e2-micro,0.0084,UNVERIFIED,',
      '',
    ].join('\n'),
  );
  assert.deepEqual(
    table.bad.map((b) => b.line),
    [4, 5, 6, 7, 8, 9, 10, 11],
  );
  assert.match(table.bad[0].reason, /https URL or "unverified"/);
  assert.match(table.bad[2].reason, /checked must be the date/);
  assert.match(table.bad[3].reason, /checked must be the date/);
  assert.match(table.bad[4].reason, /an unverified row has no checked date/);
  assert.match(table.bad[6].reason, /expected 6 fields/);
  assert.deepEqual(
    [...table.sources.entries()],
    [
      ['aws|*|m5.large', { verified: true, url: 'https://example.org/prices', checked: '2026-06-17' }],
      ['aws|*|m5.xlarge', { verified: false }],
      ['gcp|*|e2-micro', { verified: false }],
    ],
  );
  assert.deepEqual([...table.rows.keys()], [...table.sources.keys()]);
  const unknownColumn = parsePriceTable('provider,region,instance_type,usd_per_hour,note\naws,*,m5.large,0.096,x\n');
  assert.equal(unknownColumn.rows.size, 0);
  assert.match(unknownColumn.bad[0].reason, /expected the header/);
});

test("a region's own row wins; else the reference region's price stands in and says so", () => {
  const table = bundledPriceTable();
  assert.deepEqual(instancePrice(table, 'aws', 'eu-west-1', 'g4dn.xlarge'), {
    usdPerHour: 0.587,
    pricedIn: 'eu-west-1',
    fallback: false,
  });
  assert.deepEqual(instancePrice(table, 'aws', 'ap-southeast-3', 'g4dn.xlarge'), {
    usdPerHour: 0.526,
    pricedIn: 'us-east-1',
    fallback: true,
  });
  assert.deepEqual(instancePrice(table, 'aws', 'us-east-1', 'g4dn.xlarge'), {
    usdPerHour: 0.526,
    pricedIn: 'us-east-1',
    fallback: false,
  });
  // a GCP zone is priced as its region, a machine type URL by its last part; Azure sizes match without case
  assert.equal(
    instancePrice(table, 'gcp', 'us-central1-a', 'zones/us-central1-a/machineTypes/n1-standard-8')?.fallback,
    false,
  );
  assert.equal(instancePrice(table, 'azure', 'eastus', 'standard_nc6s_v3')?.usdPerHour, 3.06);
  assert.equal(instancePrice(table, 'aws', 'us-east-1', 'x9.mega'), undefined);
  assert.equal(instancePrice(table, 'gcp', 'us-central1', 'g4dn.xlarge'), undefined, 'prices are per provider');
});

test('a hostile price table: each bad row is reported with its line and left out; the good ones stay', () => {
  const table = parsePriceTable(
    [
      '# version: 9',
      'provider,region,instance_type,usd_per_hour',
      'aws,*,m5.large,0.096',
      'aws,*,m5.large,0.2',
      'oracle,*,vm.standard,1',
      'aws,*,__proto__,1',
      'aws,us east 1,m5.large,1',
      'aws,*,m5.xlarge,-1',
      'aws,*,m5.2xlarge,1e3',
      'aws,*,m5.4xlarge,0.768,extra',
      `aws,*,${'m'.repeat(600)},1`,
      'gcp,*,e2-micro,0.0084',
      '',
    ].join('\n'),
  );
  assert.deepEqual(
    table.bad.map((b) => b.line),
    [4, 5, 6, 7, 8, 9, 10, 11],
  );
  assert.match(table.bad[0].reason, /a second row for aws \* m5\.large/);
  assert.deepEqual(
    [...table.rows.entries()],
    [
      ['aws|*|m5.large', 0.096],
      ['gcp|*|e2-micro', 0.0084],
    ],
  );
  assert.equal(table.name, 'cloud-prices 9');
  assert.equal(instancePrice(table, 'aws', 'us-east-1', 'constructor'), undefined);

  const headless = parsePriceTable('aws,*,m5.large,0.096\n');
  assert.equal(headless.rows.size, 0);
  assert.match(headless.bad[0].reason, /expected the header/);
});
