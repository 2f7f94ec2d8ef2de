import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CoalEvent } from '../model/event.js';
import type { Signal } from '../model/signal.js';
import { idsAlert } from './ids-alert.js';
import { classifiers } from './index.js';
import { evt, signalsOf, testIntel } from './test-events.js';

const summary = (s: Signal[]) => s.map((x) => `${x.kind}/${x.strength} ${x.by} ${x.subject?.destination ?? ''}`);

/** A Suricata alert as the source maps it: the flow's endpoints plus `rule`. */
function alert(
  name: string,
  category: string | undefined,
  fields: Partial<CoalEvent> = {},
  id: string | undefined = undefined,
): CoalEvent {
  const e = evt('connect', {
    source: { ip: '10.0.4.17', port: 41872 },
    destination: { ip: '198.51.100.23', port: 3333 },
    network: { transport: 'tcp' },
    rule: { name, ...(id ? { id } : {}), ...(category ? { category } : {}) },
    ...fields,
  });
  e.event = { ...e.event, category: ['network'], type: ['indicator'], dataset: 'suricata.alert' };
  return { ...e, coalmine: { ...e.coalmine, format: 'suricata' } };
}

/** A Zeek notice or intel hit as the source maps it. */
function zeek(log: 'notice' | 'intel', rule: CoalEvent['rule'], original: Record<string, unknown>, fields = {}) {
  const e = evt('connect', {
    source: { ip: '10.0.4.17', port: 41872 },
    destination: { ip: '198.51.100.23', port: 3333 },
    rule,
    original: { _path: log, ...original },
    ...fields,
  });
  e.event = { ...e.event, category: ['network'], type: ['indicator'], dataset: `zeek.${log}` };
  return { ...e, coalmine: { ...e.coalmine, format: 'zeek' } };
}

test('an ET COINMINER Stratum alert is strong pool contact on the remote side, quoting the rule and its producer', () => {
  const name = 'ET COINMINER W32/BitCoinMiner.MultiThreat Stratum Protocol Mining.Notify Work Server Response';
  // a server-to-client rule: the pool is the packet's source, the local host its destination
  const s = signalsOf(
    idsAlert,
    alert(
      name,
      'Crypto Currency Mining Activity Detected',
      { source: { ip: '203.0.113.45', port: 3333 }, destination: { ip: '10.0.0.5', port: 49822 } },
      '2017873',
    ),
  );
  // it names the protocol (Stratum, mining.notify): the IDS saw the pool protocol itself, as our own reader would
  assert.deepEqual(summary(s), ['pool-contact/strong ids:suricata 203.0.113.45:3333']);
  assert.equal(s[0].class, 'network');
  assert.ok(s[0].explanation.includes(`Suricata alert "${name}"`), s[0].explanation);
  assert.match(
    s[0].explanation,
    /sid 2017873, "Crypto Currency Mining Activity Detected"\), a mining-protocol signature/,
  );
});

test('mining names and categories: Miner, CoinMiner, XMRig, cryptonight, Stratum, the mining category', () => {
  for (const [name, category] of [
    ['ET POLICY Cryptocurrency Miner Checkin', 'Potential Corporate Privacy Violation'],
    ['ET MALWARE Win32/CoinMiner Variant CnC Beacon', undefined],
    ['ET USER_AGENTS XMRig Miner User-Agent', undefined],
    ['Local cryptonight job from pool', undefined],
    ['ET DNS Query to a *.top domain', 'Crypto Currency Mining Activity Detected'],
  ] as const)
    assert.deepEqual(
      signalsOf(idsAlert, alert(name, category)).map((x) => `${x.kind}/${x.strength}`),
      ['pool-contact/medium'],
      name,
    );
  // naming the protocol makes it strong
  assert.deepEqual(
    signalsOf(idsAlert, alert('ET TROJAN Possible Stratum Login', undefined)).map((x) => `${x.kind}/${x.strength}`),
    ['pool-contact/strong'],
  );
  // NTP's stratum and data mining are not coin mining
  assert.deepEqual(signalsOf(idsAlert, alert('GPL NTP server stratum 16 response', 'Misc activity')), []);
  assert.deepEqual(signalsOf(idsAlert, alert('Local policy Data Mining export to partner', undefined)), []);
});

test('a Bitcoin P2P policy alert is crypto-p2p only, weak and informational; a COINMINER name wins over node words', () => {
  const s = signalsOf(
    idsAlert,
    alert('ET POLICY Bitcoin Peer-to-Peer Protocol Version Message', 'Potential Corporate Privacy Violation', {
      destination: { ip: '198.51.100.23', port: 8333 },
    }),
  );
  assert.deepEqual(summary(s), ['crypto-p2p/weak ids:suricata 198.51.100.23:8333']);
  assert.match(s[0].explanation, /cryptocurrency node traffic signature, not pool mining \(informational\)/);
  for (const name of [
    'Monero P2P levin handshake',
    'ET INFO Ethereum node devp2p discovery',
    'ET INFO Cryptocurrency node',
  ])
    assert.deepEqual(
      signalsOf(idsAlert, alert(name, undefined)).map((x) => x.kind),
      ['crypto-p2p'],
      name,
    );
  // the name's node words outrank a mining category; a mining word in the name outranks the policy word
  assert.deepEqual(
    signalsOf(idsAlert, alert('ET POLICY Bitcoin Node Version', 'Crypto Currency Mining Activity Detected')).map(
      (x) => x.kind,
    ),
    ['crypto-p2p'],
  );
  assert.deepEqual(
    signalsOf(idsAlert, alert('ET COINMINER Bitcoin P2P Miner Checkin', undefined)).map((x) => x.kind),
    ['pool-contact'],
  );
});

test('an unrelated alert (ET SCAN) and a generic proxy policy alert are nothing', () => {
  assert.deepEqual(
    signalsOf(
      idsAlert,
      alert('ET SCAN Suspicious inbound to mySQL port 3306', 'Potential Corporate Privacy Violation'),
    ),
    [],
  );
  assert.deepEqual(
    signalsOf(idsAlert, alert('ET POLICY HTTP Request on Unusual Port Possibly Hostile Proxy', undefined)),
    [],
  );
  assert.deepEqual(
    signalsOf(idsAlert, alert('ET POLICY Open Proxy CONNECT request', 'Potential Corporate Privacy Violation')),
    [],
  );
});

test('a proxyware alert naming a vendor from our proxyware intel is medium proxyware-endpoint', () => {
  const s = signalsOf(
    idsAlert,
    alert('ET POLICY Honeygain Proxyware Client Checkin', 'Potential Corporate Privacy Violation', {
      destination: { ip: '203.0.113.80', port: 443, domain: 'ws.honeygain.com' },
    }),
  );
  assert.deepEqual(summary(s), ['proxyware-endpoint/medium ids:suricata ws.honeygain.com']);
  assert.match(
    s[0].explanation,
    /a proxyware signature naming the client honeygain \(intel (?:proxyware-names|test-only-indicators\.csv): honeygain\)/,
  );
  // vendors known only by their domain, written defanged as ET names do, or by the bare vendor word
  for (const [name, indicator] of [
    ['ET INFO Observed DNS Query to PacketStream Domain (packetstream .io)', 'packetstream.io'],
    ['ET INFO IPRoyal Pawns Activity', 'iproyal.com'],
    ['ET INFO Repocket Client Activity', 'repocket'],
  ])
    assert.ok(
      signalsOf(idsAlert, alert(name, undefined)).some(
        (x) => x.kind === 'proxyware-endpoint' && x.explanation.includes(indicator),
      ),
      name,
    );
});

test('hostile rule names are read bounded, quoted clipped and escaped', () => {
  const huge = `ET COINMINER ${'A'.repeat(100 * 1024)}`;
  const big = signalsOf(idsAlert, alert(huge, undefined));
  assert.equal(big.length, 1);
  assert.ok(big[0].explanation.length < 600, `${big[0].explanation.length}`);
  assert.match(big[0].explanation, /…\[\+\d+\]/);
  const ansi = signalsOf(idsAlert, alert('ET COINMINER \u001b[2J\u001b[31mowned\r\nfake line', '\u001b]0;title\u0007'));
  assert.equal(ansi.length, 1);
  assert.ok(!/[\u0000-\u001f]/.test(ansi[0].explanation), ansi[0].explanation);
  assert.match(ansi[0].explanation, /\\u001b\[2J/);
  // a mining word past the first 512 characters is not read
  assert.deepEqual(signalsOf(idsAlert, alert(`${'x '.repeat(400)}coinminer`, undefined)), []);
  // many separators do not make the word split slow
  const start = performance.now();
  signalsOf(idsAlert, alert(`${'-.'.repeat(50_000)}honeygain`, '.-'.repeat(50_000)));
  assert.ok(performance.now() - start < 200);
});

test('a Zeek notice naming the mining protocol is strong pool contact, quoting the note and its message', () => {
  const s = signalsOf(
    idsAlert,
    zeek(
      'notice',
      { category: 'notice', name: 'Stratum::Mining_Login' },
      { note: 'Stratum::Mining_Login', msg: 'Stratum login from 10.0.4.17' },
    ),
  );
  assert.deepEqual(summary(s), ['pool-contact/strong ids:zeek 198.51.100.23:3333']);
  assert.match(
    s[0].explanation,
    /Zeek notice "Stratum::Mining_Login" \("Stratum login from 10\.0\.4\.17"\), a mining-protocol signature/,
  );
  assert.deepEqual(
    signalsOf(idsAlert, zeek('notice', { category: 'notice', name: 'CaptureLoss::Too_Little_Traffic' }, {})),
    [],
  );
});

test('Zeek intel: our own intel match is left to the network classifier; a mining feed is medium, the indicator alone weak', () => {
  // nanopool.org is in our pool list: network.ts already made pool contact of this dns-query
  const known = zeek(
    'intel',
    { category: 'intel', name: 'Intel::DOMAIN', id: 'pool-feed' },
    { 'seen.indicator': 'xmr-eu1.nanopool.org', 'seen.where': 'DNS::IN_REQUEST', sources: ['coinminer-pools'] },
    { event: { kind: 'event', category: ['network'], action: 'dns-query', dataset: 'zeek.intel' } },
  );
  known.event.type = ['indicator'];
  known.dns = { question: { name: 'xmr-eu1.nanopool.org' } };
  assert.deepEqual(signalsOf(idsAlert, known), []);
  const intel = testIntel();
  const all: Signal[] = [];
  for (const c of classifiers) c.classify(known, { intel }, all);
  assert.deepEqual(summary(all), ['pool-contact/strong network:pool-domain xmr-eu1.nanopool.org']);

  const addr = (indicator: string, sources: string[]) =>
    signalsOf(
      idsAlert,
      zeek(
        'intel',
        { category: 'intel', name: 'Intel::ADDR', id: sources[0] },
        { 'seen.indicator': indicator, 'seen.where': 'Conn::IN_RESP', sources },
        { destination: { ip: indicator, port: 3333 } },
      ),
    );
  const feed = addr('198.51.100.23', ['abuse.ch', 'coinminer-ips']);
  assert.deepEqual(summary(feed), ['pool-contact/medium ids:zeek 198.51.100.23:3333']);
  assert.match(
    feed[0].explanation,
    /Zeek intel hit "Intel::ADDR" "198\.51\.100\.23" \(feed "abuse\.ch", "coinminer-ips"/,
  );
  assert.match(feed[0].explanation, /not in our intel\), the feed names coin mining/);
  assert.deepEqual(summary(addr('198.51.100.23', ['proxyware-exits'])), [
    'proxyware-endpoint/medium ids:zeek 198.51.100.23:3333',
  ]);
  // a feed named "pool" or a generic blocklist says nothing about mining
  assert.deepEqual(addr('198.51.100.23', ['pool-feed', 'abuse.ch']), []);
  // our pool-ips list knows 185.71.66.20: already judged, whatever the feed says
  assert.deepEqual(addr('185.71.66.20', ['coinminer-ips']), []);

  const byIndicator = signalsOf(
    idsAlert,
    zeek(
      'intel',
      { category: 'intel', name: 'Intel::DOMAIN', id: 'blocklist' },
      { 'seen.indicator': 'xmrig.miner.example', 'seen.where': 'SSL::IN_SERVER_NAME', sources: ['blocklist'] },
      { destination: { ip: '203.0.113.7', port: 443, domain: 'xmrig.miner.example' } },
    ),
  );
  assert.deepEqual(summary(byIndicator), ['pool-contact/weak ids:zeek xmrig.miner.example']);
});

test('rules on events of other formats, or events that are no detection, are not read', () => {
  const e = alert('ET COINMINER Checkin', undefined);
  assert.deepEqual(signalsOf(idsAlert, { ...e, coalmine: { ...e.coalmine, format: 'ndjson' } }), []);
  assert.deepEqual(signalsOf(idsAlert, { ...e, event: { ...e.event, type: ['connection'] } }), []);
});

/** A Falco alert as the source maps it: rule + priority, the process (and fd endpoints on a connect). */
function falcoAlert(name: string, action: 'exec' | 'connect' | 'process-seen', fields: Partial<CoalEvent> = {}) {
  const e = evt(action, {
    process: { pid: 4120, name: 'xmrig', executable: '/tmp/.x/xmrig' },
    rule: { name, category: 'Critical' },
    ...(action === 'connect'
      ? { source: { ip: '10.244.1.17', port: 41872 }, destination: { ip: '198.51.100.23', port: 3333 } }
      : {}),
    ...fields,
  });
  e.event = { ...e.event, category: ['process', 'intrusion_detection'], type: ['indicator'], dataset: 'falco.alert' };
  return { ...e, coalmine: { ...e.coalmine, format: 'falco' } };
}

test('Falco: a mining rule on a process is miner-process evidence of the process class, quoting rule and priority', () => {
  for (const name of [
    'Detect crypto miners using the Stratum protocol',
    'Cryptomining binary executed',
    'Miner process started',
  ]) {
    const s = signalsOf(idsAlert, falcoAlert(name, 'exec'));
    assert.deepEqual(summary(s), ['miner-process/medium ids:falco '], name);
    assert.equal(s[0].class, 'process');
    assert.equal(s[0].subject?.executable, '/tmp/.x/xmrig');
    assert.ok(s[0].explanation.includes(`Falco alert "${name}" ("Critical")`), s[0].explanation);
  }
});

test('Falco: a mining rule on a connect is pool contact with the remote end', () => {
  const s = signalsOf(idsAlert, falcoAlert('Detect outbound connections to common miner pool ports', 'connect'));
  assert.deepEqual(summary(s), ['pool-contact/medium ids:falco 198.51.100.23:3333']);
  assert.equal(s[0].class, 'network');
});

test('Falco: drift rules are masquerade-like process evidence; other rules and Falco words alone are nothing', () => {
  for (const name of [
    'Drop and execute new binary in container',
    'Container Drift Detected (chmod)',
    'Container Drift Detected (open+create)',
    'Executing binary not part of base image',
    'Fileless execution via memfd_create',
    'Execution from /dev/shm',
  ]) {
    const s = signalsOf(idsAlert, falcoAlert(name, 'exec'));
    assert.deepEqual(summary(s), ['masquerade/medium ids:falco '], name);
    assert.equal(s[0].class, 'process');
  }
  for (const name of [
    'Terminal shell in container',
    'Read sensitive file untrusted',
    'Write below etc',
    'Data mining job',
  ]) {
    assert.deepEqual(signalsOf(idsAlert, falcoAlert(name, 'process-seen')), [], name);
  }
});

test('Falco: a proxyware rule naming a vendor on a process is proxyware-process evidence', () => {
  const s = signalsOf(idsAlert, falcoAlert('Honeygain proxyware client started', 'exec'));
  assert.equal(s[0]?.kind, 'proxyware-process');
  assert.equal(s[0]?.class, 'process');
});

test('Falco: a rule with no indicator type, or from another format, is not judged as Falco', () => {
  const plain = falcoAlert('Detect crypto miners using the Stratum protocol', 'exec');
  plain.event = { ...plain.event, type: ['start'] };
  assert.deepEqual(signalsOf(idsAlert, plain), []);
  const other = falcoAlert('Container Drift Detected (chmod)', 'exec');
  assert.deepEqual(signalsOf(idsAlert, { ...other, coalmine: { ...other.coalmine, format: 'ndjson' } }), []);
});

/** A GuardDuty finding as the guardduty source maps it: the finding type as the rule, severity band as category. */
function guardDuty(type: string, action: 'dns-query' | 'connect' | 'exec', fields: Partial<CoalEvent> = {}): CoalEvent {
  const at: Partial<CoalEvent> =
    action === 'dns-query'
      ? { dns: { question: { name: 'pool.supportxmr.com' } }, source: { ip: '10.0.1.23' } }
      : action === 'connect'
        ? {
            source: { ip: '10.0.1.23', port: 41872 },
            destination: { ip: '203.0.113.45', port: 3333 },
            network: { transport: 'tcp', direction: 'outbound' },
          }
        : { process: { pid: 4120, name: 'xmrig', executable: '/tmp/.x/xmrig' } };
  const e = evt(action, {
    host: { name: 'i-0a1b2c3d4e5f60718', ip: ['10.0.1.23'] },
    cloud: { provider: 'aws', instance: { id: 'i-0a1b2c3d4e5f60718' } },
    rule: { name: type, id: 'a2c4e6f8a0b2c4d6e8f0a2b4c6d8e0f1', category: 'High' },
    original: { Type: type, Count: 57 },
    ...at,
    ...fields,
  });
  e.event = {
    ...e.event,
    category: action === 'exec' ? ['process'] : ['network'],
    type: ['indicator'],
    dataset: 'guardduty.finding',
  };
  return { ...e, coalmine: { ...e.coalmine, format: 'guardduty' } };
}

test('GuardDuty: crypto DNS and network finding types are pool contact on the domain or address the finding names', () => {
  const cases: Array<[string, 'dns-query' | 'connect', string]> = [
    ['CryptoCurrency:EC2/BitcoinTool.B!DNS', 'dns-query', 'pool.supportxmr.com'],
    ['CryptoCurrency:EC2/BitcoinTool.B', 'connect', '203.0.113.45:3333'],
    ['Impact:EC2/BitcoinDomainRequest.Reputation', 'dns-query', 'pool.supportxmr.com'],
    ['Impact:Runtime/BitcoinDomainRequest.Reputation', 'dns-query', 'pool.supportxmr.com'],
    ['CryptoCurrency:Runtime/BitcoinTool.B!DNS', 'dns-query', 'pool.supportxmr.com'],
    ['CryptoCurrency:Runtime/BitcoinTool.B', 'connect', '203.0.113.45:3333'],
    ['CryptoCurrency:Lambda/BitcoinTool.B', 'connect', '203.0.113.45:3333'],
  ];
  for (const [type, action, remote] of cases) {
    const s = signalsOf(idsAlert, guardDuty(type, action));
    assert.deepEqual(summary(s), [`pool-contact/medium ids:guardduty ${remote}`], type);
    assert.equal(s[0].class, 'network');
    assert.ok(s[0].explanation.includes(`GuardDuty finding "${type}" ("High", seen 57 times)`), s[0].explanation);
  }
});

test('GuardDuty: a Runtime CryptoMinerExecuted finding is miner-process evidence about the process it names', () => {
  const s = signalsOf(idsAlert, guardDuty('Execution:Runtime/CryptoMinerExecuted', 'exec'));
  assert.deepEqual(summary(s), ['miner-process/medium ids:guardduty ']);
  assert.equal(s[0].class, 'process');
  assert.equal(s[0].subject?.executable, '/tmp/.x/xmrig');
  assert.match(s[0].explanation, /^xmrig \(pid 4120\): GuardDuty finding "Execution:Runtime\/CryptoMinerExecuted"/);
});

test('GuardDuty: other finding types are no mining evidence, even on a pool-looking domain or with mining words', () => {
  for (const [type, action] of [
    ['UnauthorizedAccess:EC2/SSHBruteForce', 'connect'],
    ['Recon:EC2/PortProbeUnprotectedPort', 'connect'],
    ['Backdoor:EC2/C&CActivity.B!DNS', 'dns-query'],
    ['Trojan:EC2/DNSDataExfiltration', 'dns-query'],
    ['Impact:EC2/AbusedDomainRequest.Reputation', 'dns-query'],
    ['Impact:EC2/MaliciousDomainRequest.Reputation', 'dns-query'],
    ['Execution:Runtime/NewBinaryExecuted', 'exec'],
    ['Execution:Runtime/ReverseShell', 'exec'],
    // a type GuardDuty does not write: words alone decide nothing
    ['Miner XMRig Stratum CryptoCurrency', 'connect'],
    ['Trojan:EC2/CryptoMiner', 'connect'],
  ] as const)
    assert.deepEqual(signalsOf(idsAlert, guardDuty(type, action)), [], type);
  // the Suricata judge would call this a mining signature; from GuardDuty only the type counts
  assert.deepEqual(
    signalsOf(
      idsAlert,
      guardDuty('Backdoor:EC2/C&CActivity.B', 'connect', {
        rule: { name: 'Backdoor:EC2/C&CActivity.B', category: 'ET COINMINER' },
      }),
    ),
    [],
  );
});

/** A memory-scan match as `coalmine inspect` gives it: the rule's kind as category, its strength in original. */
function memoryMatch(name: string, kind: string | undefined, original: Record<string, unknown> = {}): CoalEvent {
  const e = evt('process-seen', {
    process: { pid: 4242, entity_id: '4242@100', name: 'dbus-helper', executable: '/tmp/x/dbus-helper' },
    rule: { name, ...(kind ? { category: kind } : {}) },
    original: { region: '[heap]@55d0c0', text: '"mining.subscribe"', ...original },
  });
  e.event = { ...e.event, category: ['process', 'intrusion_detection'], type: ['indicator'], dataset: 'inspect.yara' };
  return { ...e, coalmine: { ...e.coalmine, format: 'inspect' } };
}

test('a memory match of our miner rules is process evidence of the strength the rule says, naming rule and region', () => {
  const s = signalsOf(idsAlert, memoryMatch('coalmine_stratum_session', 'miner', { strength: 'strong' }));
  assert.deepEqual(summary(s), ['miner-process/strong ids:inspect ']);
  assert.equal(s[0].class, 'process');
  assert.match(
    s[0].explanation,
    /YARA rule "coalmine_stratum_session" matched its memory \("\[heap\]@55d0c0", ""mining\.subscribe""\)/,
  );
  assert.deepEqual(summary(signalsOf(idsAlert, memoryMatch('coalmine_proxyware_client', 'proxyware'))), [
    'proxyware-process/medium ids:inspect ',
  ]);
  assert.deepEqual(summary(signalsOf(idsAlert, memoryMatch('RandomX memory shape', 'shape'))), [
    'miner-tuning/medium ids:inspect ',
  ]);
});

test("a user's memory rule without a kind is judged by its name; one naming nothing is no evidence", () => {
  assert.deepEqual(summary(signalsOf(idsAlert, memoryMatch('acme_xmrig_fork', undefined))), [
    'miner-process/medium ids:inspect ',
  ]);
  assert.deepEqual(signalsOf(idsAlert, memoryMatch('acme_password_in_memory', undefined)), []);
  assert.deepEqual(
    signalsOf(idsAlert, memoryMatch('x', 'miner', { strength: 'enormous' })).map((x) => x.strength),
    ['medium'],
  );
});

test('a memory match saved as events and hunted (our NDJSON) is the same evidence', () => {
  const e = memoryMatch('coalmine_xmrig_config', 'miner', { strength: 'strong' });
  const read = { ...e, coalmine: { ...e.coalmine, format: 'ndjson' } };
  assert.deepEqual(summary(signalsOf(idsAlert, read)), ['miner-process/strong ids:inspect ']);
  const other = { ...read, event: { ...read.event, dataset: 'falco.alert' } };
  assert.deepEqual(signalsOf(idsAlert, other), [], 'only inspect events are read back so');
});
