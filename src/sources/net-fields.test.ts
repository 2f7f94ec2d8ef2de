import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { domainOf, serverByPorts, serverPortRank } from './net-fields.js';

test('every port of intel/mining-ports.txt is a server port, wherever it falls', () => {
  const list = readFileSync(join(import.meta.dirname, '..', '..', 'intel', 'mining-ports.txt'), 'utf8');
  const ports = list
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter((l) => l !== '')
    .map(Number);
  assert.ok(ports.length > 10);
  for (const p of ports) assert.equal(serverPortRank(p), 3, String(p));
});

test('the ports name the server when they rank apart, and nothing when alike', () => {
  assert.equal(serverByPorts(443, 50123), 'a');
  assert.equal(serverByPorts(50123, 443), 'b');
  assert.equal(serverByPorts(8080, 40000), 'a');
  assert.equal(serverByPorts(45700, 50000), 'a');
  assert.equal(serverByPorts(40000, 50000), undefined);
  assert.equal(serverByPorts(8080, 9000), undefined);
  assert.equal(serverByPorts(undefined, 80), undefined);
});

test('a domain is a name: addresses in any Host form give none, names lose only the port', () => {
  for (const a of ['203.0.113.5:8080', '[2001:db8::1]:80', '2001:db8::1', '203.0.113.5'])
    assert.equal(domainOf(a), undefined);
  assert.equal(domainOf('pool.example:3333'), 'pool.example');
  assert.equal(domainOf('pool.example'), 'pool.example');
});
