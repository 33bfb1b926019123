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
import { DEFAULT_WEIGHTS, rawOpArbitrary, resolveOps, type OpWeights } from './ops.js';

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
    ops: fc.array(rawOpArbitrary(profile === 'adversarial', options.weights ?? DEFAULT_WEIGHTS), { minLength: Math.min(options.minOps ?? 0, maxOps), maxLength: maxOps, size: 'max' }).map((raw) => resolveOps(raw, options.weights?.eventsIoctl)),
    // last in the record: drawing it leaves every earlier field's draws (and so every seed's operations) unchanged
    integrityCheck: integrityCheckArbitrary,
    // after it, for the same reason; one CPU draws nothing
    schedule: (options.cpus ?? 1) > 1 ? scheduleArbitrary(options.cpus ?? 1, maxOps) : fc.constant(undefined),
  }).map(({ poolQuota, firstClientId, integrityCheck, schedule, ...s }): Scenario => {
    // a table holds at most its capacity: more crowding than that is the same full table
    const cap = getBuild(s.build).capacity;
    const crowding = { process: Math.min(s.crowding.process, cap.process), thread: Math.min(s.crowding.thread, cap.thread), image: Math.min(s.crowding.image, cap.image) };
    return {
      ...s, crowding, ...(poolQuota === undefined ? {} : { poolQuota }), ...(firstClientId === undefined ? {} : { firstClientId }),
      ...(integrityCheck === false ? { integrityCheck } : {}),
      ...(schedule === undefined ? {} : { schedule: schedule.priorities === undefined ? schedule : { ...schedule, priorities: schedule.priorities.slice(0, s.ops.length) } }),
    };
  });
}

export { CID_REUSE_POLICIES };
