/** One scenario through one driver: simulate, read the log back, check the invariants. */
import type { DriverModule } from '../driver/types.js';
import { checkAll, INVARIANTS, observe, type Invariant, type Observation, type Violation } from '../invariants/index.js';
import type { RunRecord } from '../model/record.js';
import { simulate, type Scenario } from '../model/scenario.js';

export interface CheckedRun {
  readonly record: RunRecord;
  readonly observation: Observation;
  readonly violations: Violation[];
}

export function runAndCheck(driver: DriverModule, scenario: Scenario, invariants: readonly Invariant[] = INVARIANTS, interrupt?: () => boolean): CheckedRun {
  const record = simulate(driver, scenario, interrupt);
  const observation = observe(record, driver);
  return { record, observation, violations: checkAll(observation, invariants) };
}
