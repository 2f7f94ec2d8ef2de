import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AUTO_WORKERS_MIN_BYTES, autoWorkers } from './hunt.js';
import { expandInputs } from './inputs.js';

const dir = mkdtempSync(join(tmpdir(), 'coalmine-auto-workers-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a run that does not ask splits only NDJSON big enough to pay: other formats are parsed whole by every worker', async () => {
  const ndjson = join(dir, 'events.ndjson');
  writeFileSync(
    ndjson,
    '{"@timestamp":"2026-03-02T06:00:00.011Z","event":{"kind":"metric","category":["host"],"action":"metric","dataset":"m"},"host":{"name":"a"},"metrics":{"cpu_pct":1},"original":{}}\n',
  );
  const audit = join(dir, 'audit.log');
  writeFileSync(
    audit,
    'type=SYSCALL msg=audit(1741917600.207:20411): arch=c000003e syscall=59 success=yes exit=0 ppid=2990 pid=3001 auid=4294967295 uid=1000 comm="bash" exe="/usr/bin/bash" key="exec"\n',
  );
  const files = await expandInputs([ndjson, audit], undefined, () => {});
  const big = (name: string, bytes: number) =>
    files.filter((f) => f.input.name.endsWith(name)).map((f) => ({ ...f, sizeBytes: bytes }));
  const enough = AUTO_WORKERS_MIN_BYTES;
  assert.equal(autoWorkers(big('events.ndjson', enough), undefined, 2), 2);
  assert.equal(autoWorkers(big('events.ndjson', enough - 1), undefined, 2), 1);
  assert.equal(autoWorkers(big('audit.log', 10 * enough), undefined, 2), 1, 'a big audit.log stays on one thread');
  assert.equal(autoWorkers([...big('audit.log', enough), ...big('events.ndjson', enough / 2)], undefined, 2), 1);
  assert.equal(autoWorkers(big('audit.log', enough), 'ndjson', 2), 2, 'a forced format is the format');
  assert.equal(autoWorkers(big('events.ndjson', enough), undefined, 64), 16, 'at most 16');
});
