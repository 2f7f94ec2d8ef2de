/**
 * The thread `watch --inspect` reads memory and probes pids on (run/watch.ts), so a scan of seconds
 * (a busy process holding hundreds of MiB, a probe of every pid) never holds up sampling: a process that
 * starts and ends while a scan runs is still sampled. It loads the YARA rules once (the bundled ones and
 * `yara`), reports their issues, and answers requests one at a time, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Issue } from '../model/issue.js';
import { findHiddenProcesses, type HiddenScan } from '../sensor/hidden-processes.js';
import type { YaraRules } from '../sensor/yara.js';
import { inspectProcess, loadYaraRules, type ProcessInspection } from './inspect.js';
import { startRunWorker } from './worker-thread.js';

export interface InspectThreadInput {
  kind: 'coalmine-inspect';
  /** The user's YARA rule files or directories (the bundled rules are always loaded). */
  yara: string[];
  procRoot?: string;
}

type Request = { id: number; type: 'inspect'; pid: number } | { id: number; type: 'hidden'; budgetMs: number };

type Reply =
  | { id: number; type: 'inspect'; inspection: ProcessInspection }
  | { id: number; type: 'hidden'; scan: HiddenScan }
  | { id: number; type: 'failed'; reason: string }
  | { type: 'issue'; issue: Issue };

/** The main thread's side: requests in, answers as promises (rejected when the thread fails or is closed). */
export class InspectThread {
  private readonly worker;
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private failed: Error | undefined;

  constructor(input: Omit<InspectThreadInput, 'kind'>, onIssue: (i: Issue) => void) {
    this.worker = startRunWorker('inspect-worker', { kind: 'coalmine-inspect', ...input } satisfies InspectThreadInput);
    this.worker.on('message', (m: Reply) => {
      if (m.type === 'issue') {
        onIssue(m.issue);
        return;
      }
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      w?.resolve(m);
    });
    const fail = (e: Error) => {
      this.failed ??= e;
      for (const w of this.waiting.values()) w.reject(e);
      this.waiting.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the inspect thread exited (code ${code})`)));
  }

  inspect(pid: number): Promise<ProcessInspection> {
    return this.ask({ id: 0, type: 'inspect', pid }).then((r) => {
      if (r.type !== 'inspect') throw new Error(r.type === 'failed' ? r.reason : 'unexpected answer');
      return r.inspection;
    });
  }

  probeHidden(budgetMs: number): Promise<HiddenScan> {
    return this.ask({ id: 0, type: 'hidden', budgetMs }).then((r) => {
      if (r.type !== 'hidden') throw new Error(r.type === 'failed' ? r.reason : 'unexpected answer');
      return r.scan;
    });
  }

  /** Stops the thread; what it was doing is dropped (its promises reject). */
  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private ask(request: Request): Promise<Reply> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id });
    });
  }
}

async function serve(input: InspectThreadInput): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const post = (r: Reply) => port.postMessage(r);
  let rules: YaraRules | undefined;
  const loaded = loadYaraRules(input.yara, (issue) => post({ type: 'issue', issue })).then(
    (r) => {
      rules = r;
    },
    (err: unknown) => {
      const reason = err instanceof Error ? err.message : String(err);
      post({ type: 'issue', issue: { file: 'yara', code: 'YARA_UNAVAILABLE', reason, stage: 'loading' } });
    },
  );
  // requests are answered in order: the rules first, then each scan to its end before the next
  let queue: Promise<void> = loaded;
  port.on('message', (request: Request) => {
    queue = queue.then(() => {
      try {
        if (request.type === 'inspect')
          post({
            id: request.id,
            type: 'inspect',
            inspection: inspectProcess(request.pid, { procRoot: input.procRoot, rules }),
          });
        else
          post({
            id: request.id,
            type: 'hidden',
            scan: findHiddenProcesses({ procRoot: input.procRoot, timeBudgetMs: request.budgetMs }),
          });
      } catch (err) {
        post({ id: request.id, type: 'failed', reason: err instanceof Error ? err.message : String(err) });
      }
    });
  });
}

if (parentPort && (workerData as { kind?: string } | undefined)?.kind === 'coalmine-inspect')
  void serve(workerData as InspectThreadInput);
