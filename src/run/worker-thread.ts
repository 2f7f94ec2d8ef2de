/**
 * Starting one of run/'s worker-thread modules (hunt-worker, inspect-worker) the one way: the built
 * `NAME.js` beside this module, or `NAME.ts` when this runs from src/ through tsx, where the thread
 * registers tsx first (its loader is not inherited when the CLI registered it through tsx's API).
 */
import { type ResourceLimits, Worker } from 'node:worker_threads';

export function startRunWorker(name: string, workerData: unknown, resourceLimits?: ResourceLimits): Worker {
  const self = import.meta.url;
  const options = { workerData, ...(resourceLimits ? { resourceLimits } : {}) };
  if (!self.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, self), options);
  const script = new URL(`./${name}.ts`, self).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(script)}); })`;
  return new Worker(boot, { ...options, eval: true });
}
