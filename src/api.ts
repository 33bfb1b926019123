/**
 * The library entry points for users' own vitest (or any) suites:
 *   const result = checkDriver(myDriver, { seed: 7, runs: 500, builds: ['win10-x64'] });
 *   assertDriver(myDriver, { seed: 7 });   // throws with the shrunk counterexample
 */
import type { DriverModule } from './driver/types.js';
import { applicableInvariants, fuzz, type FuzzResult } from './harness/fuzz.js';
import { buildReport, renderMarkdown } from './harness/report.js';
import { getInvariant, INVARIANTS, type Invariant } from './invariants/index.js';

export interface CheckOptions {
  readonly seed?: number;
  readonly runs?: number;
  readonly builds?: readonly string[];
  readonly profile?: 'documented' | 'adversarial';
  /** Invariant ids (default: all). */
  readonly invariants?: readonly string[];
  readonly maxOps?: number;
}

export function checkDriver(driver: DriverModule, options: CheckOptions = {}): FuzzResult {
  const invariants: Invariant[] = options.invariants === undefined ? applicableInvariants(driver, INVARIANTS) : options.invariants.map(getInvariant);
  return fuzz({
    driver, seed: options.seed ?? 1, runs: options.runs ?? 200, builds: options.builds, profile: options.profile,
    invariants, maxOps: options.maxOps,
  });
}

/** Like checkDriver, but throws an Error whose message is the Markdown report of each shrunk counterexample. */
export function assertDriver(driver: DriverModule, options: CheckOptions = {}): void {
  const r = checkDriver(driver, options);
  if (!r.failed) return;
  const text = r.findings.map((f) => renderMarkdown(buildReport({
    driver: driver.name, invariant: f.invariant, scenario: f.scenario, shrunkFrom: f.shrunkFrom, violations: f.violations,
    record: f.record, fuzz: null, reportDir: 'reports',
  }), f.record)).join('\n');
  throw new Error(`psharness: ${driver.name} violates ${r.findings.map((f) => f.invariant.id).join(', ')} (seed ${r.seed})\n\n${text}`);
}
