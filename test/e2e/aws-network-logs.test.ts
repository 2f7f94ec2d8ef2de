/**
 * End to end on AWS network logs: the real CLI sniffs VPC Flow Logs (an S3 `.log.gz` object and a v5
 * header-form object) and Route 53 Resolver query logs, reads them with no bad input, and the miner's
 * flows and lookups land on its instance (by the instance id the records name), not on an address.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ndjsonFindings, runCli } from '../support/cli.js';

const ROOT = join(import.meta.dirname, '..', '..');
const VPC = join(ROOT, 'test', 'fixtures', 'vpc-flow');
const R53 = join(ROOT, 'test', 'fixtures', 'route53-resolver');
const V5 = join(VPC, '123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f6a7b8_20260302T0100Z_3f2a9c1e.log');
const GZ = join(VPC, '123456789012_vpcflowlogs_eu-west-1_fl-0fedcba9876543210_20260302T0110Z_c0ffee12.log.gz');
const QUERIES = join(R53, 'queries.log');

test('the gzip object S3 delivers is opened, sniffed as vpc-flow and read whole', () => {
  const r = runCli(['hunt', GZ, '--format', 'ndjson']);
  assert.equal(r.code, 0, r.stderr);
  // the miner's record and the pool's answer are one connection, one event
  assert.match(r.stderr, /1 files? \(vpc-flow 1\), 2 events/);
  assert.doesNotMatch(r.stderr, /bad input/);
});

test("the miner's pool flows and pool lookups are evidence on its instance, citing the lines that said so", () => {
  const r = runCli(['hunt', V5, QUERIES, '--format', 'ndjson']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /\(route53-resolver 1, vpc-flow 1\)/);
  assert.doesNotMatch(r.stderr, /bad input/);
  const onMiner = ndjsonFindings(r.stdout).filter((f) => f.entity === 'instance:aws:i-0a1b2c3d4e5f60718');
  assert.equal(onMiner.length, 1, r.stdout);
  const sources = onMiner[0].evidence.map((e) => e.source);
  assert.ok(
    sources.some((s) => /vpcflowlogs_us-east-1_.*\.log:2$/.test(s)),
    `the SYN to the pool port: ${sources.join(', ')}`,
  );
  assert.ok(
    sources.some((s) => /queries\.log:1$/.test(s)),
    `the pool lookup: ${sources.join(', ')}`,
  );
  // the web server's ordinary traffic (a visitor on 443, the VPC resolver, a rejected SSH probe) raises nothing
  assert.ok(!ndjsonFindings(r.stdout).some((f) => f.entity.includes('i-0fedcba9876543210')));
});
