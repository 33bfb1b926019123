/** The invariant catalogue, by stable id. */
import { dbgPrintLimit } from './dbgprint-limit.js';
import { deviceEventsDelivered } from './device-events.js';
import { deviceInterface } from './device-interface.js';
import { driverUnloadable, entryFailureJustified, failedEntryClean, poolReleased, teardownOrder, unloadClean } from './driver-lifecycle.js';
import { eventsComplete } from './events-complete.js';
import { eventsLoggedOnce } from './events-logged-once.js';
import { imagePathFull } from './image-path-full.js';
import { irpCompletion } from './irp-completion.js';
import { lookupFailureHandled } from './lookup-failure-handled.js';
import { noBugCheck } from './no-bugcheck.js';
import { objectAccessStripped } from './object-access-stripped.js';
import { pidReuseAttribution } from './pid-reuse-attribution.js';
import { pointersFullWidth } from './pointers-full-width.js';
import { processNameCorrect } from './process-name-correct.js';
import { threadCountCorrect } from './thread-count-correct.js';
import { referencesBalanced, referencesReleased } from './references-balanced.js';
import type { Invariant, Observation, Violation } from './types.js';
import { kernelMemoryOwned, noDeadlock, routineReturns, uninitializedUse } from './verifier-stops.js';
import { lockOrderConsistent, noDataRace } from './concurrency.js';

export * from './types.js';
export { reachabilityOf, type Reachability, type ReachabilityClass } from './reachability.js';
export { deliveredEvents, type DeliveredEvent } from './device-events.js';

export const INVARIANTS: readonly Invariant[] = [
  eventsLoggedOnce,
  eventsComplete,
  processNameCorrect,
  imagePathFull,
  lookupFailureHandled,
  referencesBalanced,
  referencesReleased,
  failedEntryClean,
  entryFailureJustified,
  unloadClean,
  teardownOrder,
  poolReleased,
  irpCompletion,
  driverUnloadable,
  noBugCheck,
  dbgPrintLimit,
  pidReuseAttribution,
  threadCountCorrect,
  pointersFullWidth,
  kernelMemoryOwned,
  uninitializedUse,
  routineReturns,
  deviceInterface,
  objectAccessStripped,
  noDataRace,
  lockOrderConsistent,
  noDeadlock,
  deviceEventsDelivered,
];

export class UnknownInvariantError extends Error {
  constructor(id: string) {
    super(`unknown invariant '${id}' (known: ${INVARIANTS.map((i) => i.id).join(', ')})`);
    this.name = 'UnknownInvariantError';
  }
}

export function getInvariant(id: string): Invariant {
  const inv = INVARIANTS.find((i) => i.id === id);
  if (inv === undefined) throw new UnknownInvariantError(id);
  return inv;
}

export function checkAll(run: Observation, invariants: readonly Invariant[] = INVARIANTS): Violation[] {
  const out: Violation[] = [];
  for (const inv of invariants) for (const v of inv.check(run)) out.push(v);
  return out;
}
