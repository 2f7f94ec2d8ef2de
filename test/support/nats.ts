/**
 * A real NATS JetStream cluster for tests: Debian's `nats-server` (apt-get install nats-server), N nodes
 * (1, or 3 for replicas 3) on loopback with free ports and temporary store dirs, started and waited on
 * until the JetStream meta group has a leader every node knows. A node can be SIGKILLed and started again
 * on its own ports and store. When nats-server cannot be found or started this throws with the reason,
 * so the suite fails rather than skipping (as test/support/postgres.ts does with PostgreSQL).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './postgres.js';

export interface TestNats {
  /** Each node's client URL (`nats://127.0.0.1:PORT`), in node order. */
  urls: string[];
  /** Every node's URL joined by commas, as `--bus` takes them. */
  bus: string;
  /** SIGKILLs node `i` (its store stays). */
  kill(i: number): Promise<void>;
  /** Starts node `i` again on its ports and store and waits until it sees the meta leader. */
  restart(i: number): Promise<void>;
  /** SIGKILLs every node (for a test of a dead cluster); `restartAll` brings them back. */
  killAll(): Promise<void>;
  /** Starts every node that is down and waits for the meta leader (one node alone has no quorum). */
  restartAll(): Promise<void>;
  /** SIGSTOPs node `i`: its connections stay open and nothing is answered (a hung server). */
  pause(i: number): void;
  /** SIGCONTs node `i`. */
  resume(i: number): void;
  /** Each running node's process id (a bench reads their CPU from /proc). */
  pids(): number[];
  /** Kills every node and removes the stores; once. */
  stop(): Promise<void>;
}

interface Node {
  name: string;
  port: number;
  clusterPort: number;
  httpPort: number;
  config: string;
  log: string;
  proc?: ChildProcess;
}

const START_TIMEOUT_MS = 30_000;

function natsServerBin(): string {
  const which = spawnSync('sh', ['-c', 'command -v nats-server || ls /usr/sbin/nats-server'], { encoding: 'utf8' });
  const bin = which.stdout.trim().split('\n')[0];
  if (which.status !== 0 || !bin)
    throw new Error('nats-server not found on PATH or in /usr/sbin (apt-get install nats-server)');
  return bin;
}

function configOf(node: Node, nodes: Node[], storeDir: string): string {
  const lines = [
    `server_name: ${node.name}`,
    `listen: "127.0.0.1:${node.port}"`,
    `http: "127.0.0.1:${node.httpPort}"`,
    // small limits: a test cluster shares a 2-core machine with everything else
    `jetstream { store_dir: "${storeDir}", max_memory_store: 64MB, max_file_store: 2GB }`,
  ];
  if (nodes.length > 1)
    lines.push(
      'cluster {',
      '  name: coalmine-test',
      `  listen: "127.0.0.1:${node.clusterPort}"`,
      `  routes: [${nodes.map((n) => `"nats-route://127.0.0.1:${n.clusterPort}"`).join(', ')}]`,
      '}',
    );
  return `${lines.join('\n')}\n`;
}

/** The meta group's leader as node `node` sees it, or undefined (not up, or no leader yet). */
async function metaLeaderSeenBy(node: Node): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${node.httpPort}/jsz`, { signal: AbortSignal.timeout(1000) });
    if (!res.ok) return undefined;
    const jsz = (await res.json()) as { meta_cluster?: { leader?: string }; disabled?: boolean };
    if (jsz.disabled) return undefined;
    // a single server has no meta group: JetStream answering is enough
    return jsz.meta_cluster ? jsz.meta_cluster.leader || undefined : 'self';
  } catch {
    return undefined;
  }
}

/** Whether node `node` says it is healthy: up, and (with JetStream) its meta group, streams and consumers current. */
async function healthy(node: Node): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${node.httpPort}/healthz`, { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts an `n`-node JetStream cluster (1 or 3 are what tests use) and waits for its meta leader. */
export async function startNats(n = 3): Promise<TestNats> {
  const bin = natsServerBin();
  const dir = mkdtempSync(join(tmpdir(), 'coalmine-nats-'));
  const nodes: Node[] = [];
  const used = new Set<number>();
  const port = async () => {
    for (;;) {
      const p = await freePort();
      if (!used.has(p)) {
        used.add(p);
        return p;
      }
    }
  };
  for (let i = 0; i < n; i++)
    nodes.push({
      name: `n${i + 1}`,
      port: await port(),
      clusterPort: await port(),
      httpPort: await port(),
      config: join(dir, `n${i + 1}.conf`),
      log: join(dir, `n${i + 1}.log`),
    });
  for (const node of nodes) {
    const store = join(dir, node.name);
    mkdirSync(store);
    writeFileSync(node.config, configOf(node, nodes, store));
  }

  const logTail = (node: Node): string => {
    try {
      return readFileSync(node.log, 'utf8').slice(-1500);
    } catch {
      return '(no log)';
    }
  };
  const launch = (node: Node): void => {
    const proc = spawn(bin, ['-c', node.config, '-l', node.log], { stdio: 'ignore' });
    proc.on('error', () => {});
    node.proc = proc;
  };
  const kill = async (node: Node): Promise<void> => {
    const proc = node.proc;
    node.proc = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGKILL');
    await exited;
  };
  /**
   * Until every running node sees one leader (and the same one) and says it is healthy: a node restarted
   * into a cluster answers before its streams have caught up, and a request then can time out on a loaded
   * machine.
   */
  const settled = async (which: Node[]): Promise<void> => {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      for (const node of which)
        if (node.proc && (node.proc.exitCode !== null || node.proc.signalCode !== null))
          throw new Error(
            `nats-server ${node.name} exited (${node.proc.exitCode ?? node.proc.signalCode}): ${logTail(node)}`,
          );
      const leaders = await Promise.all(which.map(metaLeaderSeenBy));
      if (
        leaders.every((l) => l !== undefined) &&
        new Set(leaders).size === 1 &&
        (await Promise.all(which.map(healthy))).every(Boolean)
      )
        return;
      if (Date.now() > deadline)
        throw new Error(
          `the JetStream cluster had no meta leader within ${START_TIMEOUT_MS} ms (seen: ${leaders.join(', ')}): ${logTail(which[0])}`,
        );
      await delay(100);
    }
  };

  let stopped = false;
  const stopNow = () => {
    if (stopped) return;
    stopped = true;
    for (const node of nodes) node.proc?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  // a test process that dies without its after() hook must not leave servers behind
  process.once('exit', stopNow);
  try {
    for (const node of nodes) launch(node);
    await settled(nodes);
  } catch (err) {
    stopNow();
    throw err;
  }
  const urls = nodes.map((node) => `nats://127.0.0.1:${node.port}`);
  const at = (i: number): Node => {
    const node = nodes[i];
    if (!node) throw new Error(`no node ${i} (the cluster has ${nodes.length})`);
    return node;
  };
  return {
    urls,
    bus: urls.join(','),
    kill: (i) => kill(at(i)),
    restart: async (i) => {
      const node = at(i);
      await kill(node);
      launch(node);
      await settled(nodes.filter((x) => x.proc));
    },
    killAll: async () => {
      for (const node of nodes) await kill(node);
    },
    pause: (i) => {
      at(i).proc?.kill('SIGSTOP');
    },
    resume: (i) => {
      at(i).proc?.kill('SIGCONT');
    },
    restartAll: async () => {
      for (const node of nodes) if (!node.proc) launch(node);
      await settled(nodes);
    },
    pids: () => nodes.flatMap((node) => (node.proc?.pid !== undefined ? [node.proc.pid] : [])),
    stop: async () => {
      for (const node of nodes) await kill(node);
      process.removeListener('exit', stopNow);
      stopNow();
    },
  };
}
