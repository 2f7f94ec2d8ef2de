import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HOSTILE_CASE, hostileFinding } from '../../test/support/hostile-finding.js';
import { rawInvisible } from '../../test/support/invisible.js';
import { table } from './table.js';

test('table: control, bidi and zero-width characters from the input are shown as escapes, never raw', () => {
  const out = table.render([hostileFinding()], { color: false, version: 't', cases: [HOSTILE_CASE] });
  assert.deepEqual(rawInvisible(out), []);
  assert.match(out, /evil\\u202egpj\.exe\\u200d\\u001b\[31mred\\u2028\\ufeff\\u\{e0041\}\\u2066x\\u000aforged/);
  for (const part of [
    'Cryptomining by evil',
    'command line: /tmp/evil',
    'gap evil',
    'suppressed by coalmine',
    'context: 2 h before evil\\u202e',
    'and 3 more detection(s) on the host',
  ])
    assert.ok(out.includes(part), part);
});

test('table: with colour on, the only ESC bytes are our own severity colours', () => {
  const out = table.render([hostileFinding()], { color: true, version: 't' });
  const escapes = out.match(/\u001b\[[0-9;]*m/g) ?? [];
  assert.deepEqual(escapes, ['\u001b[1;31m', '\u001b[0m']);
  assert.deepEqual(rawInvisible(out.replace(/\u001b\[(?:1;31|0)m/g, '')), []);
});

test('table: a container finding leads with its workload, images, creator and authorization, escaped', () => {
  const f = hostileFinding();
  f.analytic = 'AN0745';
  f.facts = {
    ...f.facts,
    cluster: 'prod',
    namespace: 'kube-system',
    workload: 'DaemonSet/kube-netmon\u202e',
    replicas: 3,
    nodes: ['worker-1', 'worker-2', 'worker-3', 'worker-4', 'worker-5'],
    images: ['docker.io/x/y:1\u001b[31m'],
    creator: 'system:anonymous',
    creator_source_ips: ['203.0.113.45'],
    authorization: 'written by an unauthenticated identity',
  };
  const out = table.render([f], { color: false, version: 't' });
  assert.deepEqual(rawInvisible(out), []);
  assert.match(
    out,
    /workload: prod\/kube-system DaemonSet\/kube-netmon\\u202e, 3 replica\(s\) on worker-1, worker-2, worker-3, worker-4, …/,
  );
  assert.match(out, /images: docker\.io\/x\/y:1\\u001b\[31m/);
  assert.match(out, /created by: system:anonymous from 203\.0\.113\.45/);
  assert.match(out, /authorization: written by an unauthenticated identity/);
});
