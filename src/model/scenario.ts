/**
 * A scenario: everything one run depends on, as plain data. The same scenario always gives the same RunRecord.
 */
import { getBuild } from './builds.js';
import type { CidReusePolicy } from './ps/cid-table.js';
import { imageFor, type DriverImage } from './ddi.js';
import { KernelHalted } from './ke/bugcheck.js';
import { Kernel } from './kernel.js';
import { PROFILES } from './profile.js';
import type { Crowding } from './ps/notify.js';
import type { FaultSpec } from './vf/fault-plan.js';
import { executeOps, executeOpsConcurrent, type Op } from './ops.js';
import { isConcurrent, type Schedule } from './ke/schedule.js';
import type { RunRecord } from './record.js';

export interface Scenario {
  readonly build: string;
  readonly profile: 'documented' | 'adversarial';
  readonly reusePolicy: CidReusePolicy;
  /** Other drivers' routines already in the notify tables before the driver loads. */
  readonly crowding: Crowding;
  readonly faults: readonly FaultSpec[];
  /** A low-memory machine: bytes of pool the driver may hold before its allocations return NULL. */
  readonly poolQuota?: number;
  /** A long-running machine: client IDs (PIDs, TIDs) after boot start here, e.g. past 16 bits. */
  readonly firstClientId?: number;
  /** The driver image linked without /INTEGRITYCHECK (a build misconfiguration a driver must survive). */
  readonly integrityCheck?: false;
  /** Several CPUs and how the operations interleave on them (absent: one CPU, each operation to its end). */
  readonly schedule?: Schedule;
  readonly ops: readonly Op[];
}

/**
 * Boots a kernel, loads the driver (DriverEntry), applies the ops, and returns the record with its end state.
 * `interrupt` is asked between operations (a campaign's time limit); when it says stop, RunInterrupted is thrown.
 */
export function simulate(module: DriverImage, scenario: Scenario, interrupt?: () => boolean): RunRecord {
  const build = getBuild(scenario.build);
  const driver = imageFor(module, build.pointerSize);
  if (driver === undefined) {
    throw new Error(`${module.name} has no ${build.pointerSize === 8 ? 'x64' : 'x86'} WebAssembly image: it cannot run on ${build.id}`);
  }
  const kernel = new Kernel({
    build,
    ...(driver.addressSpace !== undefined ? { wasm: driver.addressSpace } : {}),
    profile: PROFILES[scenario.profile],
    reusePolicy: scenario.reusePolicy,
    driver,
    faults: scenario.faults,
    crowding: scenario.crowding,
    ...(scenario.poolQuota !== undefined ? { poolQuota: scenario.poolQuota } : {}),
    verifier: driver.verifier !== false,
    integrityCheck: driver.integrityCheck !== false && scenario.integrityCheck !== false,
    fibers: isConcurrent(scenario.schedule),
  });
  if (scenario.firstClientId !== undefined) kernel.ps.processes.advanceClientIds(scenario.firstClientId);
  kernel.beginOp(-1, { op: 'LoadDriver', boot: true });
  try {
    kernel.loadDriver();
    kernel.endOp('done');
  } catch (e) {
    if (!(e instanceof KernelHalted)) throw e;
  }
  if (!kernel.halted) {
    if (isConcurrent(scenario.schedule)) executeOpsConcurrent(kernel, scenario.ops, scenario.schedule, interrupt);
    else executeOps(kernel, scenario.ops, interrupt);
  }
  const record = kernel.finish();
  kernel.release();
  return record;
}
