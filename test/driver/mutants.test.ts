import { describe, expect, test } from 'vitest';
import { MUTANTS, reference } from '../../src/driver/index.js';
import { runAndCheck } from '../../src/harness/check.js';
import { getInvariant, INVARIANTS } from '../../src/invariants/index.js';

describe('mutant catalogue: each mutant is killed by its named invariant on its documented minimal scenario', () => {
  test('at least 25 mutants, all distinct', () => {
    expect(MUTANTS.length).toBeGreaterThanOrEqual(25);
    expect(new Set(MUTANTS.map((m) => m.id)).size).toBe(MUTANTS.length);
  });
  test.each(MUTANTS.map((m) => [m.id, m] as const))('%s', (_id, m) => {
    const inv = getInvariant(m.invariant);
    const killed = runAndCheck(m.driver, m.minimal, [inv]);
    expect(killed.violations.length, `${m.id} should violate ${m.invariant}`).toBeGreaterThan(0);
    const oracle = runAndCheck(reference, m.minimal, INVARIANTS);
    expect(oracle.violations).toEqual([]);
  });
});
