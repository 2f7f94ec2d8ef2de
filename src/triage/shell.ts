/**
 * Quoting for the commands containment plans print: a hostile name pasted into a shell stays one inert
 * argument, and a value no quoting makes safe to paste (control characters, a line break that would end
 * the command) goes into no command at all.
 */

const CONTROL = /[\u0000-\u001f\u007f]/;

/** POSIX shell single quotes: nothing inside is expanded. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** PowerShell single quotes: only a doubled quote is special. */
export function psQuote(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** A value a command may carry once quoted: present, bounded, no control characters. */
export function safe(value: string | undefined): value is string {
  return value !== undefined && value.length > 0 && value.length <= 4096 && !CONTROL.test(value);
}

export function byHand(what: string): string {
  return `# ${what} holds control characters: do this step by hand`;
}
