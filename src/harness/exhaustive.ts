/**
 * `psharness fuzz --exhaustive K`: every scenario of the small canonical universe up to K operations
 * (src/generators/exhaustive.ts) on every requested build, shortest first. The first scenario that breaks an
 * invariant is as short as any can be; it is still shrunk (1-minimal in its operations).
 */
import { countExhaustive, exhaustiveScenarios } from '../generators/exhaustive.js';
import type { DriverModule } from '../driver/types.js';
import { signatureOf, type Invariant, type Violation } from '../invariants/index.js';
import { runAndCheck } from './check.js';
import { shrinkFor, type Finding } from './fuzz.js';

export interface ExhaustiveResult {
  /** Scenarios in the universe (all builds), and how many were checked. */
  readonly total: number;
  readonly checked: number;
  readonly interrupted: boolean;
  readonly findings: Finding[];
}

export function checkExhaustive(o: {
  readonly driver: DriverModule; readonly k: number; readonly builds: readonly string[]; readonly invariants: readonly Invariant[];
  readonly timeLimitMs?: number; readonly onFinding?: (f: Finding) => void;
}): ExhaustiveResult {
  const total = countExhaustive(o.k) * o.builds.length;
  const deadline = o.timeLimitMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + o.timeLimitMs;
  const remaining = new Set(o.invariants.map((i) => i.id));
  const findings: Finding[] = [];
  let checked = 0;
  let interrupted = false;
  for (const s of exhaustiveScenarios(o.k, o.builds)) {
    if (remaining.size === 0) break;
    if (performance.now() > deadline) {
      interrupted = true;
      break;
    }
    const live = o.invariants.filter((i) => remaining.has(i.id));
    const r = runAndCheck(o.driver, s, live);
    checked++;
    for (const inv of live.filter((i) => r.violations.some((v) => v.invariant === i.id))) {
      remaining.delete(inv.id);
      const v = r.violations.find((x) => x.invariant === inv.id) as Violation;
      const signature = signatureOf(v, r.record);
      const f: Finding = { ...shrinkFor(o.driver, inv, s, signature), seed: 0, path: null, runsToFailure: checked, roundInvariants: live.map((i) => i.id), roundSeen: [] };
      findings.push(f);
      o.onFinding?.(f);
    }
  }
  return { total, checked, interrupted, findings };
}
