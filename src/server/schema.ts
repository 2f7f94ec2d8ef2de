/**
 * The JSON-schema subset our OpenAPI document uses, and a validator for it: `type` (one or a list,
 * `null` among them), `properties`, `required`, `additionalProperties`, `items`, `enum`, `oneOf`,
 * `$ref` to `#/components/schemas/…`, and the bounds `minLength`/`maxLength`, `minimum`/`maximum`,
 * `minItems`/`maxItems`. Request bodies are checked with it before a handler runs, and the tests check
 * every real response with it. Walks the value once; a `$ref` chain deeper than MAX_DEPTH is refused.
 */

export type JsonType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'null';

export interface Schema {
  $ref?: string;
  type?: JsonType | JsonType[];
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  enum?: readonly (string | number | boolean | null)[];
  oneOf?: Schema[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
}

const MAX_DEPTH = 64;
const MAX_PROBLEMS = 20;
const REF_PREFIX = '#/components/schemas/';

function typeOf(value: unknown): JsonType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value as JsonType;
}

function shown(path: string): string {
  return path === '' ? 'the value' : path;
}

/** Problems of `value` against `schema` ("owner: is required"), empty when it conforms; at most MAX_PROBLEMS. */
export function validateSchema(schema: Schema, value: unknown, schemas: Record<string, Schema>, path = ''): string[] {
  const problems: string[] = [];
  walk(schema, value, schemas, path, problems, 0);
  return problems;
}

function walk(
  schema: Schema,
  value: unknown,
  schemas: Record<string, Schema>,
  path: string,
  problems: string[],
  depth: number,
): void {
  if (problems.length >= MAX_PROBLEMS) return;
  if (depth > MAX_DEPTH) {
    problems.push(`${shown(path)}: nested too deep`);
    return;
  }
  if (schema.$ref !== undefined) {
    const name = schema.$ref.startsWith(REF_PREFIX) ? schema.$ref.slice(REF_PREFIX.length) : undefined;
    const target = name !== undefined && Object.hasOwn(schemas, name) ? schemas[name] : undefined;
    if (!target) {
      problems.push(`${shown(path)}: the schema refers to ${schema.$ref}, which the document does not define`);
      return;
    }
    walk(target, value, schemas, path, problems, depth + 1);
    return;
  }
  if (schema.oneOf !== undefined) {
    const matching = schema.oneOf.filter((s) => validateSchema(s, value, schemas, path).length === 0).length;
    if (matching !== 1)
      problems.push(
        `${shown(path)}: matches ${matching} of the ${schema.oneOf.length} allowed shapes (exactly 1 needed)`,
      );
    return;
  }
  const actual = typeOf(value);
  if (schema.type !== undefined) {
    const allowed = Array.isArray(schema.type) ? schema.type : [schema.type];
    const fits = allowed.includes(actual) || (actual === 'integer' && allowed.includes('number'));
    if (!fits) {
      problems.push(`${shown(path)}: must be ${allowed.join(' or ')}, not ${actual}`);
      return;
    }
  }
  if (schema.enum !== undefined && !schema.enum.includes(value as string)) {
    problems.push(`${shown(path)}: must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`);
    return;
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength)
      problems.push(`${shown(path)}: must be at least ${schema.minLength} characters`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength)
      problems.push(`${shown(path)}: must be at most ${schema.maxLength} characters`);
  } else if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum)
      problems.push(`${shown(path)}: must be at least ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum)
      problems.push(`${shown(path)}: must be at most ${schema.maximum}`);
  } else if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      problems.push(`${shown(path)}: must list at least ${schema.minItems}`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      problems.push(`${shown(path)}: must list at most ${schema.maxItems}`);
      return;
    }
    if (schema.items)
      for (let i = 0; i < value.length; i++)
        walk(schema.items, value[i], schemas, `${path}[${i}]`, problems, depth + 1);
  } else if (actual === 'object') {
    const o = value as Record<string, unknown>;
    const at = (key: string) => (path === '' ? key : `${path}.${key}`);
    for (const key of schema.required ?? [])
      if (!Object.hasOwn(o, key) || o[key] === undefined) problems.push(`${at(key)}: is required`);
    for (const [key, v] of Object.entries(o)) {
      const known = schema.properties && Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined;
      if (known) walk(known, v, schemas, at(key), problems, depth + 1);
      else if (schema.additionalProperties === false)
        problems.push(`${at(key.length > 64 ? `${key.slice(0, 64)}…` : key)}: is not a known field`);
      else if (typeof schema.additionalProperties === 'object')
        walk(schema.additionalProperties, v, schemas, at(key), problems, depth + 1);
      if (problems.length >= MAX_PROBLEMS) return;
    }
  }
}
