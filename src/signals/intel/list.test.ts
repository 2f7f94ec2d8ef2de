import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  guessIndicator,
  normaliseDomain,
  normaliseImage,
  parseBundledList,
  parseCidr,
  parseIp,
  parseIpv4,
  parseIpv6,
  parseUserFile,
  splitCsvLine,
} from './list.js';

test('IPv4 parsing accepts dotted quads only', () => {
  assert.equal(parseIpv4('185.71.66.20'), 185 * 2 ** 24 + 71 * 2 ** 16 + 66 * 256 + 20);
  for (const bad of ['256.1.1.1', '1.2.3', '1.2.3.4.5', '1..2.3', '1.2.3.4 ', 'a.b.c.d', '1234.1.1.1'])
    assert.equal(parseIpv4(bad), undefined, bad);
});

test('IPv6 parsing handles compression, an IPv4 tail, zones and brackets', () => {
  assert.equal(parseIpv6('::1'), 1n);
  assert.equal(parseIpv6('2001:db8::1'), parseIpv6('2001:0db8:0:0:0:0:0:1'));
  assert.equal(parseIpv6('[fe80::1%eth0]'), parseIpv6('fe80::1'));
  assert.equal(parseIpv6('::ffff:1.2.3.4'), (0xffffn << 32n) | 0x01020304n);
  for (const bad of ['1:2:3:4:5:6:7:8:9', '2001:db8:::1', '::1::', '12345::', 'g::1', ':'])
    assert.equal(parseIpv6(bad), undefined, bad);
});

test('an IPv4-mapped IPv6 address is read as IPv4', () => {
  assert.deepEqual(parseIp('::ffff:10.0.0.1'), { version: 4, value: 10 * 2 ** 24 + 1 });
  assert.equal(parseIp('2001:db8::1')?.version, 6);
});

test('CIDR ranges need a prefix that does not cover a large part of the Internet', () => {
  assert.equal(typeof parseCidr('10.0.0.0/8'), 'object');
  assert.equal(typeof parseCidr('2001:db8::/32'), 'object');
  assert.match(parseCidr('0.0.0.0/0') as string, /\/8\.\.\/32/);
  assert.match(parseCidr('2001::/8') as string, /\/16\.\.\/128/);
  assert.match(parseCidr('10.0.0.0/x') as string, /prefix/);
  assert.match(parseCidr('pool/24') as string, /not an IP range/);
});

test('domains are lower-cased, lose a trailing dot, and need two labels', () => {
  assert.equal(normaliseDomain('Pool.SupportXMR.com.'), 'pool.supportxmr.com');
  assert.equal(normaliseDomain('_dmarc.example.com'), '_dmarc.example.com');
  for (const bad of ['localhost', 'pool.', 'a..b.com', '-a.com', 'a.123', `${'a'.repeat(64)}.com`, 'x y.com'])
    assert.equal(normaliseDomain(bad), undefined, bad);
});

test('image references reduce to their repository', () => {
  assert.equal(normaliseImage('docker.io/library/nginx:1.25'), 'nginx');
  assert.equal(normaliseImage('localhost/metal3d/xmrig'), 'metal3d/xmrig');
  assert.equal(normaliseImage('registry:5000/a/b:tag@sha256:00'), 'a/b');
  assert.equal(normaliseImage('Metal3D/XMRig'), 'metal3d/xmrig');
});

test('a bare indicator is recognised by its shape, defanged, as a URL or with a kind prefix', () => {
  assert.deepEqual(guessIndicator('pool[.]evil[.]example'), { kind: 'pool-domain', value: 'pool.evil.example' });
  assert.deepEqual(guessIndicator('hxxp://1.2.3[.]4/x.sh'), { kind: 'pool-ip', value: '1.2.3.4' });
  assert.deepEqual(guessIndicator('stratum+tcp://xmr.pool.example:3333'), {
    kind: 'pool-domain',
    value: 'xmr.pool.example',
  });
  assert.deepEqual(guessIndicator('port:3333'), { kind: 'mining-port', value: '3333' });
  assert.deepEqual(guessIndicator('proxyware-name:sdkclient'), { kind: 'proxyware-name', value: 'sdkclient' });
  assert.deepEqual(guessIndicator('2001:db8::/32'), { kind: 'pool-ip', value: '2001:db8::/32' });
  assert.equal(guessIndicator('d41d8cd98f00b204e9800998ecf8427e')?.kind, 'miner-hash');
  assert.equal(guessIndicator('just-words'), undefined);
});

test('CSV lines follow RFC 4180 quoting on one line', () => {
  assert.deepEqual(splitCsvLine('a, b ,"c, d","say ""hi"""'), ['a', 'b', 'c, d', 'say "hi"']);
  assert.deepEqual(splitCsvLine('a,,'), ['a', '', '']);
  assert.equal(splitCsvLine('"open,b'), undefined);
  assert.equal(splitCsvLine('"a"b,c'), undefined);
});

test('bundled lists take headers, notes and strength sections', () => {
  const parsed = parseBundledList(
    '# set: demo\n# kind: pool-domain\n# strength: strong\n# source: us\n\na.example  # first\n# strength: medium\nb.example\n',
  );
  assert.equal(parsed.set, 'demo');
  assert.equal(parsed.source, 'us');
  assert.deepEqual(
    parsed.entries.map((e) => [e.value, e.strength, e.note, e.line]),
    [
      ['a.example', 'strong', 'first', 6],
      ['b.example', 'medium', undefined, 8],
    ],
  );
  const mixed = parseBundledList('# kind: mixed\nminer-image a/b\nbogus c/d\n');
  assert.deepEqual(
    mixed.entries.map((e) => e.kind),
    ['miner-image'],
  );
  assert.deepEqual(mixed.bad, [{ line: 3, reason: 'unknown kind "bogus"' }]);
  assert.deepEqual(parseBundledList('x.example\n').bad, [{ line: 1, reason: 'no "# kind:" header' }]);
});

test('user files: the format is detected from the content', () => {
  assert.equal(parseUserFile('\ufeffindicator,type\nx.example,domain\n').format, 'csv');
  assert.equal(parseUserFile('# hosts\n0.0.0.0 a.example\n0.0.0.0 b.example\n').format, 'hosts');
  assert.equal(parseUserFile('a.example\n1.2.3.4\n').format, 'list');
  // a CSV without a type column guesses each indicator's kind
  const guessed = parseUserFile('indicator,note\n1.2.3.4,front\nport:5555,\n');
  assert.deepEqual(
    guessed.entries.map((e) => [e.kind, e.value, e.note]),
    [
      ['pool-ip', '1.2.3.4', 'front'],
      ['mining-port', '5555', undefined],
    ],
  );
});

test('plain-list words after the indicator become its note; overlong lines are bad lines', () => {
  const parsed = parseUserFile(`evil.example seen in case 4 # and a comment\n${'a'.repeat(5000)}\n`);
  assert.equal(parsed.entries[0].note, 'seen in case 4 and a comment');
  assert.deepEqual(
    parsed.bad.map((b) => b.line),
    [2],
  );
});
