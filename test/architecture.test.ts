/**
 * Import directions (ARCHITECTURE.md): the core never imports a face, sinks import only model and
 * util, and no room imports one that sits downstream of it.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const SRC = resolve('src');
/** What each room may import (besides itself and node/npm modules). */
const ALLOWED: Record<string, string[]> = {
  util: [],
  model: ['util'],
  sources: ['model', 'util'],
  signals: ['model', 'util'],
  engine: ['model', 'util', 'signals'],
  analytics: ['model', 'util', 'signals', 'engine'],
  triage: ['model', 'util', 'signals', 'engine', 'analytics'],
  sinks: ['model', 'util'],
  store: ['model', 'util'],
  sensor: ['model', 'util', 'sources'],
  simulate: ['util'],
  run: ['model', 'util', 'sources', 'signals', 'engine', 'analytics', 'triage', 'sinks', 'store', 'sensor'],
  bus: ['model', 'util', 'engine', 'run', 'store', 'server'],
  cli: ['model', 'util', 'run', 'sinks', 'sources', 'signals', 'simulate', 'server', 'bus'],
  server: ['model', 'util', 'run', 'store', 'sinks', 'triage', 'bus'],
};

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files(path, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && name !== 'contract.ts') out.push(path);
  }
  return out;
}

test('every import points in an allowed direction', () => {
  const violations: string[] = [];
  for (const file of files(SRC)) {
    const room = relative(SRC, file).split('/')[0];
    const allowed = ALLOWED[room];
    assert.ok(allowed, `unknown room ${room} (add it to ARCHITECTURE.md and this test)`);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^(?:import|export)[^'"]*from\s+['"](\.[^'"]+)['"]/gm)) {
      const target = relative(SRC, resolve(dirname(file), m[1])).split('/')[0];
      if (target !== room && !allowed.includes(target))
        violations.push(`${relative(SRC, file)} imports ${m[1]} (${room} → ${target})`);
    }
  }
  assert.deepEqual(violations, []);
});

test('no import cycles between source files (a folder whose parts import each other in a circle has outgrown its walls)', () => {
  const graph = new Map<string, string[]>();
  for (const file of files(SRC)) {
    const text = readFileSync(file, 'utf8');
    const targets: string[] = [];
    // type-only imports vanish at run time but still tie the files together: count them too
    for (const m of text.matchAll(/^(?:import|export)[^'"]*from\s+['"](\.[^'"]+)['"]/gm))
      targets.push(relative(SRC, resolve(dirname(file), m[1])).replace(/\.js$/, '.ts'));
    graph.set(relative(SRC, file), targets);
  }
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next].join(' → '));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  assert.deepEqual(cycles, []);
});

test("the CLI loads the store's database drivers only for serve: no static import path from cli/index.ts reaches them", () => {
  // every command would otherwise pay for better-sqlite3's native addon and pg at start-up (serve imports them lazily)
  const seen = new Set<string>();
  const reached: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    // value imports only: `import type` vanishes at run time
    for (const m of text.matchAll(/^(?:import|export)(?!\s+type\b)[^'"]*from\s+['"]([^'"]+)['"]/gm)) {
      const spec = m[1];
      if (spec === 'better-sqlite3' || spec === 'pg') reached.push([...path, relative(SRC, file), spec].join(' → '));
      else if (spec.startsWith('.'))
        visit(resolve(dirname(file), spec).replace(/\.js$/, '.ts'), [...path, relative(SRC, file)]);
    }
  };
  visit(join(SRC, 'cli', 'index.ts'), []);
  assert.ok(seen.has(join(SRC, 'cli', 'commands', 'serve.ts')), 'the walk reaches the serve command');
  assert.deepEqual(reached, []);
});
