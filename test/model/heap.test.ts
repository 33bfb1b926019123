/**
 * What keeps a run's garbage cheap to collect (docs/performance.md, "What the collector was doing"). A generator
 * function made afresh per call (a `function*` expression or a nested `function*` declaration) gets a map of its
 * own when called, and maps are allocated old: the map holds the closure, the closure its context, the context the
 * kernel, so every young object of the run survives each scavenge until the next full collection. Generators
 * must be module-level functions or methods.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Lines that make a generator function per evaluation: `function*` anywhere but a top-level declaration. */
function generatorsMadePerCall(text: string): number[] {
  const lines: number[] = [];
  text.split('\n').forEach((line, i) => {
    const code = line.replace(/\/\/.*$/, '');
    if (!/\bfunction\s*\*/.test(code)) return;
    if (/^(export\s+)?(async\s+)?function\s*\*/.test(code)) return; // module level: made once
    if (/^\s*\*/.test(code)) return; // a doc-comment line
    lines.push(i + 1);
  });
  return lines;
}

describe('no generator function is made per call', () => {
  test('the scan finds an expression, a nested declaration, and passes module-level ones and methods', () => {
    expect(generatorsMadePerCall('const body = function* () {};')).toEqual([1]);
    expect(generatorsMadePerCall('function f() {\n  function* g() {}\n}')).toEqual([2]);
    expect(generatorsMadePerCall('x = run((function* () { yield; })());')).toEqual([1]);
    expect(generatorsMadePerCall('export function* opTask() {}\nfunction* drive() {}\nclass K {\n  *exitThreadG() {}\n}')).toEqual([]);
  });

  test('none in src/', () => {
    const found = sources('src').flatMap((path) => generatorsMadePerCall(readFileSync(path, 'utf8')).map((line) => `${path}:${line}`));
    expect(found).toEqual([]);
  });
});
