/**
 * Coverage-guided search (`psharness fuzz --guided`), beside fast-check's random generation: a corpus of scenarios
 * that reached something new, mutated (insert, delete or swap operations, change a fault, reuse a PID), interleaved
 * half and half with fresh random scenarios. "New" is a new edge of a C driver's coverage build, or — for a
 * TypeScript driver, which has no edge counter here — a new (routine, DDI, status) triple or bug check: the calls a
 * driver makes stand for the paths it takes. One seed decides everything; findings are shrunk as usual.
 */
import fc from 'fast-check';
import type { DriverModule } from '../driver/types.js';
import { faultArbitrary, scenarioArbitrary } from '../generators/scenario.js';
import { signatureOf, type Invariant } from '../invariants/index.js';
import type { Op } from '../model/ops.js';
import { mulberry32 } from '../model/rtl/prng.js';
import type { RunRecord } from '../model/record.js';
import type { Scenario } from '../model/scenario.js';
import { runAndCheck } from './check.js';
import { applicableBuilds, FindingCap, shrinkFor, weightsWith, type Finding, type FuzzOptions, type FuzzResult } from './fuzz.js';
import { BUILDS } from '../model/builds.js';

const BATCH = 64;

/** What a run reached: edges of a coverage build, else the routines' DDI calls with their statuses. */
function reached(driver: DriverModule, record: RunRecord, before: ReadonlySet<number> | null): string[] {
  if (driver.coverage !== undefined && before !== null) {
    return [...driver.coverage.hits.keys()].filter((g) => !before.has(g)).map((g) => `edge ${g}`);
  }
  const out: string[] = [];
  for (const cb of record.callbacks) for (const d of cb.ddi) out.push(`${cb.routine}:${d.name}:${d.status ?? d.result ?? ''}`);
  for (const ph of record.phases) for (const d of ph.ddi) out.push(`${ph.phase}:${d.name}:${d.status ?? ''}`);
  if (record.bugCheck !== null) out.push(`bugcheck ${record.bugCheck.code}`);
  return out;
}

export function guidedFuzz(o: FuzzOptions & { readonly invariants: readonly Invariant[] }): FuzzResult & { readonly corpus: number } {
  const rnd = mulberry32(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[rnd() % xs.length];
  const builds = o.builds ?? applicableBuilds(o.driver, BUILDS.map((b) => b.id)).builds;
  const arb = scenarioArbitrary({ builds, profile: o.profile ?? 'documented', maxOps: o.maxOps, weights: weightsWith(o.driver, o.weights), faults: o.faults, crowding: o.crowding, cpus: o.cpus,
    ...(o.generator !== undefined ? { generator: o.generator } : {}) });
  let fresh: Scenario[] = [];
  let batch = 0;
  const nextFresh = (): Scenario => {
    if (fresh.length === 0) fresh = fc.sample(arb, { seed: (o.seed + Math.imul(++batch, 0x2c1b3c6d)) | 0, numRuns: BATCH });
    return fresh.shift() as Scenario;
  };
  const maxOps = o.maxOps ?? 60;
  const mutate = (s: Scenario): Scenario => {
    const ops = [...s.ops];
    const donor = nextFresh();
    switch (rnd() % 6) {
      case 0: // insert an operation from a fresh scenario
        if (donor.ops.length > 0 && ops.length < maxOps) ops.splice(rnd() % (ops.length + 1), 0, pick(donor.ops));
        break;
      case 1: // delete one
        if (ops.length > 0) ops.splice(rnd() % ops.length, 1);
        break;
      case 2: { // swap two neighbours
        if (ops.length > 1) {
          const i = rnd() % (ops.length - 1);
          [ops[i], ops[i + 1]] = [ops[i + 1], ops[i]];
        }
        break;
      }
      case 3: // change the fault plan
        return { ...s, faults: s.faults.length > 0 && rnd() % 2 === 0 ? s.faults.slice(1) : [fc.sample(faultArbitrary, { seed: rnd() | 0, numRuns: 1 })[0]] };
      case 4: { // reuse a PID: a process exits and a new one is created at once, last freed first
        const created = ops.filter((x): x is Extract<Op, { op: 'CreateProcess' }> => x.op === 'CreateProcess');
        if (created.length > 0 && ops.length + 2 <= maxOps) {
          const p = pick(created);
          const n = ops.length;
          ops.push({ op: 'ExitProcess', process: p.id }, { op: 'CreateProcess', id: `${p.id}r${n}`, thread: `${p.thread}r${n}`, parent: p.parent, path: p.path });
          return { ...s, reusePolicy: 'lifo', ops };
        }
        break;
      }
      default: // splice the tail of a fresh scenario
        ops.splice(rnd() % (ops.length + 1), ops.length, ...donor.ops.slice(0, Math.max(0, maxOps - ops.length)));
    }
    return { ...s, ops: ops.slice(0, maxOps) };
  };

  const seen = new Set<string>();
  const seenSigs = new Set<string>();
  const corpus: Scenario[] = [];
  const findings: Finding[] = [];
  const cap = new FindingCap(o.maxFindings ?? 20, o.invariants.map((i) => i.id));
  let runs = 0;
  let first: Finding | null = null;
  let interrupted = false;
  const deadline = o.timeLimitMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + o.timeLimitMs;
  while (runs < o.runs && !cap.allFull()) {
    if (performance.now() > deadline) {
      interrupted = true;
      break;
    }
    const s = corpus.length === 0 || rnd() % 2 === 0 ? nextFresh() : mutate(pick(corpus));
    const before = o.driver.coverage !== undefined ? new Set(o.driver.coverage.hits.keys()) : null;
    const r = runAndCheck(o.driver, s, o.invariants);
    runs++;
    o.onRun?.(runs);
    const novel = reached(o.driver, r.record, before).filter((k) => !seen.has(k));
    if (novel.length > 0) {
      for (const k of novel) seen.add(k);
      corpus.push(s);
    }
    for (const v of r.violations) {
      const sig = signatureOf(v, r.record);
      if (seenSigs.has(sig) || !cap.take(FindingCap.key(v.invariant, sig))) continue;
      seenSigs.add(sig);
      const inv = o.invariants.find((i) => i.id === v.invariant) as Invariant;
      const f: Finding = { ...shrinkFor(o.driver, inv, s, sig), seed: o.seed, path: null, runsToFailure: runs, roundInvariants: o.invariants.map((i) => i.id), roundSeen: [] };
      findings.push(f);
      first ??= f;
      o.onFinding?.(f);
    }
  }
  return {
    failed: findings.length > 0, interrupted, seed: o.seed, runs, path: null, fastCheckShrinks: 0,
    counterexample: first?.scenario ?? null, findings, corpus: corpus.length,
  };
}
