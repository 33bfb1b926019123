/** The invariant catalogue, by stable id. */
import { suggestion } from '../model/did-you-mean.js';
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
import { registryGuardExact, registryKeyNamesReleased } from './registry.js';
import { operationEventsComplete, operationEventsExact } from './operation-events.js';
import { fileGuardExact, fltContextsReleased, fltFileNamesReleased } from './minifilter.js';
import { cutShortOps, HALTS, type Invariant, type Observation, type Violation } from './types.js';
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
  registryKeyNamesReleased,
  registryGuardExact,
  fltFileNamesReleased,
  fltContextsReleased,
  fileGuardExact,
  operationEventsComplete,
  operationEventsExact,
];

export class UnknownInvariantError extends Error {
  constructor(id: string) {
    super(`unknown invariant '${id}'${suggestion(id, INVARIANTS.map((i) => i.id))} (known: ${INVARIANTS.map((i) => i.id).join(', ')})`);
    this.name = 'UnknownInvariantError';
  }
}

export function getInvariant(id: string): Invariant {
  const inv = INVARIANTS.find((i) => i.id === id);
  if (inv === undefined) throw new UnknownInvariantError(id);
  return inv;
}

/** The invariants about the halt itself, and the races that may have caused it: judged whatever the halt. */
const ABOUT_THE_HALT: ReadonlySet<string> = new Set([...HALTS, 'no-data-race', 'lock-order-consistent', 'no-deadlock', 'dbgprint-limit']);

/**
 * A halted machine is the end of judgement: after a bug check or a verifier stop, the other invariants judge only
 * what completed before it. Their violations in the halting operation, in one still in flight on another CPU, or in
 * a later one are the halt's consequences, not findings of their own, unless they are about a callback that
 * returned before the halt.
 */
function beforeTheHalt(run: Observation): ((v: Violation) => boolean) | null {
  const r = run.record;
  const halt = r.bugCheck ?? r.verifierStop ?? null;
  if (halt === null) return null;
  const cut = cutShortOps(r);
  const returned = new Set([...r.callbacks, ...r.phases].filter((c) => c.outcome === 'returned' && (halt.seq === null || c.seq < halt.seq)).map((c) => c.seq));
  return (v) => {
    // a diagnosis of the halt itself (the callback that stopped the machine) is the finding
    if (ABOUT_THE_HALT.has(v.invariant) || (v.evidence.seq !== undefined && v.evidence.seq === halt.seq)) return true;
    const op = v.evidence.op;
    if (op < halt.op && !cut.has(op)) return true;
    // the halting operation, one in flight on another CPU, or a later one: only a callback that returned before
    return v.evidence.seq !== undefined && returned.has(v.evidence.seq);
  };
}

export function checkAll(run: Observation, invariants: readonly Invariant[] = INVARIANTS): Violation[] {
  const out: Violation[] = [];
  for (const inv of invariants) for (const v of inv.check(run)) out.push(v);
  const keep = out.length === 0 ? null : beforeTheHalt(run);
  return keep === null ? out : out.filter(keep);
}
