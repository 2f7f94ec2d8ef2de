/**
 * End to end on network telemetry alone: the real CLI reads our Zeek fixtures
 * (scripts/fixtures/zeek-relay.py) and finds the proxyjacking relay by its surge over its own normal,
 * with the inbound SSH from tool clients as context, but not a NAT whose fan-out is always high nor
 * one busy browser; and a capture joined mid-flow names the miner as the client and the pool as the
 * destination, with a containment plan that never blocks the host from itself.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Finding } from '../../src/model/finding.js';
import { ndjsonFindings, runCli } from '../support/cli.js';
import { tcpSession, writePcap } from '../support/pcap-writer.js';

const ZEEK = join(import.meta.dirname, '..', 'fixtures', 'zeek');
const work = mkdtempSync(join(tmpdir(), 'coalmine-relay-'));
after(() => rmSync(work, { recursive: true, force: true }));

function hunt(path: string): Finding[] {
  const r = runCli(['hunt', path, '--format', 'ndjson']);
  assert.equal(r.code, 0, r.stderr);
  return ndjsonFindings(r.stdout);
}

test('a quiet host that starts relaying behind bot SSH logins is a Proxyjacking finding from Zeek logs alone', () => {
  const findings = hunt(join(ZEEK, 'relay'));
  assert.equal(findings.length, 1, JSON.stringify(findings.map((f) => f.title)));
  const [f] = findings;
  assert.match(f.title, /^Proxyjacking from address 10\.0\.4\.30/);
  assert.deepEqual(f.attack, ['T1496.002']);
  assert.equal(f.severity, 'low');
  assert.deepEqual(
    f.evidence.map((e) => [e.kind, e.strength]),
    [
      ['inbound-access', 'weak'],
      ['proxy-relay', 'strong'],
    ],
  );
  const relay = f.evidence.find((e) => e.kind === 'proxy-relay');
  assert.match(relay?.explanation ?? '', /within 10 minutes against its normal of 2 and 1/);
  const access = f.evidence.find((e) => e.kind === 'inbound-access');
  assert.match(
    access?.explanation ?? '',
    /30 inbound SSH sessions from 30 sources \(6 logged in\), clients libssh_0\.9\.6 ×20, Go ×10: tool clients/,
  );
});

test('a gateway whose fan-out is always that high, and one busy browser, are not relays', () => {
  assert.deepEqual(hunt(join(ZEEK, 'relay-nat')), []);
  assert.deepEqual(hunt(join(ZEEK, 'relay-browser')), []);
});

test('a capture joined mid-flow, the pool speaking first, names the miner as client and the pool as destination', () => {
  const e = { client: '10.0.0.5', server: '198.51.100.7', cport: 40000, sport: 3333 };
  const packets = tcpSession(
    e,
    Date.UTC(2026, 0, 5, 10, 0),
    [
      { from: 'server', data: '{"id":null,"method":"mining.notify","params":["job1"]}\n' },
      { from: 'client', data: '{"id":4,"method":"mining.submit","params":["wallet.rig1","job1"]}\n' },
    ],
    { fin: false },
  ).slice(3);
  const file = join(work, 'mid-flow.pcap');
  writeFileSync(file, writePcap(packets));
  const [f] = hunt(file);
  assert.ok(f, 'a finding');
  assert.equal(f.host, '10.0.0.5');
  const contact = f.evidence.find((x) => x.kind === 'pool-contact');
  assert.match(contact?.explanation ?? '', /^10\.0\.0\.5: Stratum .* on 198\.51\.100\.7:3333/);
  const commands = f.triage?.containment.steps.flatMap((s) => s.commands) ?? [];
  assert.ok(
    commands.includes(`iptables -I FORWARD -s '10.0.0.5' -d 198.51.100.7 -j DROP   # on the gateway`),
    commands.join('\n'),
  );
  assert.ok(!commands.some((c) => /-s '?10\.0\.0\.5'? -d 10\.0\.0\.5/.test(c)));
});
