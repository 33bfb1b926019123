// The README's library example, verbatim: keep the two in step.
import { expect, test } from 'vitest';
import { assertDriver, checkDriver, getMutant, reference } from '../src/index.js';

test('checkDriver / assertDriver from a user test suite', () => {
  // A correct driver passes…
  expect(() => assertDriver(reference, { seed: 7, runs: 200 })).not.toThrow();
  // …and a buggy one fails with its shrunk counterexample.
  const buggy = getMutant('no-deref-thread-create')!.driver;
  const result = checkDriver(buggy, { seed: 7, runs: 200, invariants: ['references-balanced'] });
  expect(result.failed).toBe(true);
  expect(result.findings[0].scenario.ops.length).toBe(1);
  expect(() => assertDriver(buggy, { seed: 7 })).toThrow(/violates references-balanced/);
});
