import type { RunRecord } from '../model/record.js';
import { sourceSuffix } from '../model/ke/bugcheck.js';
import type { Invariant, Violation } from './types.js';

function stopOf(record: RunRecord, check: string, id: string): Violation[] {
  const s = record.verifierStop;
  if (s === undefined || s === null || s.check !== check) return [];
  return [{
    invariant: id,
    message: `${s.reason}${s.function !== undefined ? ` (in ${s.function}${sourceSuffix(s.stack)})` : ''}, during ${s.during}`,
    evidence: { op: s.op, ...(s.seq !== null ? { seq: s.seq } : {}), event: `verifier: ${s.check}`, ...(s.address !== undefined ? { actual: s.address } : {}) },
  }];
}

/**
 * The driver stores only into memory it owns: its stack, its data, its pool, the fields of kernel structures
 * documented as the driver's to set. Windows would not stop at once (the corruption surfaces later, or as
 * PatchGuard's 0x109); the verifier stops the run at the store.
 */
export const kernelMemoryOwned: Invariant = {
  id: 'kernel-memory-owned',
  needsOutput: false,
  statement: 'the driver never writes kernel memory it does not own (EPROCESS, ETHREAD, kernel strings, IMAGE_INFO, other drivers\' pool)',
  source: 'WDK "Opaque structures" (EPROCESS, ETHREAD are opaque to drivers); bug check 0x109 CRITICAL_STRUCTURE_CORRUPTION',
  check({ record }) {
    return stopOf(record, 'kernel-memory-owned', this.id);
  },
};

/**
 * No value the driver read from pool it allocated and never wrote reaches a DDI or DbgPrint: pool is not zeroed
 * (ExAllocatePoolWithTag), so the value is whatever the previous owner left there.
 */
export const uninitializedUse: Invariant = {
  id: 'uninitialized-use',
  needsOutput: false,
  statement: 'no value read from uninitialised pool is passed to a DDI or printed',
  source: 'WDK ExAllocatePoolWithTag ("the contents of the allocated memory are not initialized"); Driver Verifier special pool fill',
  check({ record }) {
    return stopOf(record, 'uninitialized-use', this.id);
  },
};

/**
 * Every driver routine returns: a notify routine that never returns hangs the thread that created or ended the
 * process (at PASSIVE_LEVEL nothing bug-checks; at DISPATCH_LEVEL it is the DPC watchdog's 0x133, reported by
 * no-bugcheck). Counted in the driver's own work, not time (docs/verifier.md, "watchdog").
 */
export const routineReturns: Invariant = {
  id: 'routine-returns',
  needsOutput: false,
  statement: 'every driver routine returns within its work budget (no endless loop, no hang)',
  source: 'WDK "Writing a DriverEntry routine" / notify-routine remarks (routines must return promptly); bug check 0x133 DPC_WATCHDOG_VIOLATION',
  check({ record }) {
    return stopOf(record, 'watchdog', this.id);
  },
};

/**
 * No thread of execution waits forever for another: on several CPUs, two that each wait for what the other holds
 * (or one waiting for a lock a routine returned holding) never go on. The wait chain says who waits for what.
 */
export const noDeadlock: Invariant = {
  id: 'no-deadlock',
  needsOutput: false,
  statement: 'no thread of execution waits forever (a lock, an event or a rundown no other thread will release)',
  source: 'WDK KeAcquireSpinLock / ExAcquireFastMutex / KeWaitForSingleObject remarks; Driver Verifier deadlock detection (0xC4 0x1001)',
  check({ record }) {
    return stopOf(record, 'deadlock', this.id);
  },
};
