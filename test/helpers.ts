/** Shared test helpers: a scenario with documented defaults, and the usual volume path. */
import type { Scenario } from '../src/model/index.js';

export const VOL = '\\Device\\HarddiskVolume1\\Windows';

export function scenario(build: string, ops: Scenario['ops'], extra: Partial<Scenario> = {}): Scenario {
  return { build, profile: 'documented', reusePolicy: 'nt52', crowding: { process: 0, thread: 0, image: 0 }, faults: [], ops, ...extra };
}
