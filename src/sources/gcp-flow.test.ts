import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { cutLineCase, fileInput, memoryInput, readAll, runSourceContract, TEST_CONTEXT } from './contract.js';
import { gcpAudit } from './gcp-audit.js';
import { gcpFlow } from './gcp-flow.js';
import { sniffSource } from './index.js';
import { ndjson } from './ndjson.js';
import { suricata } from './suricata.js';
import { zeek } from './zeek.js';

const good = fileInput('test/fixtures/gcp-flow/good.log');
const bad = fileInput('test/fixtures/gcp-flow/bad.log');
const gcloudRead = fileInput('test/fixtures/gcp-flow/gcloud-read.json');
const goodText = readFileSync('test/fixtures/gcp-flow/good.log', 'utf8');

runSourceContract({
  source: gcpFlow,
  good,
  bad,
  // the export copied while the pool flow was written: it ends inside the destination address
  cut: cutLineCase(good, 2, '"dest_ip":"', '198.51.100.77'),
});

test('each flow record is a connect at its start on the reporting VM; a firewall verdict is unused', async () => {
  const { events } = await readAll(gcpFlow, good);
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.host?.name, e.network?.direction]),
    [
      [1, 'gpu-node-1', 'outbound'],
      [2, 'gpu-node-1', 'outbound'], // the download's answer, reported by the VM as DEST
      [3, 'gpu-node-1', 'outbound'],
      [4, 'gpu-node-1', 'outbound'],
      [5, 'web-mig-7k2p', 'internal'],
      [6, 'web-mig-7k2p', 'inbound'],
      [7, undefined, undefined], // a gateway's record names no VM: joined by address
    ],
  );
  assert.ok(events.every((e) => e.event.action === 'connect' && e.event.dataset === 'gcp-flow.vpc_flows'));
  let unused = 0;
  for await (const batch of gcpFlow.read(good, TEST_CONTEXT)) unused += batch.unused ?? 0;
  assert.equal(unused, 1);
});

test('the pool session: client is the VM both ways, the answer’s bytes are the server’s, instance and location facts', async () => {
  const { events } = await readAll(gcpFlow, good);
  const [out, back] = events.filter((e) => e.destination?.port === 3333);
  assert.equal(out['@timestamp'], '2026-11-03T02:12:15.000Z');
  assert.equal(out.event.id, 'fl2a');
  assert.deepEqual(out.source, { ip: '10.148.0.7', port: 45110, bytes: 18234 });
  assert.deepEqual(out.destination, { ip: '203.0.113.50', port: 3333 });
  assert.deepEqual(out.network, { transport: 'tcp', bytes: 18234, packets: 61, direction: 'outbound' });
  assert.deepEqual(out.coalmine.flow, { durationMs: 5000, clientBytes: 18234 });
  assert.deepEqual(out.cloud, {
    provider: 'gcp',
    account: { id: 'example-prod-123456' },
    instance: { id: 'gpu-node-1', name: 'gpu-node-1' },
    region: 'asia-southeast1',
    availability_zone: 'asia-southeast1-b',
  });
  // the pool's answer (src 203.0.113.50:3333): swapped so the VM is the client
  assert.deepEqual(back.source, { ip: '10.148.0.7', port: 45110 });
  assert.deepEqual(back.destination, { ip: '203.0.113.50', port: 3333, bytes: 9120 });
  assert.deepEqual(back.coalmine.flow, { durationMs: 4990, serverBytes: 9120 });
  assert.equal(back.host?.name, 'gpu-node-1');
  const dns = events.find((e) => e.coalmine.ref.line === 7);
  assert.equal(dns?.network?.transport, 'udp');
  assert.deepEqual(dns?.cloud, { provider: 'gcp', account: { id: 'example-prod-123456' }, region: 'asia-southeast1' });
  // the payload is kept, its location facts too
  assert.deepEqual((out.original.jsonPayload as { dest_location?: unknown }).dest_location, {
    asn: 64501,
    continent: 'Europe',
    country: 'deu',
  });
});

test('gcloud logging read output (one array) gives the same flows as the lines', async () => {
  const doc = await readAll(gcpFlow, gcloudRead);
  const lines = await readAll(gcpFlow, good);
  assert.deepEqual(doc.issues, []);
  const facts = (e: (typeof lines.events)[number]) => [e['@timestamp'], e.source, e.destination, e.network, e.cloud];
  assert.deepEqual(
    doc.events.map(facts).sort(),
    lines.events
      .filter((e) => e.destination?.port === 3333)
      .map(facts)
      .sort(),
  );
  assert.equal(sniffSource(gcloudRead)?.name, 'gcp-flow');
});

test('hostile values: non-addresses, odd counts, protocols and spans never reach an event as read', async () => {
  const line = JSON.stringify({
    logName: 'projects/example-prod-123456/logs/compute.googleapis.com%2Fvpc_flows',
    timestamp: '2026-11-03T05:00:00Z',
    jsonPayload: {
      connection: { src_ip: '10.148.0.7', src_port: 70000, dest_ip: '198.51.100.9', dest_port: '3333', protocol: 999 },
      reporter: 'SRC',
      src_instance: { vm_name: 'Bad Name; rm -rf /', project_id: 'example-prod-123456', zone: 'x'.repeat(500) },
      bytes_sent: '-5',
      packets_sent: '1e400',
      start_time: '2026-11-03T05:00:00Z',
      end_time: '2027-11-03T05:00:00Z',
    },
  });
  const { events, issues } = await readAll(gcpFlow, memoryInput('hostile.log', `${line}\n`));
  assert.deepEqual(issues, []);
  const [e] = events;
  assert.deepEqual(e.source, { ip: '10.148.0.7' });
  assert.deepEqual(e.destination, { ip: '198.51.100.9', port: 3333 });
  assert.equal(e.network?.transport, undefined);
  assert.equal(e.network?.bytes, undefined);
  assert.equal(e.network?.packets, undefined);
  assert.equal(e.coalmine.flow?.durationMs, undefined); // a year is no one record's span
  assert.equal(e.host, undefined); // the VM name is not one GCP would write
  assert.equal(e.cloud?.instance, undefined);
});

test('sniffed from its first line; Cloud Audit Logs, Zeek, Suricata and ndjson lines are not VPC flows', () => {
  assert.equal(sniffSource(good)?.name, 'gcp-flow');
  const first = goodText.split('\n')[0];
  for (const other of [gcpAudit, zeek, suricata, ndjson])
    assert.equal(other.sniff(first, { name: 'f.log' }), 0, other.name);
  assert.ok(gcpFlow.sniff(first.slice(0, 300), { name: 'f.log' }) > 0);
  const audit = readFileSync('test/fixtures/gcp-audit/good.log', 'utf8').split('\n')[3];
  assert.equal(gcpFlow.sniff(audit, { name: 'a.log' }), 0);
  const eve =
    '{"timestamp":"2026-11-03T05:00:00.000000+0000","event_type":"flow","src_ip":"10.0.0.1","dest_ip":"198.51.100.9"}';
  assert.equal(gcpFlow.sniff(eve, { name: 'eve.json' }), 0);
});

test('fuzz: a damaged export never throws; every issue has a line and every event is a connect', async () => {
  let seed = 11;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const bytes = Buffer.from(goodText);
  for (let round = 0; round < 60; round++) {
    const copy = Buffer.from(bytes.subarray(0, round % 3 === 0 ? rand(bytes.length) : bytes.length));
    for (let flips = 0; flips < 1 + rand(6); flips++)
      copy[rand(copy.length)] = [0x22, 0x7b, 0x7d, 0x5d, 0x2c, 0x00, 0x0a, 0x39][rand(8)];
    const { events, issues } = await readAll(gcpFlow, memoryInput(`fuzz-${round}.log`, copy));
    for (const i of issues) assert.ok(i.line !== undefined && i.line >= 1, `${i.code} without a line`);
    for (const e of events) assert.equal(e.event.action, 'connect');
  }
});
