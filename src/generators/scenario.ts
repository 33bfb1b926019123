/**
 * The scenario arbitrary: OS build, CID reuse order, other drivers' routines already in the notify tables, a
 * fault plan for the driver's DDI calls, and the operation sequence.
 */
import fc from 'fast-check';
import { BUILDS, getBuild } from '../model/builds.js';
import { CID_REUSE_POLICIES, type CidReusePolicy } from '../model/ps/cid-table.js';
import { FAULTABLE_DDIS } from '../model/vf/fault-plan.js';
import type { Crowding } from '../model/ps/notify.js';
import type { FaultSpec } from '../model/vf/fault-plan.js';
import type { Scenario } from '../model/scenario.js';
import type { Schedule } from '../model/ke/schedule.js';
import {
  STATUS_ACCESS_DENIED,
  STATUS_INSUFFICIENT_RESOURCES,
  STATUS_INVALID_PARAMETER,
  STATUS_OBJECT_NAME_COLLISION,
  STATUS_UNSUCCESSFUL,
  type NTSTATUS,
} from '../model/status.js';
import { digitCodes, opCodes, take } from './op-codes.js';
import { DEFAULT_WEIGHTS, OpResolver, rawOpArbitrary, resolveOps, type OpWeights } from './ops.js';

/**
 * How a seed and a path become a scenario. 2 (the default): each operation one integer code, decoded (`opCodes`),
 * four to five times cheaper to draw than format 1, with the same mix. 1 (`--generator 1`, the default until
 * format 2 was measured to meet the same bugs): each operation drawn by nested fast-check arbitraries
 * (`rawOpArbitrary`). The same seed gives other scenarios under each; a report records the format that found it,
 * and `--from-report` replays with that one (a report without the field came from format 1). The scenarios
 * themselves (what a report stores and `replay` runs) have one format.
 */
export type GeneratorFormat = 1 | 2;
export const GENERATOR_FORMATS: readonly GeneratorFormat[] = [1, 2];
export const CURRENT_GENERATOR_FORMAT: GeneratorFormat = 2;

export interface ScenarioOptions {
  /** Build ids to draw from (default: all). */
  readonly builds?: readonly string[];
  readonly profile?: 'documented' | 'adversarial';
  /** Longest operation sequence (default 60). */
  readonly maxOps?: number;
  /** Shortest raw operation sequence (default 0; ops with nothing to act on are dropped after). */
  readonly minOps?: number;
  readonly weights?: OpWeights;
  /** Which fault plans to draw: none, only calls DriverEntry makes (boot), or all (default). */
  readonly faults?: FaultMode;
  /** Draw other drivers' routines in the notify tables (default true). */
  readonly crowding?: boolean;
  /** The most CPUs a scenario may draw (default 1: every operation to its end before the next). */
  readonly cpus?: number;
  /** How seeds become scenarios (default `CURRENT_GENERATOR_FORMAT`). */
  readonly generator?: GeneratorFormat;
}

/** The raw operation sequence, resolved to labelled operations, in a generator format. */
function opsArbitrary(options: ScenarioOptions, adversarial: boolean, maxOps: number): fc.Arbitrary<Scenario['ops']> {
  const weights = options.weights ?? DEFAULT_WEIGHTS;
  const length = { minLength: Math.min(options.minOps ?? 0, maxOps), maxLength: maxOps, size: 'max' } as const;
  const eventsIoctl = options.weights?.eventsIoctl;
  if ((options.generator ?? CURRENT_GENERATOR_FORMAT) === 1) {
    return fc.array(rawOpArbitrary(adversarial, weights), length).map((raw) => resolveOps(raw, eventsIoctl));
  }
  const { arbitrary, decodeInto } = opCodes(adversarial, weights);
  return fc.array(arbitrary, length).map((codes) => {
    const resolver = new OpResolver(eventsIoctl);
    for (const code of codes) decodeInto(code, resolver);
    return resolver.out;
  });
}

/**
 * Several CPUs: how many, and a schedule — mostly PCT (a priority per operation, up to three preemptions, most at
 * early steps), sometimes uniform random switches (docs/concurrency.md). Sometimes one CPU, so a campaign keeps
 * finding the sequential bugs.
 */
export function scheduleArbitrary(maxCpus: number, maxOps: number): fc.Arbitrary<Schedule | undefined> {
  const cpus = fc.integer({ min: 2, max: Math.max(2, maxCpus) });
  const step = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 40 }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 400 }) });
  const pct: fc.Arbitrary<Schedule> = fc.record({
    cpus,
    kind: fc.constant('pct' as const),
    priorities: fc.array(fc.nat({ max: 99 }), { minLength: maxOps, maxLength: maxOps }),
    preemptions: fc.uniqueArray(step, { maxLength: 3 }).map((p) => [...p].sort((a, b) => a - b)),
  });
  const random: fc.Arbitrary<Schedule> = fc.record({ cpus, kind: fc.constant('random' as const), seed: fc.nat() });
  // sparse random switches: after one, the chosen thread runs on for a while (one point in 8 or 32 switches)
  const sparse: fc.Arbitrary<Schedule> = fc.record({ cpus, kind: fc.constant('random' as const), seed: fc.nat(), every: fc.constantFrom(8, 32) });
  return fc.oneof({ weight: 1, arbitrary: fc.constant(undefined) }, { weight: 4, arbitrary: pct }, { weight: 2, arbitrary: random }, { weight: 2, arbitrary: sparse });
}

export type FaultMode = 'none' | 'boot' | 'all';
/** The faultable DDIs a driver calls from DriverEntry (device, link, registrations). */
export const BOOT_DDIS: readonly string[] = ['IoCreateDevice', 'IoCreateSymbolicLink', 'PsSetCreateProcessNotifyRoutine', 'PsSetCreateThreadNotifyRoutine', 'PsSetLoadImageNotifyRoutine'];

/** Statuses each faultable DDI documents (or plausibly returns) on failure. */
const FAULT_STATUSES: Readonly<Record<string, readonly NTSTATUS[]>> = {
  IoCreateDevice: [STATUS_INSUFFICIENT_RESOURCES, STATUS_OBJECT_NAME_COLLISION],
  IoCreateSymbolicLink: [STATUS_OBJECT_NAME_COLLISION, STATUS_INSUFFICIENT_RESOURCES],
  PsSetCreateProcessNotifyRoutine: [STATUS_INVALID_PARAMETER, STATUS_ACCESS_DENIED],
  PsSetCreateThreadNotifyRoutine: [STATUS_INSUFFICIENT_RESOURCES],
  PsSetLoadImageNotifyRoutine: [STATUS_INSUFFICIENT_RESOURCES],
  PsLookupProcessByProcessId: [STATUS_INVALID_PARAMETER],
  ExAllocatePoolWithTag: [STATUS_UNSUCCESSFUL],
};

export const faultArbitrary: fc.Arbitrary<FaultSpec> = fc.constantFrom(...FAULTABLE_DDIS).chain((ddi) =>
  fc.record({
    ddi: fc.constant(ddi),
    nth: fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, { weight: 2, arbitrary: fc.integer({ min: 2, max: 8 }) }),
    status: fc.constantFrom(...(FAULT_STATUSES[ddi] ?? [STATUS_UNSUCCESSFUL])),
  }),
);

const bootFaultArbitrary: fc.Arbitrary<FaultSpec> = faultArbitrary.filter((f) => BOOT_DDIS.includes(f.ddi));

/** Mostly empty tables; sometimes one short of full, full, or over-full for 8- and 64-slot tables. */
const occupancy: fc.Arbitrary<number> = fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(7, 8, 63, 64) });

export const crowdingArbitrary: fc.Arbitrary<Crowding> = fc.record({ process: occupancy, thread: occupancy, image: occupancy });

/**
 * Mostly a freshly booted machine; sometimes a long-running one whose CID table has grown: the next IDs are the
 * last 16-bit ones (0xFFF8, 0xFFFC), then past 16 bits — where a driver that keeps a PID in a USHORT or indexes a
 * fixed array by PID / 4 breaks. CHOICE: the values; NT has no 16-bit limit on client IDs ([WRK] ex/handle.c).
 */
export const firstClientIdArbitrary: fc.Arbitrary<number | undefined> = fc.oneof(
  { weight: 9, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom(0xfff8, 0xfffc, 0x100000) },
);

/**
 * Mostly an image linked with /INTEGRITYCHECK; sometimes one linked without it, where the Ex/Ex2 process
 * registrations (and ObRegisterCallbacks) return STATUS_ACCESS_DENIED ([DOC] their Return value tables).
 */
export const integrityCheckArbitrary: fc.Arbitrary<false | undefined> = fc.oneof(
  { weight: 15, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constant(false as const) },
);

/** Mostly a machine with memory to spare; sometimes a low-memory one where the driver's pool runs out. */
export const poolQuotaArbitrary: fc.Arbitrary<number | undefined> = fc.oneof(
  { weight: 12, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom(0, 64, 4096, 65536) },
);

export function scenarioArbitrary(options: ScenarioOptions = {}): fc.Arbitrary<Scenario> {
  return (options.generator ?? CURRENT_GENERATOR_FORMAT) === 1 ? scenarioArbitraryFormat1(options) : scenarioArbitraryFormat2(options);
}

/** A table holds at most its capacity: more crowding than that is the same full table. */
function clampCrowding(build: string, c: Crowding): Crowding {
  const cap = getBuild(build).capacity;
  return { process: Math.min(c.process, cap.process), thread: Math.min(c.thread, cap.thread), image: Math.min(c.image, cap.image) };
}

const OCCUPANCIES = [7, 8, 63, 64];
const POOL_QUOTAS = [0, 64, 4096, 65536];
const FIRST_CLIENT_IDS = [0xfff8, 0xfffc, 0x100000];
const REUSE_POLICIES: readonly CidReusePolicy[] = ['lifo', 'fifo', 'nt52'];

/** One fault spec from its own code: format 1's `faultArbitrary` (nth 1 three times in five, else 2 to 8). */
function faultCodes(ddis: readonly string[]): ReturnType<typeof digitCodes<FaultSpec>> {
  return digitCodes((): FaultSpec => {
    const ddi = ddis[take(ddis.length)];
    const nth = take(5) < 3 ? 1 : 2 + take(7);
    const statuses = FAULT_STATUSES[ddi] ?? [STATUS_UNSUCCESSFUL];
    return { ddi, nth, status: statuses[take(statuses.length)] };
  });
}

/**
 * Format 2: the scenario's settings are one code (its digits, least consequential first: integrity check, first
 * client ID, pool quota, crowding, CID reuse order, build), its faults a short array of codes, its operations an
 * array of codes (op-codes.ts). Each choice keeps format 1's odds; the code 0 is the simplest settings (no crowding,
 * no quota, the first build). Faults stay an array so fast-check shrinks a plan of two to one.
 */
function scenarioArbitraryFormat2(options: ScenarioOptions): fc.Arbitrary<Scenario> {
  const builds = options.builds ?? BUILDS.map((b) => b.id);
  const profile = options.profile ?? 'documented';
  const maxOps = options.maxOps ?? 60;
  const faultCode = faultCodes(options.faults === 'boot' ? FAULTABLE_DDIS.filter((d) => BOOT_DDIS.includes(d)) : FAULTABLE_DDIS);
  // none 3 times in 5; else one or two specs, equally often
  const faults: fc.Arbitrary<readonly FaultSpec[]> = options.faults === 'none' ? fc.constant([])
    // withCrossShrink: a plan shrinks to no plan (format 1 left that to the domain shrinker)
    : fc.oneof({ withCrossShrink: true }, { weight: 3, arbitrary: fc.constant([]) }, { weight: 2, arbitrary: fc.array(faultCode.arbitrary, { minLength: 1, maxLength: 2 }).map((c) => c.map(faultCode.decode)) });
  const crowding = options.crowding !== false;
  const occupancy = (): number => (take(9) < 8 ? 0 : OCCUPANCIES[take(4)]);
  const header = digitCodes(() => {
    const integrityCheck = take(16) === 15 ? false : undefined;
    const firstClientId = take(10) === 9 ? FIRST_CLIENT_IDS[take(3)] : undefined;
    const poolQuota = take(13) === 12 ? POOL_QUOTAS[take(4)] : undefined;
    const drawn: Crowding = crowding ? { process: occupancy(), thread: occupancy(), image: occupancy() } : { process: 0, thread: 0, image: 0 };
    const reusePolicy = REUSE_POLICIES[take(3)];
    const build = builds[take(builds.length)];
    return { integrityCheck, firstClientId, poolQuota, drawn, reusePolicy, build };
  });
  const schedules = scheduleCodes(options.cpus ?? 1);
  return fc.tuple(
    header.arbitrary, faults, opsArbitrary(options, profile === 'adversarial', maxOps),
    // one CPU draws nothing
    (options.cpus ?? 1) > 1 ? fc.tuple(schedules.shape.arbitrary, schedules.priorities.arbitrary) : fc.constant(undefined),
  ).map(([headerCode, drawnFaults, ops, scheduleCodes]): Scenario => {
    const { integrityCheck, firstClientId, poolQuota, drawn, reusePolicy, build } = header.decode(headerCode);
    const schedule = scheduleCodes === undefined ? undefined : schedules.decode(scheduleCodes[0], scheduleCodes[1], ops.length);
    return {
      build, profile, reusePolicy, crowding: clampCrowding(build, drawn), faults: [...drawnFaults], ops,
      ...(poolQuota === undefined ? {} : { poolQuota }), ...(firstClientId === undefined ? {} : { firstClientId }),
      ...(integrityCheck === false ? { integrityCheck } : {}),
      ...(schedule === undefined ? {} : { schedule }),
    };
  });
}

/**
 * Format 2's schedule on several CPUs: one code for its shape — format 1's odds: none 1 in 9, PCT 4 (2 to N CPUs, 0
 * to 3 preemptions, three in four at the first 40 steps), random switches 2, sparse ones 2 — and one for the PCT
 * priorities, the stream of an xorshift seeded by it (0: every priority 0). Shrinking gives the shape's fields
 * their first choice (no schedule first) and the priorities 0; the domain shrinker then lowers them one by one.
 */
function scheduleCodes(maxCpus: number): {
  readonly shape: ReturnType<typeof digitCodes<Omit<Schedule, 'priorities'> | undefined>>;
  readonly priorities: ReturnType<typeof digitCodes<number>>;
  readonly decode: (shape: number, priorities: number, ops: number) => Schedule | undefined;
} {
  const shape = digitCodes((): Omit<Schedule, 'priorities'> | undefined => {
    const kind = take(9);
    if (kind === 0) return undefined;
    const cpus = 2 + take(Math.max(2, maxCpus) - 1);
    if (kind <= 4) {
      const steps = new Set<number>();
      for (let i = take(4); i > 0; i--) steps.add(take(4) < 3 ? 1 + take(40) : 1 + take(400));
      return { cpus, kind: 'pct', preemptions: [...steps].sort((a, b) => a - b) };
    }
    const seed = take(0x80000000);
    return kind <= 6 ? { cpus, kind: 'random', seed } : { cpus, kind: 'random', seed, every: take(2) === 0 ? 8 : 32 };
  });
  const priorities = digitCodes(() => take(2 ** 53));
  return {
    shape, priorities,
    decode: (shapeCode, prioritiesCode, ops) => {
      const s = shape.decode(shapeCode);
      if (s === undefined || s.kind !== 'pct') return s;
      return { cpus: s.cpus, kind: s.kind, priorities: prioritiesFrom(priorities.decode(prioritiesCode), ops), preemptions: s.preemptions };
    },
  };
}

/**
 * `n` priorities in [0, 100) from `code`: an xorshift's stream (0: all 0, the simplest), with format 1's skew (fast-check's
 * bias on `fc.nat({ max: 99 })`: 0 to 4 about 9% of the time and 95 to 99 about 4% beside a uniform draw, so 13% and
 * 8% of priorities fall there, against 5% each uniformly).
 */
function prioritiesFrom(code: number, n: number): number[] {
  const out = new Array<number>(n).fill(0);
  if (code === 0) return out;
  // the code's 53 bits folded into a non-zero 32-bit state
  let x = ((code % 0x100000000) ^ Math.floor(code / 0x100000000)) | 0;
  if (x === 0) x = 0x9e3779b9 | 0;
  const next = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  for (let i = 0; i < n; i++) {
    const band = next() % 1000;
    const r = next();
    out[i] = band < 86 ? r % 5 : band < 126 ? 95 + (r % 5) : r % 100;
  }
  return out;
}

/** Format 1 (`GeneratorFormat`): nested fast-check arbitraries, kept so seeds and paths found with it replay. */
function scenarioArbitraryFormat1(options: ScenarioOptions): fc.Arbitrary<Scenario> {
  const builds = options.builds ?? BUILDS.map((b) => b.id);
  const profile = options.profile ?? 'documented';
  const maxOps = options.maxOps ?? 60;
  return fc.record({
    build: fc.constantFrom(...builds),
    profile: fc.constant(profile),
    reusePolicy: fc.constantFrom<CidReusePolicy>(...['lifo', 'fifo', 'nt52'] as const),
    crowding: options.crowding === false ? fc.constant({ process: 0, thread: 0, image: 0 }) : crowdingArbitrary,
    faults: options.faults === 'none' ? fc.constant([] as FaultSpec[])
      : fc.oneof({ weight: 3, arbitrary: fc.constant([] as FaultSpec[]) }, { weight: 2, arbitrary: fc.array(options.faults === 'boot' ? bootFaultArbitrary : faultArbitrary, { minLength: 1, maxLength: 2 }) }),
    poolQuota: poolQuotaArbitrary,
    firstClientId: firstClientIdArbitrary,
    ops: opsArbitrary(options, profile === 'adversarial', maxOps),
    // last in the record: drawing it leaves every earlier field's draws (and so every seed's operations) unchanged
    integrityCheck: integrityCheckArbitrary,
    // after it, for the same reason; one CPU draws nothing
    schedule: (options.cpus ?? 1) > 1 ? scheduleArbitrary(options.cpus ?? 1, maxOps) : fc.constant(undefined),
  }).map(({ poolQuota, firstClientId, integrityCheck, schedule, ...s }): Scenario => {
    return {
      ...s, crowding: clampCrowding(s.build, s.crowding), ...(poolQuota === undefined ? {} : { poolQuota }), ...(firstClientId === undefined ? {} : { firstClientId }),
      ...(integrityCheck === false ? { integrityCheck } : {}),
      ...(schedule === undefined ? {} : { schedule: schedule.priorities === undefined ? schedule : { ...schedule, priorities: schedule.priorities.slice(0, s.ops.length) } }),
    };
  });
}

export { CID_REUSE_POLICIES };
