import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostOfAuthority } from './ip.js';

test('a Host value that is an address is kept whole, only its port and brackets go', () => {
  assert.deepEqual(hostOfAuthority('203.0.113.5:8080'), { host: '203.0.113.5', address: true });
  assert.deepEqual(hostOfAuthority('203.0.113.5'), { host: '203.0.113.5', address: true });
  assert.deepEqual(hostOfAuthority('[2001:db8::1]:80'), { host: '2001:db8::1', address: true });
  assert.deepEqual(hostOfAuthority('[2001:db8::1]'), { host: '2001:db8::1', address: true });
  assert.deepEqual(hostOfAuthority('2001:db8::1'), { host: '2001:db8::1', address: true });
  assert.deepEqual(hostOfAuthority('::ffff:192.0.2.1'), { host: '::ffff:192.0.2.1', address: true });
});

test('a Host value that is a name loses only its port', () => {
  assert.deepEqual(hostOfAuthority('pool.example:3333'), { host: 'pool.example', address: false });
  assert.deepEqual(hostOfAuthority(' www.example.com '), { host: 'www.example.com', address: false });
});

test('broken or hostile Host values give nothing', () => {
  for (const bad of ['', '[2001:db8::1', '[nope]:80', '[2001:db8::1]x', 'a:b:c', ':80', 'x'.repeat(301), 42])
    assert.equal(hostOfAuthority(bad), undefined, String(bad));
});
