/**
 * The fuzz loop: fast-check generates scenarios from an explicit seed, each runs on a fresh kernel and driver, the
 * invariants judge the record; a failure is shrunk by fast-check, then per violated invariant by the domain
 * shrinker to a 1-minimal scenario.
 */
import fc from 'fast-check';
import type { DriverModule } from '../driver/types.js';
import { INVARIANTS, type Invariant, type Violation } from '../invariants/index.js';
import { BUILDS } from '../model/builds.js';
import type { RunRecord } from '../model/record.js';
import type { Scenario } from '../model/scenario.js';
import { scenarioArbitrary } from '../generators/scenario.js';
import type { OpWeights } from '../generators/ops.js';
import { runAndCheck } from './check.js';
import { shrinkScenario } from './shrink.js';

export interface FuzzOptions {
  readonly driver: DriverModule;
  readonly seed: number;
  readonly runs: number;
  readonly builds?: readonly string[];
  readonly profile?: 'documented' | 'adversarial';
  readonly invariants?: readonly Invariant[];
  readonly maxOps?: number;
  readonly weights?: OpWeights;
  /** Stop generating after this many ms (fast-check interruptAfterTimeLimit: not deterministic). */
  readonly timeLimitMs?: number;
  /** Scenarios to run before any generated one (regressions, documented minimal cases). */
  readonly examples?: readonly Scenario[];
  readonly onRun?: (runs: number) => void;
}

export interface Finding {
  readonly invariant: Invariant;
  /** The shrunk, 1-minimal scenario. */
  readonly scenario: Scenario;
  /** Length of the counterexample fast-check handed over, before the domain shrinker. */
  readonly shrunkFrom: number;
  readonly violations: Violation[];
  readonly record: RunRecord;
  readonly shrinkAttempts: number;
}

export interface FuzzResult {
  readonly failed: boolean;
  readonly interrupted: boolean;
  readonly seed: number;
  /** Runs executed up to and including the first failure (all runs when none failed). */
  readonly runs: number;
  readonly path: string | null;
  readonly fastCheckShrinks: number;
  readonly counterexample: Scenario | null;
  readonly findings: Finding[];
}

export function fuzz(o: FuzzOptions): FuzzResult {
  const invariants = o.invariants ?? INVARIANTS;
  const builds = o.builds ?? BUILDS.map((b) => b.id);
  const profile = o.profile ?? 'documented';
  const arb = scenarioArbitrary({ builds, profile, maxOps: o.maxOps, weights: o.weights });
  let executed = 0;
  const property = fc.property(arb, (s) => {
    executed++;
    o.onRun?.(executed);
    return runAndCheck(o.driver, s, invariants).violations.length === 0;
  });
  for (const ex of o.examples ?? []) {
    if (runAndCheck(o.driver, ex, invariants).violations.length > 0) {
      return finish(o, invariants, ex, { seed: o.seed, runs: 0, path: null, shrinks: 0, interrupted: false });
    }
  }
  const details = fc.check(property, {
    seed: o.seed,
    numRuns: o.runs,
    ...(o.timeLimitMs !== undefined ? { interruptAfterTimeLimit: o.timeLimitMs, markInterruptAsFailure: false } : {}),
  });
  if (!details.failed || details.counterexample === null) {
    return { failed: false, interrupted: details.interrupted, seed: o.seed, runs: details.numRuns, path: null, fastCheckShrinks: 0, counterexample: null, findings: [] };
  }
  return finish(o, invariants, details.counterexample[0], {
    seed: o.seed, runs: details.numRuns, path: details.counterexamplePath, shrinks: details.numShrinks, interrupted: details.interrupted,
  });
}

function finish(
  o: FuzzOptions,
  invariants: readonly Invariant[],
  counterexample: Scenario,
  meta: { seed: number; runs: number; path: string | null; shrinks: number; interrupted: boolean },
): FuzzResult {
  const first = runAndCheck(o.driver, counterexample, invariants);
  const violated = invariants.filter((inv) => first.violations.some((v) => v.invariant === inv.id));
  const findings = violated.map((inv) => shrinkFor(o.driver, inv, counterexample));
  return {
    failed: true, interrupted: meta.interrupted, seed: meta.seed, runs: meta.runs, path: meta.path,
    fastCheckShrinks: meta.shrinks, counterexample, findings,
  };
}

/** Shrinks a failing scenario for one invariant. */
export function shrinkFor(driver: DriverModule, invariant: Invariant, scenario: Scenario): Finding {
  const fails = (s: Scenario): boolean => runAndCheck(driver, s, [invariant]).violations.length > 0;
  const { scenario: shrunk, attempts } = shrinkScenario(scenario, fails);
  const final = runAndCheck(driver, shrunk, [invariant]);
  return { invariant, scenario: shrunk, shrunkFrom: scenario.ops.length, violations: final.violations, record: final.record, shrinkAttempts: attempts };
}
