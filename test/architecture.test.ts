/**
 * The layout docs/architecture.md describes, held against the code: no import circle anywhere in src/ (type-only
 * imports count), each layer importing only from below, and the kernel kept in rooms of a readable size.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';

const SRC = resolve('src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** The src/ files a file imports (static imports and re-exports, type-only ones included; literal dynamic imports). */
function importsOf(file: string, text: string): string[] {
  const out: string[] = [];
  const specifier = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)'(\.[^']+)'/gm;
  for (const m of text.matchAll(specifier)) {
    const target = resolve(dirname(file), m[1].replace(/\.js$/, '.ts'));
    out.push(relative(SRC, target));
  }
  return out;
}

/** The first import circle in a graph (file → files it imports), or null. */
export function findCircle(graph: ReadonlyMap<string, readonly string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (n: string): string[] | null => {
    if (state.get(n) === 'done') return null;
    if (state.get(n) === 'open') return [...path.slice(path.indexOf(n)), n];
    state.set(n, 'open');
    path.push(n);
    for (const m of graph.get(n) ?? []) {
      const c = visit(m);
      if (c !== null) return c;
    }
    path.pop();
    state.set(n, 'done');
    return null;
  };
  for (const n of [...graph.keys()].sort()) {
    const c = visit(n);
    if (c !== null) return c;
  }
  return null;
}

/** What each layer may import (DESIGN.md: the model at the bottom; drivers, generators and invariants on it). */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  model: ['model'],
  driver: ['model', 'driver'],
  generators: ['model', 'generators'],
  invariants: ['model', 'invariants'],
  harness: ['model', 'driver', 'generators', 'invariants', 'harness', 'version.ts'],
};

const layerOf = (path: string): string => path.split('/')[0];

const files = sources(SRC);
const graph = new Map(files.map((f) => [relative(SRC, f), importsOf(f, readFileSync(f, 'utf8'))]));

describe('the import graph of src/', () => {
  test('the circle finder finds a circle and passes a tree', () => {
    expect(findCircle(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]))).toEqual(['a', 'b', 'c', 'a']);
    expect(findCircle(new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]]))).toBeNull();
  });

  test('every import names a file that exists', () => {
    const missing = [...graph].flatMap(([f, deps]) => deps.filter((d) => !graph.has(d)).map((d) => `${f} → ${d}`));
    expect(missing).toEqual([]);
  });

  test('no import circle anywhere in src/', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(findCircle(graph)).toBeNull();
  });

  test('each layer imports only from itself and the layers below it', () => {
    const wrong = [...graph].flatMap(([f, deps]) => {
      const allowed = MAY_IMPORT[layerOf(f)];
      return allowed === undefined ? [] : deps.filter((d) => !allowed.includes(layerOf(d))).map((d) => `${f} → ${d}`);
    });
    expect(wrong).toEqual([]);
  });

  test('a component of the kernel never imports the composition above it (kernel, the export table, operations)', () => {
    const above = ['model/kernel.ts', 'model/ddi-surface.ts', 'model/ops.ts', 'model/scenario.ts', 'model/index.ts'];
    const wrong = [...graph].flatMap(([f, deps]) =>
      /^model\/(ke|mm|ob|ps|io|ex|rtl|dbg|vf|se)\//.test(f) ? deps.filter((d) => above.includes(d)).map((d) => `${f} → ${d}`) : []);
    expect(wrong).toEqual([]);
  });
});

describe('the kernel in rooms of a readable size', () => {
  const lines = (f: string): number => readFileSync(join(SRC, f), 'utf8').split('\n').length;
  test('kernel.ts composes the components and boots: under 300 lines', () => {
    expect(lines('model/kernel.ts')).toBeLessThan(300);
  });
  test('no file in src/model over 600 lines', () => {
    const big = [...graph.keys()].filter((f) => f.startsWith('model/') && lines(f) > 600).map((f) => `${f}: ${lines(f)}`);
    expect(big).toEqual([]);
  });
});
