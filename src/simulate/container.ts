/**
 * The container behaviour, live: when a Docker daemon answers, the miner's burner (miner.ts: a bounded
 * share of one core, a Stratum login to 127.0.0.1) runs in a container of the `node` image with no
 * network at all (its loopback is its own, so the login reaches nothing), a CPU quota of the same
 * share, little memory and few pids, read-only, no capabilities, as nobody. It is labelled with the
 * run's owner marker (owner.ts), so cleanup finds it by label, and a later run removes what a killed
 * run left. Docker is driven only through execFile/spawn of the `docker` CLI with argument arrays,
 * never a shell. No daemon (no socket, or `docker version` fails): the behaviour is skipped and says why.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync } from 'node:fs';
import { type Owner, ownerAlive, ownerMarker, parseOwner } from './owner.js';

export const DOCKER_SOCKET = '/var/run/docker.sock';
/** The image the burner runs in: node, as the burner is a node script. Pulled by Docker if missing. */
export const BURNER_IMAGE = 'node:20-alpine';
/** Every container we start carries this label, its value our owner marker. */
export const OWNER_LABEL = 'io.coalmine.simulate.owner';
const DOCKER_TIMEOUT_MS = 15_000;
/** The pull of a missing image may take this long before the run is given up. */
const RUN_TIMEOUT_MS = 120_000;
const MAX_OUTPUT_BYTES = 1024 * 1024;
const MAX_LEFTOVERS = 256;
/** The tail of `docker run`'s stderr kept to say why it failed (a pull refused, no such image). */
const MAX_STDERR_CHARS = 2048;

export interface StagedContainer {
  name: string;
  image: string;
  command_line: string;
  pid?: number;
}

export interface SkippedContainer {
  skipped: string;
}

function docker(args: string[], timeout = DOCKER_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('docker', args, { timeout, maxBuffer: MAX_OUTPUT_BYTES, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const why = (stderr.trim().split('\n').pop() ?? '') || err.message;
        reject(new Error(why.slice(0, 300)));
      } else resolve(stdout);
    });
  });
}

/** Why Docker cannot be used here, or undefined when the daemon answers. DOCKER_HOST, when set, is the CLI's to follow. */
export async function dockerUnavailable(socket = DOCKER_SOCKET): Promise<string | undefined> {
  if (!process.env.DOCKER_HOST && !existsSync(socket)) return `no Docker daemon: ${socket} does not exist`;
  try {
    const version = (await docker(['version', '--format', '{{.Server.Version}}'])).trim();
    return version === '' ? 'docker version names no server' : undefined;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return e.code === 'ENOENT'
      ? `${socket} exists but the docker CLI is not installed`
      : `docker version failed: ${e.message}`;
  }
}

/** Remove the containers that carry our label and whose run is gone (killed before its cleanup). */
export async function removeLeftoverContainers(): Promise<string[]> {
  let out: string;
  try {
    out = await docker([
      'ps',
      '--all',
      '--filter',
      `label=${OWNER_LABEL}`,
      '--format',
      `{{.ID}}\t{{.Label "${OWNER_LABEL}"}}`,
    ]);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const line of out.split('\n').slice(0, MAX_LEFTOVERS)) {
    const tab = line.indexOf('\t');
    if (tab < 0) continue;
    const id = line.slice(0, tab);
    const owner = parseOwner(line.slice(tab + 1));
    if (!/^[0-9a-f]{12,64}$/.test(id) || !owner || ownerAlive(owner)) continue;
    try {
      await docker(['rm', '--force', id]);
      removed.push(`removed container ${id}, left by simulate pid ${owner.pid} (no longer running)`);
    } catch {
      // gone meanwhile
    }
  }
  return removed;
}

/**
 * `docker run` of the burner, attached (stdin a pipe: when we die, the client's stdin closes and so
 * does the burner's, like the miner's), removed when it exits (--rm) and by name at cleanup.
 */
export function startBurnerContainer(
  burner: { script: string; args: string[] },
  owner: Owner,
  forMs: number,
  share: number,
): {
  child: ChildProcess;
  staged: StagedContainer;
  remove: () => Promise<void>;
  /** Why `docker run` failed (its exit code and last stderr line), once it has; undefined while it runs or after a clean end. */
  failure: () => string | undefined;
} {
  // the container runs as nobody: it must be able to read the script whatever our umask
  chmodSync(burner.script, 0o644);
  const name = `coalmine-sim-${owner.pid}-${Date.now().toString(36)}`;
  const inner = ['node', '/sim/burn.mjs', ...burner.args, '--for', String(forMs), '--share', String(share)];
  const args = [
    'run',
    '--rm',
    '--interactive',
    '--pull',
    'missing',
    '--name',
    name,
    '--label',
    `${OWNER_LABEL}=${ownerMarker(owner)}`,
    '--network',
    'none',
    '--cpus',
    String(share),
    '--memory',
    '128m',
    '--pids-limit',
    '32',
    '--read-only',
    '--cap-drop',
    'ALL',
    '--security-opt',
    'no-new-privileges',
    '--user',
    '65534:65534',
    '--stop-timeout',
    '2',
    '--volume',
    `${burner.script}:/sim/burn.mjs:ro`,
    BURNER_IMAGE,
    ...inner,
  ];
  const child = spawn('docker', args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  let failure: string | undefined;
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    stderr = (stderr + d).slice(-MAX_STDERR_CHARS);
  });
  // a pull that hangs must not outlive the run
  const guard = setTimeout(() => child.kill('SIGKILL'), forMs + RUN_TIMEOUT_MS);
  guard.unref();
  child.on('exit', (code) => {
    clearTimeout(guard);
    // 125–127: docker run itself failed; a kill at cleanup has no code
    if (code !== null && code !== 0) {
      const last = stderr.trim().split('\n').pop() ?? '';
      failure = `docker run exited with ${code}${last ? `: ${last.slice(0, 300)}` : ''}`;
    }
  });
  return {
    child,
    staged: { name, image: BURNER_IMAGE, command_line: inner.join(' '), pid: child.pid },
    failure: () => failure,
    remove: async () => {
      try {
        await docker(['rm', '--force', name]);
      } catch {
        // already removed by --rm
      }
    },
  };
}
