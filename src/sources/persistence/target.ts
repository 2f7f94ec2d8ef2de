/**
 * What a persistence entry launches: the absolute paths a shell command line would run or read,
 * so the engine can tie a cron line or ExecStart to the process it starts. Shared by every source
 * that reads persistence (crontab files, osquery `crontab`, systemd units, rc files).
 */

const MAX_COMMAND_CHARS = 8192;
/** Shell programs whose first argument is the real target (`bash /root/.x.sh`). */
const INTERPRETERS = new Set([
  'sh',
  'bash',
  'dash',
  'zsh',
  'ksh',
  'busybox',
  'python',
  'python3',
  'perl',
  'nohup',
  'setsid',
  'nice',
  'exec',
  'env',
  'sudo',
  'timeout',
]);
const NOT_TARGETS = new Set(['/dev/null', '/dev/zero', '/dev/stdout', '/dev/stderr']);

/**
 * Absolute (or `~`/`./`-relative) paths named as programs or scripts in a command, in order of appearance,
 * without redirection targets (`> /dev/null`, `>> /tmp/log`). The first entry is the main target.
 */
export function commandTargets(command: string): string[] {
  const text = command.length > MAX_COMMAND_CHARS ? command.slice(0, MAX_COMMAND_CHARS) : command;
  // split into words on whitespace and shell punctuation; quotes are dropped, not interpreted
  const words = text.split(/[\s;&|()`'"]+/).filter((w) => w.length > 0);
  const targets: string[] = [];
  let afterRedirect = false;
  let skipNext = false; // the operand of cd/test/[: a directory or a checked file, not something run
  let afterDoubleDash = false; // `daemon --exec X -- -c /etc/x.json`: what follows are arguments
  for (const word of words) {
    if (word === '--') {
      afterDoubleDash = true;
      continue;
    }
    if (word === 'cd' || word === 'test' || word === '[' || word === 'pushd') {
      skipNext = true;
      continue;
    }
    if (skipNext) {
      if (!word.startsWith('-')) skipNext = false;
      continue;
    }
    if (afterDoubleDash) continue;
    if (/^\d*>>?&?$|^<$|^&>$/.test(word)) {
      afterRedirect = true;
      continue;
    }
    const redirectGlued = /^\d*>>?(.+)$/.exec(word);
    if (redirectGlued) {
      afterRedirect = false;
      continue;
    }
    if (afterRedirect) {
      afterRedirect = false;
      continue;
    }
    if (!/^(\/|~\/|\.\/)/.test(word)) continue;
    const base = word.slice(word.lastIndexOf('/') + 1);
    if (NOT_TARGETS.has(word) || word === '/') continue;
    if (INTERPRETERS.has(base) && targets.length === 0) continue;
    if (!targets.includes(word)) targets.push(word);
  }
  return targets;
}
