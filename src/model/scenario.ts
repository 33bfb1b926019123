/**
 * A scenario: everything one run depends on, as plain data. The same scenario always gives the same RunRecord.
 */
import { getBuild } from './builds.js';
import type { CidReusePolicy } from './cid-table.js';
import type { DriverImage } from './ddi.js';
import { Kernel, KernelHalted, PROFILES, type Crowding, type FaultSpec } from './kernel.js';
import { executeOps, type Op } from './ops.js';
import type { RunRecord } from './record.js';

export interface Scenario {
  readonly build: string;
  readonly profile: 'documented' | 'adversarial';
  readonly reusePolicy: CidReusePolicy;
  /** Other drivers' routines already in the notify tables before the driver loads. */
  readonly crowding: Crowding;
  readonly faults: readonly FaultSpec[];
  readonly ops: readonly Op[];
}

/** Boots a kernel, loads the driver (DriverEntry), applies the ops, and returns the record with its end state. */
export function simulate(driver: DriverImage, scenario: Scenario): RunRecord {
  const kernel = new Kernel({
    build: getBuild(scenario.build),
    profile: PROFILES[scenario.profile],
    reusePolicy: scenario.reusePolicy,
    driver,
    faults: scenario.faults,
    crowding: scenario.crowding,
  });
  kernel.beginOp(-1, { op: 'LoadDriver', boot: true });
  try {
    kernel.loadDriver();
    kernel.endOp('done');
  } catch (e) {
    if (!(e instanceof KernelHalted)) throw e;
  }
  if (!kernel.halted) executeOps(kernel, scenario.ops);
  return kernel.finish();
}
