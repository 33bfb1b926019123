/** The suite's file order (test/longest-first.ts): unmeasured files first, then the longest measured first. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { TestSpecification, Vitest } from 'vitest/node';
import { LongestFirstSequencer } from './longest-first.js';

const root = process.cwd();
const table = JSON.parse(readFileSync(join(root, 'test/file-durations.json'), 'utf8')) as { seconds: Record<string, number> };

// what BaseSequencer.sort reads of vitest: no results cache (a fresh clone), one project
const ctx = { config: { root }, cache: { getFileTestResults: () => undefined, getFileStats: () => undefined } } as unknown as Vitest;
const spec = (file: string): TestSpecification =>
  ({ moduleId: join(root, file), project: { name: '', config: { sequence: { groupOrder: 0 }, isolate: false } } }) as unknown as TestSpecification;

describe('the order test files start in', () => {
  test('the longest measured file first, an unmeasured one before all', async () => {
    const measured = Object.entries(table.seconds).sort((a, b) => a[1] - b[1]); // shortest first: the sort must reverse it
    const files = [...measured.slice(0, 3), ...measured.slice(-3)].map(([f]) => f);
    const order = await new LongestFirstSequencer(ctx).sort([...files, 'test/not-yet-measured.test.ts'].map(spec));
    const names = order.map((s) => s.moduleId.slice(root.length + 1));
    expect(names[0]).toBe('test/not-yet-measured.test.ts');
    const seconds = names.slice(1).map((f) => table.seconds[f]);
    expect(seconds).toEqual([...seconds].sort((a, b) => b - a));
    expect(names[1]).toBe(measured[measured.length - 1][0]);
  });

  test('the table names test files that exist (npm run bench:tests rewrites it)', () => {
    const names = Object.keys(table.seconds);
    expect(names.length).toBeGreaterThan(50);
    for (const f of names) expect(existsSync(join(root, f)), f).toBe(true);
  });
});
