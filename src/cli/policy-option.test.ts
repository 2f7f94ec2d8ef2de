import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { defaultPolicy } from '../model/policy.js';
import { collectPlaceholder, withPlaceholders } from './policy-option.js';

test('--sigma-placeholder name=v1,v2 collects values per name; the flag wins over coalmine.yaml per name', () => {
  let flags = collectPlaceholder('pool_ports=3333,14444');
  flags = collectPlaceholder('pool_ports=5555', flags);
  flags = collectPlaceholder('dc=dc-01.corp', flags);
  assert.deepEqual(flags, { pool_ports: ['3333', '14444', '5555'], dc: ['dc-01.corp'] });
  for (const bad of ['pool_ports', '=x', 'a b=x', 'p=', 'p=,', `p=${'x,'.repeat(1001)}`, 'p=a\u0000b'])
    assert.throws(() => collectPlaceholder(bad), InvalidArgumentError, bad);
  const policy = { ...defaultPolicy(), sigma: { placeholders: { dc: ['old'], domains: ['corp.example'] } } };
  assert.deepEqual(withPlaceholders(policy, flags).sigma?.placeholders, {
    dc: ['dc-01.corp'],
    domains: ['corp.example'],
    pool_ports: ['3333', '14444', '5555'],
  });
  assert.equal(withPlaceholders(policy, undefined), policy);
});
