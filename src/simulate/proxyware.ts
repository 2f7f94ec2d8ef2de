/**
 * The proxyware behaviour: a copy of node named like a real bandwidth-sharing client (Pawns/IPRoyal's
 * `pawns-cli`), started with that client's own documented account arguments (a clearly fake account),
 * using little CPU and keeping one TCP connection open to our loopback relay, over which it relays a
 * few hundred bytes a second. Proxyjacking is cheap on CPU, so the name and arguments are the evidence.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Not in the bundled intel (no citable vendor source): found by Pawns' own `-accept-tos` flag beside its account arguments. */
export const PROXYWARE_CLIENT = 'pawns-cli';
/** `.invalid` never resolves (RFC 2606); the password is no one's. */
export const FAKE_ACCOUNT = { email: 'simulate@coalmine.invalid', password: 'coalmine-simulate-not-a-secret' };

/** Pawns' documented start line: `pawns-cli -email=… -password=… -device-name=… -accept-tos`. */
export function proxywareArgs(): string[] {
  return [
    `-email=${FAKE_ACCOUNT.email}`,
    `-password=${FAKE_ACCOUNT.password}`,
    '-device-name=coalmine-simulate',
    '-accept-tos',
  ];
}

// the client: one connection to the relay, a small "relayed request" every second, nothing else
const CLIENT = `
import net from 'node:net';
const arg = (k) => { const i = process.argv.indexOf(k); return i < 0 ? undefined : process.argv[i + 1]; };
const forMs = Number(arg('--for'));
setTimeout(() => process.exit(0), forMs).unref();
const s = net.connect(Number(arg('--relay-port')), '127.0.0.1');
s.on('error', () => process.exit(0));
s.on('data', () => {});
const tick = setInterval(() => s.write('GET http://relayed.coalmine.invalid/ HTTP/1.1\\r\\nHost: relayed.coalmine.invalid\\r\\n\\r\\n'), 1000);
s.on('close', () => { clearInterval(tick); process.exit(0); });
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
`;

export interface StagedProxyware {
  pid: number;
  executable: string;
  command_line: string;
  relay: { address: string; port: number };
}

export function startProxyware(
  dir: string,
  relayPort: number,
  forMs: number,
): { child: ChildProcess; staged: StagedProxyware } {
  const script = join(dir, 'relay-client.mjs');
  writeFileSync(script, CLIENT);
  const executable = join(dir, PROXYWARE_CLIENT);
  copyFileSync(process.execPath, executable);
  const args = [script, ...proxywareArgs(), '--relay-port', String(relayPort), '--for', String(forMs)];
  // stdin is a pipe so the client exits with us even if our cleanup never runs
  const child = spawn(executable, args, { stdio: ['pipe', 'ignore', 'ignore'] });
  return {
    child,
    staged: {
      pid: child.pid ?? -1,
      executable,
      command_line: [executable, ...args].join(' '),
      relay: { address: '127.0.0.1', port: relayPort },
    },
  };
}
