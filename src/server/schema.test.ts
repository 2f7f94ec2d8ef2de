import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Schema, validateSchema } from './schema.js';

const schemas: Record<string, Schema> = {
  Step: {
    type: 'object',
    required: ['id'],
    additionalProperties: false,
    properties: { id: { type: 'string', maxLength: 4 } },
  },
  Loop: { $ref: '#/components/schemas/Loop' },
};
const check = (schema: Schema, value: unknown) => validateSchema(schema, value, schemas);

test('types, nullable lists, integers as numbers', () => {
  assert.deepEqual(check({ type: 'string' }, 'a'), []);
  assert.deepEqual(check({ type: 'string' }, 1), ['the value: must be string, not integer']);
  assert.deepEqual(check({ type: ['integer', 'null'] }, null), []);
  assert.deepEqual(check({ type: 'integer' }, 1.5), ['the value: must be integer, not number']);
  assert.deepEqual(check({ type: 'number' }, 2), []);
  assert.deepEqual(check({ type: 'object' }, []), ['the value: must be object, not array']);
});

test('objects: required, unknown fields, nested paths through $ref and items', () => {
  const s: Schema = {
    type: 'object',
    required: ['steps'],
    properties: { steps: { type: 'array', items: { $ref: '#/components/schemas/Step' } } },
  };
  assert.deepEqual(check(s, { steps: [{ id: 'a' }] }), []);
  assert.deepEqual(check(s, {}), ['steps: is required']);
  assert.deepEqual(check(s, { steps: [{ id: 'abcde', x: 1 }, {}] }), [
    'steps[0].id: must be at most 4 characters',
    'steps[0].x: is not a known field',
    'steps[1].id: is required',
  ]);
});

test('enum, oneOf, bounds', () => {
  assert.deepEqual(check({ enum: ['a', 'b'] }, 'c'), ['the value: must be one of "a", "b"']);
  const either: Schema = { oneOf: [{ type: 'string', enum: ['x'] }, { type: 'null' }] };
  assert.deepEqual(check(either, null), []);
  assert.deepEqual(check(either, 'x'), []);
  assert.equal(check(either, 'y').length, 1);
  assert.deepEqual(check({ type: 'integer', minimum: 1, maximum: 3 }, 0), ['the value: must be at least 1']);
  assert.deepEqual(check({ type: 'array', maxItems: 1 }, [1, 2]), ['the value: must list at most 1']);
  assert.deepEqual(check({ type: 'string', minLength: 1 }, ''), ['the value: must be at least 1 characters']);
});

test('a dangling or looping $ref is a problem, never a hang', () => {
  assert.match(check({ $ref: '#/components/schemas/None' }, 1)[0], /does not define/);
  assert.match(check({ $ref: '#/components/schemas/Loop' }, 1)[0], /nested too deep/);
  assert.match(check({ $ref: '#/components/schemas/constructor' }, 1)[0], /does not define/);
});

test('a hostile value with many bad fields gives a bounded list', () => {
  const many = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, i]));
  assert.equal(check({ type: 'object', additionalProperties: false }, many).length, 20);
});
