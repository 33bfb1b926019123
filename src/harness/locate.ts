/**
 * Which of the driver's routines a finding is about, most specific first: the function that faulted (a bug check,
 * a verifier stop), the two routines of a race or a lock-order inversion, the callback or DriverEntry the evidence
 * points at. With a C driver's routine lines (driver/wasm/symbols.ts) these become the source locations SARIF,
 * GitHub annotations and JUnit carry.
 */
import { HALTS, signatureOf, type Violation } from '../invariants/index.js';
import type { Finding } from './fuzz.js';

/** The violation a finding is shown by: the one whose signature is the finding's. */
export function shownViolation(f: Pick<Finding, 'violations' | 'record' | 'signature'>): Violation | undefined {
  return f.violations.find((v) => signatureOf(v, f.record) === f.signature) ?? f.violations[0];
}

/** The routines a finding is about, most specific first, without repeats. */
export function findingRoutines(f: Pick<Finding, 'violations' | 'record' | 'signature'>): string[] {
  const v = shownViolation(f);
  if (v === undefined) return [];
  const r = f.record;
  const out: string[] = [];
  const halt = r.bugCheck?.function ?? r.verifierStop?.function;
  if (HALTS.has(v.invariant) && halt !== undefined) out.push(halt);
  const race = v.invariant === 'no-data-race' ? r.concurrency?.races.find((x) => x.address === v.evidence.actual) : undefined;
  if (race !== undefined) out.push(race.first.routine, race.second.routine);
  const inversion = v.invariant === 'lock-order-consistent' ? r.concurrency?.lockOrder.find((l) => l.second.op === v.evidence.op) : undefined;
  if (inversion !== undefined) out.push(inversion.second.routine, inversion.first.routine);
  if (v.evidence.seq !== undefined) {
    const cb = r.callbacks.find((c) => c.seq === v.evidence.seq);
    if (cb !== undefined) out.push(cb.routine);
    const phase = r.phases.find((p) => p.seq === v.evidence.seq);
    if (phase?.phase === 'DriverEntry') out.push('DriverEntry');
    if (phase?.handle !== undefined) out.push(phase.handle.routine);
    // a routine left registered: the routine itself (`image notify MfOnImage (slot 0)`)
    if (v.invariant === 'unload-clean' || v.invariant === 'failed-entry-clean') {
      for (const left of Array.isArray(v.evidence.actual) ? v.evidence.actual : []) {
        const m = typeof left === 'string' ? /^\w+ notify (\S+) \(slot \d+\)$/.exec(left) : null;
        if (m !== null) out.push(m[1]);
      }
    }
  }
  return [...new Set(out)];
}
