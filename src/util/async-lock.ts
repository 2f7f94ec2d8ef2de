/**
 * A FIFO lock over awaits: `run(fn)` starts `fn` once every earlier holder has finished (whether it
 * resolved or threw), so work that spans awaits cannot interleave. The store's SQLite transactions and
 * serve's ingest (one body at a time, so the log's order is the detector's) both hold one.
 */
export class AsyncLock {
  private tail: Promise<void> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
