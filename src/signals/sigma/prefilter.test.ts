/**
 * The prefilter may skip a rule only when the event cannot match it. Each detection below is compiled
 * as the loader compiles one, and run over events made to hit and miss its literals; whenever the
 * condition holds, the prefilter must have selected the rule. Detections whose condition can hold with
 * no literal present (`not`, `|re`, `|exists`, null, fieldref, `1 of` with such a branch) must be
 * selected for every event; literal ones must also be skipped where their text is absent, so the
 * prefilter is shown to filter at all.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../../bench/fuzz-rng.js';
import type { CoalEvent } from '../../model/event.js';
import {
  type CompileContext,
  compileCondition,
  compileSelection,
  FieldCache,
  type Predicate,
  requirementOf,
} from './compile.js';
import { parseCondition } from './condition.js';
import { RulePrefilter } from './prefilter.js';
import { regexNecessaryText } from './regex.js';

const map = { CommandLine: 'process.command_line', Image: 'process.executable' };

function compile(detection: Record<string, unknown>): Predicate {
  const ctx: CompileContext = { map, placeholders: {}, unmapped: new Set() };
  const selections = new Map<string, Predicate>();
  for (const [name, body] of Object.entries(detection))
    if (name !== 'condition') selections.set(name, compileSelection(name, body, ctx));
  return compileCondition(parseCondition(String(detection.condition)), selections);
}

function win(data: Record<string, string>): CoalEvent {
  return {
    '@timestamp': '2025-01-01T00:00:00.000Z',
    event: { kind: 'event', category: [], action: 'exec', dataset: 't' },
    host: { name: 'w', os: { platform: 'windows' } },
    original: {
      Provider: 'Microsoft-Windows-Sysmon',
      Channel: 'Microsoft-Windows-Sysmon/Operational',
      EventID: 1,
      EventData: data,
    },
    coalmine: { ts: 0, format: 'evtx', ref: { file: 'f', record: '1' } },
  };
}

const EVENTS: CoalEvent[] = [
  win({ Image: 'C:\\Windows\\System32\\cmd.exe', CommandLine: 'cmd.exe /c whoami', ParentImage: 'C:\\x\\cmd.exe' }),
  win({ Image: 'C:\\Tools\\MIMIKATZ.EXE', CommandLine: 'mimikatz sekurlsa::logonpasswords' }),
  win({ Image: 'C:\\Windows\\powershell.exe', CommandLine: 'powershell /EncodedCommand SQBFAFgA' }),
  win({ Image: 'C:\\Windows\\powershell.exe', CommandLine: 'powershell \u2013enc SQBFAFgA' }),
  win({ Image: 'C:\\a\\b.exe', CommandLine: 'b.exe', ParentImage: 'C:\\a\\b.exe' }),
  win({ Image: 'C:\\a\\b.exe', CommandLine: 'Invoke-Expression (New-Object Net.WebClient)' }),
  win({ Image: 'C:\\a\\c.exe', CommandLine: '', Extra: 'note: Rubeus in the record, not the command' }),
  win({ Image: 'C:\\a\\d.exe', CommandLine: 'd.exe -u -p 3333 stratum+tcp://pool' }),
  win({ Image: 'C:\\a\\d.exe', CommandLine: 'd.exe --Url stratum+tcp://Pool' }),
  win({ Image: 'C:\\a\\e.exe', DestinationIp: '10.1.2.3' }),
];

/** Detections whose condition can hold on an event without any literal of theirs: always selected. */
const ALWAYS: Array<[string, Record<string, unknown>]> = [
  ['not alone', { filter: { 'Image|endswith': '\\cmd.exe' }, condition: 'not filter' }],
  ['re without text', { selection: { 'CommandLine|re': '[a-z]{3}' }, condition: 'selection' }],
  ['re of alternatives', { selection: { 'CommandLine|re': '^(?:cmd|b)\\.' }, condition: 'selection' }],
  ['exists: false', { selection: { 'ParentImage|exists': false }, condition: 'selection' }],
  ['exists: true', { selection: { 'ParentImage|exists': true }, condition: 'selection' }],
  ['null', { selection: { CommandLine: null }, condition: 'selection' }],
  ['empty value', { selection: { CommandLine: '' }, condition: 'selection' }],
  ['a literal or null', { selection: { CommandLine: ['nothere', null] }, condition: 'selection' }],
  ['a literal or a wildcard', { selection: { 'CommandLine|startswith': ['nothere', '*'] }, condition: 'selection' }],
  ['fieldref', { selection: { 'ParentImage|fieldref': 'Image' }, condition: 'selection' }],
  ['wildcards only', { selection: { CommandLine: '*' }, condition: 'selection' }],
  ['cidr', { selection: { 'DestinationIp|cidr': '10.0.0.0/8' }, condition: 'selection' }],
  [
    '1 of with a non-literal branch',
    { sel_a: { 'Image|endswith': '\\nothere.exe' }, sel_b: { 'CommandLine|re': '^.{3,}\\s' }, condition: '1 of sel_*' },
  ],
  [
    'or with a not branch',
    { sel: { 'CommandLine|contains': 'nothere' }, filter: { Image: 'x' }, condition: 'sel or not filter' },
  ],
  [
    'a list with a regex map',
    { sel: [{ 'CommandLine|contains': 'nothere' }, { 'CommandLine|re': 'w.o.m' }], condition: 'sel' },
  ],
];

/** Detections made only of literal tests (plus non-literal parts that only narrow): filtered. */
const LITERAL: Array<[string, Record<string, unknown>]> = [
  ['endswith', { sel: { 'Image|endswith': '\\cmd.exe' }, condition: 'sel' }],
  ['and not', { sel: { 'CommandLine|contains': 'whoami' }, filter: { Image: 'x' }, condition: 'sel and not filter' }],
  ['re', { sel: { 'CommandLine|re': 'Invoke-[A-Z]' }, condition: 'sel' }],
  [
    're with (?i), a group and optional parts',
    { sel: { 'CommandLine|re': '(?i)(new-object) ?net\\.web(client)?' }, condition: 'sel' },
  ],
  ['and with re', { sel: { 'Image|endswith': '\\b.exe', 'CommandLine|re': 'Invoke' }, condition: 'sel' }],
  ['and with exists', { sel: { 'Image|endswith': '\\b.exe', 'ParentImage|exists': true }, condition: 'sel' }],
  ['and with fieldref', { sel: { 'ParentImage|fieldref': 'Image', 'Image|endswith': '\\b.exe' }, condition: 'sel' }],
  ['keyword', { keywords: ['rubeus', 'MIMIKATZ'], condition: 'keywords' }],
  ['keyword and field', { keywords: ['sekurlsa'], sel: { 'Image|contains': 'mimi' }, condition: 'keywords and sel' }],
  ['contains|all', { sel: { 'CommandLine|contains|all': ['-u', '-p', 'stratum'] }, condition: 'sel' }],
  ['wildcards inside', { sel: { CommandLine: 'd.exe*stra?um*' }, condition: 'sel' }],
  ['windash', { sel: { 'CommandLine|windash|contains': ' -enc ' }, condition: 'sel' }],
  ['cased', { sel: { 'CommandLine|cased|contains': 'Pool' }, condition: 'sel' }],
  ['utf16 base64offset', { sel: { 'CommandLine|wide|base64offset|contains': 'IEX' }, condition: 'sel' }],
  ['startswith list', { sel: { 'CommandLine|startswith': ['powershell', 'cmd'] }, condition: 'sel' }],
  ['equals', { sel: { CommandLine: 'B.EXE' }, condition: 'sel' }],
  [
    '1 of literal selections',
    { sel_a: { 'Image|endswith': '\\c.exe' }, sel_b: { 'CommandLine|contains': 'whoami' }, condition: '1 of sel_*' },
  ],
  [
    'all of, one with re',
    { sel_a: { 'Image|endswith': '\\d.exe' }, sel_b: { 'CommandLine|re': 'pool' }, condition: 'all of sel_*' },
  ],
  ['a list of maps', { sel: [{ 'Image|endswith': '\\d.exe' }, { CommandLine: 'b.exe' }], condition: 'sel' }],
];

function selectedFor(predicates: Predicate[], event: CoalEvent): Set<number> {
  const prefilter = new RulePrefilter(predicates.map(requirementOf));
  const n = prefilter.select(event, new FieldCache());
  return new Set(prefilter.selected.subarray(0, n));
}

test('the prefilter never skips a rule the event matches (not, re, exists, null, fieldref, keywords, 1 of)', () => {
  const all = [...ALWAYS, ...LITERAL];
  const predicates = all.map(([, d]) => compile(d));
  let held = 0;
  for (const event of EVENTS) {
    const selected = selectedFor(predicates, event);
    for (let r = 0; r < predicates.length; r++)
      if (predicates[r](event, new FieldCache())) {
        held++;
        assert.ok(selected.has(r), `${all[r][0]}: matches ${JSON.stringify(event.original)} but was skipped`);
      }
  }
  // every detection above holds on some event, so each was checked where it matters
  assert.ok(held >= all.length, `${held} matches`);
  for (let r = 0; r < predicates.length; r++)
    assert.ok(
      EVENTS.some((e) => predicates[r](e, new FieldCache())),
      `${all[r][0]} matches none of the events: the test would prove nothing for it`,
    );
});

test('detections that can hold without any of their literals are always run', () => {
  for (const [name, d] of ALWAYS) {
    assert.deepEqual(requirementOf(compile(d)), [], name);
    for (const event of EVENTS) assert.equal(selectedFor([compile(d)], event).size, 1, name);
  }
});

test('literal detections are skipped on events without their text', () => {
  for (const [name, d] of LITERAL) {
    const predicate = compile(d);
    assert.ok(requirementOf(predicate).length > 0, `${name} has no requirement`);
    const skipped = EVENTS.filter((e) => selectedFor([predicate], e).size === 0);
    assert.ok(skipped.length > 0, `${name} was run on every event`);
    for (const e of skipped) assert.equal(predicate(e, new FieldCache()), false, name);
  }
});

test('a field value is lower-cased once per event and shared by every rule, not read per rule', () => {
  const predicates = [
    compile({ sel: { 'CommandLine|contains': 'whoami' }, condition: 'sel' }),
    compile({ sel: { 'CommandLine|endswith': 'WHOAMI' }, condition: 'sel' }),
  ];
  const event = EVENTS[0];
  let reads = 0;
  const data = (event.original as { EventData: Record<string, string> }).EventData;
  const counted = new Proxy(data, {
    get(target, key) {
      if (key === 'CommandLine') reads++;
      return Reflect.get(target, key);
    },
  });
  const counting: CoalEvent = { ...event, original: { ...(event.original as object), EventData: counted } };
  const cache = new FieldCache();
  const prefilter = new RulePrefilter(predicates.map(requirementOf));
  const n = prefilter.select(counting, cache);
  assert.equal(n, 2);
  for (const p of predicates) assert.ok(p(counting, cache));
  assert.equal(reads, 1);
});

test('a regex needs the longest text outside classes, alternations and optional parts; lower-cased', () => {
  const cases: Array<[string, string | undefined]> = [
    ['Invoke-[A-Z]', 'invoke-'],
    ['(?i)IEX\\s*\\(', 'iex'],
    ['ab+cd', 'ab'],
    ['ab?cdef', 'cdef'],
    ['x(?:yz|q)w', undefined],
    ['foo(bar)+baz', 'foo'],
    ['(?<name>word)s{0,3}', 'word'],
    ['\\x41\\x42', undefined],
    ['c:\\\\windows\\\\', 'c:\\windows\\'],
    ['one|two', undefined],
    ['[a-z]+\\.exe', '.exe'],
    ['\\u0041bc', 'bc'],
  ];
  for (const [pattern, want] of cases) assert.equal(regexNecessaryText(pattern), want, pattern);
  // and it is necessary: every string a pattern matches holds it, lower-cased
  const samples = [
    'Invoke-Expression',
    'IEX (x)',
    'iex(',
    'abbbcd',
    'acdef',
    'abcdef',
    'foobarbarbaz',
    'wordsss',
    'AB',
    'C:\\Windows\\x',
    'one',
    'two',
    'x.EXE',
    'Abc',
  ];
  for (const [pattern, want] of cases) {
    if (!want) continue;
    const re = new RegExp(pattern.replace(/^\(\?i\)/, ''), pattern.startsWith('(?i)') ? 'i' : '');
    for (const s of samples) if (re.test(s)) assert.ok(s.toLowerCase().includes(want), `${pattern} on ${s}`);
  }
});

test('heads and tails of many lengths: a rule is selected exactly when a value starts or ends with its text', () => {
  // texts that share their ends and lengths (the hash along the value, looked up per length, must tell them apart)
  const rng = new Rng(0x5e1ec7);
  const alphabet = ['a', 'b', '\\', '.', 'e', 'x', 'É', '-'];
  const word = (n: number) => Array.from({ length: n }, () => rng.pick(alphabet)).join('');
  const rules: Array<{ how: 'startswith' | 'endswith'; text: string }> = [];
  for (let i = 0; i < 60; i++)
    rules.push({ how: rng.chance(0.5) ? 'startswith' : 'endswith', text: word(1 + rng.int(6)) });
  const predicates = rules.map(({ how, text }) => compile({ sel: { [`Image|${how}`]: text }, condition: 'sel' }));
  const prefilter = new RulePrefilter(predicates.map(requirementOf));
  let hits = 0;
  for (let i = 0; i < 400; i++) {
    const image = word(rng.int(10));
    const event = win({ Image: image });
    const n = prefilter.select(event, new FieldCache());
    const selected = new Set(prefilter.selected.subarray(0, n));
    rules.forEach(({ how, text }, r) => {
      // the rule's own condition is the oracle (Sigma reads `\\` as one backslash); one literal test is exact
      const holds = predicates[r](event, new FieldCache());
      if (holds) hits++;
      assert.equal(selected.has(r), holds, `${how} ${JSON.stringify(text)} on ${JSON.stringify(image)}`);
    });
  }
  assert.ok(hits > 200, `${hits} hits: the values reach the texts`);
});
