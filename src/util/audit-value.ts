/**
 * auditd's value encodings, shared by the auditd reader and the Sigma rules that read auditd records by
 * their own field names: quoted text, `(null)`, or hex for values with spaces or special characters.
 */
export const HEX = /^(?:[0-9A-Fa-f]{2})+$/;

/** Decode a hex-encoded auditd value; NULs (argv separators in PROCTITLE) become `sep`. */
export function unhex(value: string, sep = ' '): string | undefined {
  if (!HEX.test(value)) return undefined;
  const buf = Buffer.from(value, 'hex');
  let s = buf.toString('utf8');
  if (s.includes('\u0000')) s = s.replace(/\u0000+$/, '').replace(/\u0000/g, sep);
  return s;
}

/**
 * A value as auditd wrote it: quoted, `(null)`, hex-encoded (for EXECVE args, proctitle, comm, exe) or
 * plain. A hex field that does not decode gives nothing: its raw text is never taken for the value.
 */
export function auditValue(raw: string | undefined, maybeHex: boolean): string | undefined {
  if (raw === undefined || raw === '(null)') return undefined;
  if (raw.length >= 2 && raw.charCodeAt(0) === 34 && raw.charCodeAt(raw.length - 1) === 34) return raw.slice(1, -1);
  if (maybeHex) return unhex(raw);
  return raw;
}
