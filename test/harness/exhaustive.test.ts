import { runCli } from '../helpers.js';
import { describe, expect, test } from 'vitest';
import { getMutant, reference } from '../../src/driver/index.js';
import { countExhaustive, exhaustiveScenarios } from '../../src/generators/exhaustive.js';
import { checkExhaustive } from '../../src/harness/exhaustive.js';
import { getInvariant, INVARIANTS } from '../../src/invariants/index.js';

const run = (argv: string[]): ReturnType<typeof runCli> => runCli(argv, () => performance.now());

describe('exhaustive small scope: every scenario up to K operations', () => {
  test('the universe: 1, 6, 34, 233, 2022 scenarios of up to 0..4 operations on one build, distinct, shortest first', () => {
    expect([0, 1, 2, 3, 4].map(countExhaustive)).toEqual([1, 6, 34, 233, 2022]);
    const all = [...exhaustiveScenarios(3, ['winxp-x86'])];
    expect(all.length).toBe(233);
    expect(new Set(all.map((s) => JSON.stringify(s.ops))).size).toBe(233);
    expect(all.map((s) => s.ops.length)).toEqual([...all.map((s) => s.ops.length)].sort((a, b) => a - b));
  });

  test('the reference holds up to 3 operations on two builds; a mutant is found at its minimal length', () => {
    const ok = checkExhaustive({ driver: reference, k: 3, builds: ['winxp-x86', 'win10-x64'], invariants: INVARIANTS });
    expect(ok).toMatchObject({ total: 466, checked: 466, findings: [] });
    const m = getMutant('no-deref-thread-create');
    if (m === undefined) throw new Error('mutant missing');
    const bad = checkExhaustive({ driver: m.driver, k: 3, builds: ['winxp-x86'], invariants: [getInvariant(m.invariant)] });
    expect(bad.findings.length).toBe(1);
    expect(bad.findings[0].scenario.ops.length).toBe(m.minimal.ops.length);
  });

  test('psharness fuzz --exhaustive K: a statement, or exit 2 when the time limit cuts it short', async () => {
    const r = await run(['fuzz', '--driver', 'reference', '--exhaustive', '2', '--build', 'winxp-x86']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/exhaustive K=2: 34 of 34 scenarios on 1 build\(s\) .*no violation Windows can reach of \d+ invariants up to 2 operations/);
    const seed = await run(['fuzz', '--driver', 'seed', '--exhaustive', '2', '--no-reports']);
    expect(seed.code).toBe(1);
    const bad = await run(['fuzz', '--driver', 'reference', '--exhaustive', '9']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--exhaustive must be at most 6/);
  });
});
