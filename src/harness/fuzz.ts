/**
 * The fuzz loop: fast-check generates scenarios from an explicit seed, each runs on a fresh kernel and driver, the
 * invariants judge the record; a failure is shrunk by fast-check, then per violated invariant by the domain
 * shrinker to a 1-minimal scenario.
 */
import fc from 'fast-check';
import type { DriverModule } from '../driver/types.js';
import { baseSignature, DEFENSIVE_MARK, INVARIANTS, signatureOf, type Invariant, type Violation } from '../invariants/index.js';
import { BUILDS, getBuild, isExported } from '../model/builds.js';
import { RunInterrupted } from '../model/ops.js';
import type { RunRecord } from '../model/record.js';
import { imageFor } from '../model/ddi.js';
import type { Scenario } from '../model/scenario.js';
import { scenarioArbitrary, type FaultMode, type GeneratorFormat } from '../generators/scenario.js';
import { DEFAULT_WEIGHTS, type OpWeights } from '../generators/ops.js';
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
  readonly faults?: FaultMode;
  readonly crowding?: boolean;
  /** The most CPUs a scenario draws (default 1). */
  readonly cpus?: number;
  /** How seeds and paths become scenarios (default the current format; a report's format to replay it). */
  readonly generator?: GeneratorFormat;
  /** Called with each generated scenario before it runs (statistics). */
  readonly onScenario?: (s: Scenario) => void;
  /** Stop generating after this many ms (fast-check interruptAfterTimeLimit: not deterministic). */
  readonly timeLimitMs?: number;
  /** Scenarios to run before any generated one (regressions, documented minimal cases). */
  readonly examples?: readonly Scenario[];
  /**
   * Replay one fast-check run: a report's `fuzz.seed` and `fuzz.path` (with its `fuzz.invariants` and the same
   * builds, profile and max-ops) regenerate the same counterexample while the generators are unchanged.
   */
  readonly path?: string;
  readonly onRun?: (runs: number) => void;
  /** Called once per shrunk finding, as soon as it is ready (progress displays). */
  readonly onFinding?: (finding: Finding) => void;
  /**
   * After a failure, keep searching for the invariants not yet violated (seed + 1, + 2 …) within the remaining
   * run budget, so one command reports every kind of bug. Default true.
   */
  readonly continueAfterFailure?: boolean;
  /** Signatures whose findings need no shrinking (an earlier chunk of a campaign has them): reported unshrunk. */
  readonly skipShrink?: ReadonlySet<string>;
  /** At most this many distinct findings (signatures) per invariant; default 20. No invariant is hidden by another's. */
  readonly maxFindings?: number;
  /** Signatures already known (not new) when the search starts: a `--path` replay of a later round needs them. */
  readonly knownSignatures?: readonly string[];
  /** An absolute deadline (performance.now()) instead of timeLimitMs: a campaign's chunks share one. */
  readonly deadline?: number;
}

export interface Finding {
  readonly invariant: Invariant;
  /** The distinct bug it is (invariants/types.ts signatureOf). */
  readonly signature: string;
  /** The shrunk, 1-minimal scenario. */
  readonly scenario: Scenario;
  /** Length of the counterexample fast-check handed over, before the domain shrinker. */
  readonly shrunkFrom: number;
  readonly violations: Violation[];
  readonly record: RunRecord;
  readonly shrinkAttempts: number;
  /** Where fast-check found it: the round's seed, its path, and the runs that round took. */
  readonly seed: number;
  readonly path: string | null;
  readonly runsToFailure: number;
  /** Invariants the round was checking (a fast-check replay needs the same set). */
  readonly roundInvariants: readonly string[];
  /** Signatures the round already knew (a fast-check replay of it needs them too). */
  readonly roundSeen: readonly string[];
  /** Other invariants the same root cause (signature) breaks in the shrunk run: one finding lists them all. */
  readonly alsoBreaks?: readonly string[];
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

/**
 * `--max-findings` per invariant: an invariant that has its share stops failing the search, the others go on; so
 * one prolific invariant never hides another.
 */
export class FindingCap {
  private readonly counts = new Map<string, number>();

  constructor(readonly max: number, private readonly ids: readonly string[]) {}

  /** Defensive-only findings have their own share: they never use up the share of findings Windows can reach. */
  static key(invariant: string, signature: string): string {
    return signature.endsWith(DEFENSIVE_MARK) ? `${invariant}${DEFENSIVE_MARK}` : invariant;
  }

  full(key: string): boolean {
    return (this.counts.get(key) ?? 0) >= this.max;
  }

  /** Counts a finding under `key` (FindingCap.key); false when its share is already taken. */
  take(key: string): boolean {
    if (this.full(key)) return false;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    return true;
  }

  /** The invariants whose share is taken. */
  capped(): Set<string> {
    return new Set([...this.counts.keys()].filter((k) => this.full(k)));
  }

  allFull(): boolean {
    return this.ids.every((id) => this.full(id));
  }
}

type RoundOptions = FuzzOptions & { readonly seen?: ReadonlySet<string>; readonly capped?: ReadonlySet<string> };

/** A violation the round has not seen, of an invariant whose share of findings is not taken. */
function isNew(o: RoundOptions, v: Violation, record: RunRecord): boolean {
  return isNewSignature(o, v.invariant, signatureOf(v, record));
}

function isNewSignature(o: RoundOptions, invariant: string, sig: string): boolean {
  // a symptom already found where Windows reaches it is not new when reached again through a defensive failure
  return !(o.capped?.has(FindingCap.key(invariant, sig)) ?? false) && !(o.seen?.has(sig) ?? false) && !(o.seen?.has(baseSignature(sig)) ?? false);
}

function fuzzRound(o: RoundOptions): FuzzResult {
  const invariants = o.invariants ?? INVARIANTS;
  const builds = o.builds ?? applicableBuilds(o.driver, BUILDS.map((b) => b.id)).builds;
  const profile = o.profile ?? 'documented';
  const arb = scenarioArbitrary({ builds, profile, maxOps: o.maxOps, weights: weightsWith(o.driver, o.weights), faults: o.faults, crowding: o.crowding, cpus: o.cpus,
    ...(o.generator !== undefined ? { generator: o.generator } : {}) });
  let executed = 0;
  let shrinking = false;
  let cut = false;
  // --time-limit holds within a run too: the kernel asks between operations (a driver's own endless loop is the
  // watchdog's, counted in work, not time)
  const deadline = o.deadline ?? (o.timeLimitMs === undefined ? undefined : performance.now() + o.timeLimitMs);
  const interrupt = deadline === undefined ? undefined : (): boolean => performance.now() > deadline;
  const property = fc.property(arb, (s) => {
    if (cut) return true;
    o.onScenario?.(s);
    try {
      const run = runAndCheck(o.driver, s, invariants, interrupt);
      // a run fails when it shows a bug not seen yet in this search (a signature), not merely a known one again
      const ok = !run.violations.some((v) => isNew(o, v, run.record));
      executed++;
      // progress counts the round's scenarios: once one fails, fast-check's calls are shrink steps, not runs
      if (!shrinking) o.onRun?.(executed);
      if (!ok) shrinking = true;
      return ok;
    } catch (e) {
      if (!(e instanceof RunInterrupted)) throw e;
      cut = true;
      return true; // not a run: stopped by the time limit before it finished
    }
  });
  for (const ex of o.examples ?? []) {
    const r = runAndCheck(o.driver, ex, invariants);
    if (r.violations.some((v) => isNew(o, v, r.record))) {
      return finish(o, invariants, ex, { seed: o.seed, runs: 0, path: null, shrinks: 0, interrupted: false });
    }
  }
  const details = fc.check(property, {
    seed: o.seed,
    numRuns: o.runs,
    ...(o.timeLimitMs !== undefined ? { interruptAfterTimeLimit: o.timeLimitMs, markInterruptAsFailure: false } : {}),
    ...(o.path !== undefined ? { path: o.path } : {}),
  });
  if (!details.failed || details.counterexample === null) {
    return { failed: false, interrupted: details.interrupted || cut, seed: o.seed, runs: executed, path: null, fastCheckShrinks: 0, counterexample: null, findings: [] };
  }
  return finish(o, invariants, details.counterexample[0], {
    seed: o.seed, runs: details.numRuns, path: details.counterexamplePath, shrinks: details.numShrinks, interrupted: details.interrupted,
  });
}

/**
 * The builds a driver can run on: for a WebAssembly driver, those of the pointer sizes it was built for; and only
 * builds that export every routine the driver imports (elsewhere it would not load). Returns the usable ids and
 * why the others were left out.
 */
export function applicableBuilds(driver: DriverModule, requested: readonly string[]): { builds: string[]; skipped: { build: string; why: string }[] } {
  const builds: string[] = [];
  const skipped: { build: string; why: string }[] = [];
  for (const id of requested) {
    const b = getBuild(id);
    const image = imageFor(driver, b.pointerSize);
    const missing = (image ?? driver).imports.filter((r) => !isExported(b, r));
    if (image === undefined) skipped.push({ build: id, why: `the WebAssembly driver was built for ${driver.addressSpace?.pointerSize === 8 ? 'x64' : 'x86'} only` });
    else if (missing.length > 0) skipped.push({ build: id, why: `does not export ${missing.join(', ')}` });
    else builds.push(id);
  }
  return { builds, skipped };
}

/**
 * The default operation mix for a driver: handle opens (which only object callbacks see) join it when the driver
 * imports ObRegisterCallbacks, registry operations when it imports CmRegisterCallback(Ex), file operations with
 * FltRegisterFilter and a port service with FltCreateCommunicationPort — every other driver's
 * scenarios, seed for seed, stay as they were.
 */
export function weightsFor(driver: DriverModule): OpWeights | undefined {
  const images = [driver, driver.x64].filter((d) => d !== undefined);
  const handle = images.some((d) => d.imports.includes('ObRegisterCallbacks'));
  const registry = images.some((d) => d.imports.includes('CmRegisterCallbackEx') || d.imports.includes('CmRegisterCallback'));
  const file = images.some((d) => d.imports.includes('FltRegisterFilter'));
  const port = images.some((d) => d.imports.includes('FltCreateCommunicationPort'));
  const client = clientCodes(driver);
  if (!handle && !registry && !file && client === undefined) return undefined;
  return {
    ...DEFAULT_WEIGHTS, ...(handle ? { handle: 2 } : {}), ...(registry ? { registry: 6 } : {}), ...(file ? { file: 8 } : {}), ...(port ? { port: 2 } : {}),
    ...(client !== undefined ? { client: 10, irp: 0, ...client } : {}),
  };
}

/**
 * The I/O control codes a driver declares, the one that returns its events, and whether ReadFile returns them: a
 * driver read only through ReadFile gets a client too (its requests then are reads, and codes it does not know).
 */
function clientCodes(driver: DriverModule): { ioctls: number[]; eventsIoctl?: number; readsEvents?: true } | undefined {
  const reads = driver.device?.events?.read === true;
  const ioctls = driver.device?.ioctls?.map((i) => Number.parseInt(i.code, 16)) ?? (reads ? [] : undefined);
  if (ioctls === undefined) return undefined;
  const ev = driver.device?.events?.ioctl;
  return { ioctls, ...(ev !== undefined ? { eventsIoctl: Number.parseInt(ev, 16) } : {}), ...(reads && ev === undefined ? { readsEvents: true } : {}) };
}

/** `--weights` as given, with the driver's I/O control codes (a client needs them whatever its weight). */
export function weightsWith(driver: DriverModule, given: OpWeights | undefined): OpWeights | undefined {
  if (given === undefined) return weightsFor(driver);
  const client = clientCodes(driver);
  return client !== undefined && given.ioctls === undefined ? { ...given, ...client } : given;
}

/** The invariants that apply to a driver: without a log parser, only those that need no output. */
export function applicableInvariants(driver: DriverModule, requested: readonly Invariant[] = INVARIANTS): Invariant[] {
  return driver.logsEvents === false ? requested.filter((i) => !i.needsOutput) : [...requested];
}

export function fuzz(o: FuzzOptions): FuzzResult {
  const all = o.invariants ?? applicableInvariants(o.driver);
  const seen = new Set<string>(o.knownSignatures ?? []);
  const cap = new FindingCap(o.maxFindings ?? 20, all.map((i) => i.id));
  let budget = o.runs;
  let runs = 0;
  let round = 0;
  const findings: Finding[] = [];
  let first: FuzzResult | null = null;
  let interrupted = false;
  const started = o.timeLimitMs !== undefined ? performance.now() : 0;
  const end = o.deadline ?? (o.timeLimitMs === undefined ? undefined : started + o.timeLimitMs);
  while (!cap.allFull() && budget > 0) {
    const timeLeft = end === undefined ? undefined : Math.max(1, end - performance.now());
    if (end !== undefined && performance.now() >= end) {
      interrupted = true;
      break;
    }
    const r = fuzzRound({ ...o, seed: (o.seed + round) | 0, runs: budget, invariants: all, seen, capped: cap.capped(), timeLimitMs: timeLeft, deadline: end,
      examples: round === 0 ? o.examples : undefined, onRun: o.onRun === undefined ? undefined : (n) => o.onRun?.(runs + n) });
    runs += r.runs;
    interrupted = r.interrupted;
    if (!r.failed) break;
    first ??= r;
    for (const f of r.findings) {
      if (!cap.take(FindingCap.key(f.invariant.id, f.signature))) continue;
      findings.push(f);
      o.onFinding?.(f);
    }
    for (const f of r.findings) seen.add(f.signature);
    budget -= Math.max(1, r.runs);
    round++;
    if (o.continueAfterFailure === false || interrupted || o.path !== undefined) break;
  }
  return {
    failed: findings.length > 0, interrupted, seed: o.seed, runs, path: first?.path ?? null,
    fastCheckShrinks: first?.fastCheckShrinks ?? 0, counterexample: first?.counterexample ?? null, findings,
  };
}

function finish(
  o: RoundOptions,
  invariants: readonly Invariant[],
  counterexample: Scenario,
  meta: { seed: number; runs: number; path: string | null; shrinks: number; interrupted: boolean },
): FuzzResult {
  const first = runAndCheck(o.driver, counterexample, invariants);
  // every new signature the counterexample shows, once each, in invariant order
  const fresh = new Map<string, Invariant>();
  for (const inv of invariants) {
    for (const v of first.violations.filter((x) => x.invariant === inv.id)) {
      const sig = signatureOf(v, first.record);
      if (isNewSignature(o, inv.id, sig) && !fresh.has(sig)) fresh.set(sig, inv);
    }
  }
  const findings: Finding[] = [];
  const taken = new Set<string>();
  for (const [signature, inv] of fresh) {
    const shrunk = o.skipShrink?.has(signature) === true
      ? { invariant: inv, scenario: counterexample, shrunkFrom: counterexample.ops.length, violations: first.violations.filter((v) => v.invariant === inv.id), record: first.record, shrinkAttempts: -1, signature }
      : shrinkFor(o.driver, inv, counterexample, signature);
    // shrunk to the reachable form of a symptom this round (or an earlier one) already has: the same bug
    if (shrunk.signature !== signature && ((o.seen?.has(shrunk.signature) ?? false) || taken.has(shrunk.signature) || fresh.has(shrunk.signature))) continue;
    taken.add(shrunk.signature);
    // the counterexample before shrinking may show more of what the root cause breaks (a zombie needs the exit)
    const also = new Set([...(shrunk.alsoBreaks ?? []), ...first.violations.filter((v) => v.invariant !== inv.id && [signature, shrunk.signature].includes(signatureOf(v, first.record))).map((v) => v.invariant)]);
    findings.push({ ...shrunk, ...(also.size > 0 ? { alsoBreaks: [...also] } : {}), seed: meta.seed, path: meta.path, runsToFailure: meta.runs, roundInvariants: invariants.map((i) => i.id), roundSeen: [...(o.seen ?? [])] });
  }
  return {
    failed: true, interrupted: meta.interrupted, seed: meta.seed, runs: meta.runs, path: meta.path,
    fastCheckShrinks: meta.shrinks, counterexample, findings,
  };
}

/**
 * Shrinks a failing scenario for one invariant (keeping one signature, when given: the same bug, not another). The
 * same symptom reached without the failure Windows does not produce counts as the same bug, so the shrinker drops
 * such a failure whenever it can: the finding's signature is then the reachable one.
 */
export function shrinkFor(driver: DriverModule, invariant: Invariant, scenario: Scenario, signature?: string): Omit<Finding, 'seed' | 'path' | 'runsToFailure' | 'roundInvariants' | 'roundSeen'> {
  const base = signature === undefined ? undefined : baseSignature(signature);
  const match = (r: { violations: Violation[]; record: RunRecord }): Violation | undefined =>
    base === undefined ? r.violations[0] : r.violations.find((v) => baseSignature(signatureOf(v, r.record)) === base);
  const fails = (s: Scenario): boolean => match(runAndCheck(driver, s, [invariant])) !== undefined;
  const { scenario: shrunk, attempts } = shrinkScenario(scenario, fails);
  const final = runAndCheck(driver, shrunk, [invariant]);
  const v = match(final);
  const sig = v !== undefined ? signatureOf(v, final.record) : signature ?? '';
  // one root cause, one finding: the other invariants the same driver action breaks in this run are listed with it
  const others = runAndCheck(driver, shrunk, applicableInvariants(driver).filter((i) => i.id !== invariant.id));
  const alsoBreaks = [...new Set(others.violations.filter((x) => signatureOf(x, others.record) === sig).map((x) => x.invariant))];
  return {
    invariant, scenario: shrunk, shrunkFrom: scenario.ops.length, violations: final.violations, record: final.record, shrinkAttempts: attempts,
    signature: sig, ...(alsoBreaks.length > 0 ? { alsoBreaks } : {}),
  };
}
