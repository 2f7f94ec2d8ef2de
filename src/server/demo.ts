/**
 * `coalmine serve --demo`: the server on a fresh store (a temporary directory, or `--store`), an admin
 * token for the person trying it, and the bundled `examples/` sent in as a sensor sends telemetry:
 * each collected file one `POST /api/v1/events` to the server just started, so the demo's findings and
 * cases come from the same route, pipeline and store as a real sensor's.
 *
 * An example directory is walked as `hunt` walks it (`run/inputs.ts`): its `etc/hostname` names the
 * host, its bodyfile and hostname are read as the collection's own facts, not sent. Each body is named
 * `EXAMPLE/PATH` (`kinsing-like/var/log/audit/audit.log`), as `coalmine hunt kinsing-like` names the
 * file from `examples/`, and the files of a collection are sent one after another, so serve reads them
 * as one batch (run/live.ts `settleMs`): the findings, ids and evidence are `hunt`'s of the directory
 * (but for the times of the cron files' entries: the API takes no modification time, so serve dates
 * a state file by its arrival; see the README's Serve section).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Issue } from '../model/issue.js';
import type { Policy } from '../model/policy.js';
import { expandInputs } from '../run/inputs.js';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_SETTLE_MS } from '../run/live.js';
import { clip, inert } from '../util/hostile.js';
import { packagePath } from '../util/package-root.js';
import { DEFAULT_TICK_MS } from './ingest.js';
import { type RunningServer, startServe } from './start.js';

export const DEMO_ACTOR = 'coalmine serve --demo';

export interface DemoOptions {
  /** A store to use and keep; default: a new temporary directory, removed on close. */
  store?: string;
  policy: Policy;
  host: string;
  port: number;
  log: (line: string) => void;
  /** Example directories (default: every directory under the bundled `examples/`). */
  examples?: string[];
  /** Sigma rule directories the server's detector runs (the CLI gives the bundled ones, as hunt runs). */
  ruleDirs?: string[];
}

export interface SentFile {
  example: string;
  /** The file's path in its collection (`var/log/audit/audit.log`). */
  name: string;
  status: number;
  events: number;
  format?: string;
  /** The server's reasons when it refused the body, or the first problems of an accepted one. */
  issues: string[];
}

export interface RunningDemo {
  running: RunningServer;
  /** The admin token's secret, for the person trying the demo. */
  secret: string;
  /** Where the store is, and whether it is a temporary one. */
  store: string;
  temporary: boolean;
  sent: SentFile[];
  /** Closes the server and store, then removes a temporary store. */
  close(): Promise<void>;
}

/** The bundled example collections, sorted by name. */
export function bundledExamples(): string[] {
  const root = packagePath('examples');
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join(root, d.name))
    .sort();
}

const exampleName = (dir: string) => dir.split(/[\\/]/).filter(Boolean).pop() ?? dir;

/**
 * A file's bytes as its collection holds them (gzip inflated: the server reads either), whole; a
 * file larger than a body the server takes is not read past that and not sent.
 */
async function bytesOf(open: () => AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of open()) {
    total += chunk.length;
    if (total > DEFAULT_MAX_BODY_BYTES)
      throw new Error(`over ${DEFAULT_MAX_BODY_BYTES} bytes, more than one request takes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

/**
 * Each file of each example collection POSTed to `url`'s `/api/v1/events` with `token`, one request
 * a file, named by its path in the collection and with the collection's host; the answers, in order.
 * A file that cannot be read or sent is listed with why; the rest are still sent.
 */
export async function sendExamples(
  url: URL,
  token: string,
  examples: string[],
  log: (line: string) => void,
): Promise<SentFile[]> {
  const sent: SentFile[] = [];
  for (const dir of examples) {
    const example = exampleName(dir);
    const issues: Issue[] = [];
    const files = await expandInputs([dir], undefined, (i) => issues.push(i));
    for (const i of issues) log(`coalmine serve --demo: ${inert(i.file)}: ${i.code} ${clip(inert(i.reason), 300)}`);
    for (const file of files) {
      const name = file.input.relPath ?? exampleName(file.input.name);
      // named as hunt names the file when run on the example from examples/, so evidence reads the same
      const query = new URLSearchParams({ name: `${example}/${name}` });
      if (file.input.hostHint) query.set('host', file.input.hostHint);
      // the file's mtime as hunt takes it (the collection's bodyfile, else the file's own): what dates a cron file
      if (file.input.mtimeMs !== undefined) query.set('mtime', new Date(file.input.mtimeMs).toISOString());
      const entry: SentFile = { example, name, status: 0, events: 0, issues: [] };
      try {
        const body = await bytesOf(file.input.open);
        const answer = await fetch(new URL(`/api/v1/events?${query}`, url), {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
          body,
        });
        entry.status = answer.status;
        const json = (await answer.json().catch(() => ({}))) as {
          events?: number;
          format?: string;
          issues?: { ref: string; code: string; reason: string }[];
          error?: { code?: string; reason?: string };
        };
        entry.events = typeof json.events === 'number' ? json.events : 0;
        if (typeof json.format === 'string') entry.format = json.format;
        for (const i of (json.issues ?? []).slice(0, 5)) entry.issues.push(`${i.code} ${i.reason}`);
        if (answer.status >= 400 && json.error) entry.issues.push(`${json.error.code} ${json.error.reason}`);
      } catch (err) {
        entry.issues.push(`not sent: ${(err as Error).message}`);
      }
      sent.push(entry);
      const what =
        entry.status === 202 ? `${entry.events} events (${entry.format ?? '?'})` : `refused (${entry.status})`;
      const why = entry.issues.length > 0 ? `: ${entry.issues.join('; ')}` : '';
      log(`coalmine serve --demo: ${inert(example)}/${inert(name)}: ${what}${clip(inert(why), 600)}`);
    }
  }
  return sent;
}

/**
 * The demo server: started, an admin token made, the examples sent in by a sensor token of their own.
 * Answers once the examples are sent; their findings are stored at the pipeline's next tick.
 */
export async function startDemo(options: DemoOptions): Promise<RunningDemo> {
  const temporary = options.store === undefined;
  const dir = temporary ? mkdtempSync(join(tmpdir(), 'coalmine-demo-')) : undefined;
  const store = options.store ?? join(dir as string, 'coalmine.db');
  const removeDir = () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
  let running: RunningServer;
  try {
    running = await startServe({
      store,
      policy: options.policy,
      host: options.host,
      port: options.port,
      log: options.log,
      ruleDirs: options.ruleDirs,
    });
  } catch (err) {
    removeDir();
    throw err;
  }
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= running.close().finally(removeDir);
    return closing;
  };
  try {
    const admin = await running.store.tokens.create({ name: 'demo-admin', role: 'admin', actor: DEMO_ACTOR });
    const sensor = await running.store.tokens.create({ name: 'demo-examples', role: 'sensor', actor: DEMO_ACTOR });
    const sent = await sendExamples(running.url, sensor.secret, options.examples ?? bundledExamples(), options.log);
    return { running, secret: admin.secret, store, temporary, sent, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * How long after the examples are sent their findings are stored: the batch's quiet time, the
 * pipeline's clock period (the first tick after it reads the batch), and a margin.
 */
export const DEMO_SETTLE_MS = DEFAULT_SETTLE_MS + DEFAULT_TICK_MS + 1500;
