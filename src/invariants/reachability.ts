/**
 * Reachability of a run's outcome on Windows: the least reachable thing the run needed. An injected failure or a
 * short pool is classed by the routine and status (model/vf/fault-plan.ts faultReachability); the adversarial
 * profile's exit lookup race (the PID gone or reused while the exit routines run) is defensive: exit notify runs
 * long before the process object is deleted, so Windows never shows it (nt-semantics §0 row 15).
 */
import type { RunRecord } from '../model/record.js';
import { faultReachability, type Reachability } from '../model/vf/fault-plan.js';

export type { Reachability } from '../model/vf/fault-plan.js';

export interface ReachabilityClass {
  readonly reachability: Reachability;
  /** What made it less than reachable, in words (empty when reachable). */
  readonly why: readonly string[];
}

/** The notify registrations (not their removal, which reports nothing Windows would refuse). */
const REGISTRATION = /^PsSet(CreateProcess|CreateThread|LoadImage)NotifyRoutine/;
const RANK: Readonly<Record<Reachability, number>> = { reachable: 0, 'low-resources': 1, defensive: 2 };
const cache = new WeakMap<RunRecord, ReachabilityClass>();

export function reachabilityOf(record: RunRecord): ReachabilityClass {
  const hit = cache.get(record);
  if (hit !== undefined) return hit;
  let reachability: Reachability = 'reachable';
  const why: string[] = [];
  const note = (r: Reachability, w: string): void => {
    if (RANK[r] === 0) return;
    if (!why.includes(w)) why.push(w);
    if (RANK[r] > RANK[reachability]) reachability = r;
  };
  for (const part of [record.phases, record.callbacks]) {
    for (const c of part) {
      for (const d of c.ddi) {
        if (d.faulted === true || (REGISTRATION.test(d.name) && !d.args.includes('Remove=TRUE') && d.status !== undefined && d.status !== 'STATUS_SUCCESS')) {
          // injected, or a registration refused for real (a full table on a crowded machine, no /INTEGRITYCHECK)
          const c = faultReachability(d.name, d.status ?? 'NULL');
          note(c.reachability, c.why);
        } else if (d.result?.startsWith('NULL (pool quota)') === true) note('low-resources', `${d.name} returned NULL: the driver's pool quota ran out (a low-memory machine)`);
      }
    }
  }
  for (const cb of record.callbacks) {
    if (cb.truth.race !== undefined) note('defensive', `the process was ${cb.truth.race} while its exit routines ran (adversarial profile): Windows keeps it until they return`);
  }
  const out = { reachability, why };
  cache.set(record, out);
  return out;
}
