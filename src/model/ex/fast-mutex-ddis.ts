/**
 * Fast mutexes: FAST_MUTEX.Count 1 free, 0 owned (FM_LOCK_BIT, [DOC] ExInitializeFastMutex); acquiring raises to
 * APC_LEVEL; a second acquisition by the owner is a deadlock (0xC4/0x1001); on several CPUs a waiter is switched out.
 */
import type { DdiBinding } from '../components.js';
import type { Ddi } from '../ddi.js';
import { BugCheck, BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION } from '../ke/bugcheck.js';
import { APC_LEVEL, irqlName, PASSIVE_LEVEL } from '../ke/irql.js';

export type ExFastMutexDdis = Pick<Ddi, 'ExInitializeFastMutex' | 'ExAcquireFastMutex' | 'ExReleaseFastMutex'>;

export function exFastMutexDdis(b: DdiBinding): ExFastMutexDdis {
  return {
    // FAST_MUTEX.Count: 1 free, 0 owned (FM_LOCK_BIT, [DOC] ExInitializeFastMutex)
    ExInitializeFastMutex: (p) => {
      b.mem.check(p, 4, true);
      b.mem.setU32(p, 1);
    },
    ExAcquireFastMutex: (p) => {
      if (b.v.enabled && b.v.irql > APC_LEVEL) b.v.violation(0x33, b.mem.canonical(p), `ExAcquireFastMutex at ${irqlName(b.v.irql)}`);
      b.mem.check(p, 4, true);
      if (b.mem.u32(p) !== 1) {
        if (b.mem.u32(p) === 0 && !b.v.isHeld(p)) b.k.ke.cpus.block({ what: `fast mutex ${b.k.ke.hex(p)}`, ready: () => b.mem.u32(p) === 1, lock: p });
        throw new BugCheck(BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, [0x1001, b.mem.canonical(p), 0, 0], `deadlock: fast mutex ${b.k.ke.hex(p)} acquired while owned (or never initialised)`);
      }
      b.mem.setU32(p, 0);
      b.k.ke.cpus.lockAcquired(p);
      b.v.acquired(p, 'fast mutex', APC_LEVEL); // ExAcquireFastMutex raises to APC_LEVEL ([DOC])
    },
    ExReleaseFastMutex: (p) => {
      b.mem.check(p, 4, true);
      if (b.mem.u32(p) !== 0) {
        throw new BugCheck(BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, [0x1003, b.mem.canonical(p), 0, 0], `fast mutex ${b.k.ke.hex(p)} released while not owned`);
      }
      if (b.v.enabled && b.v.irql !== APC_LEVEL) b.v.violation(0x34, b.mem.canonical(p), `ExReleaseFastMutex at ${irqlName(b.v.irql)}`);
      b.mem.setU32(p, 1);
      b.k.ke.cpus.lockReleased(p);
      const h = b.v.released(p);
      b.v.lower(h?.oldIrql ?? PASSIVE_LEVEL);
    },
  };
}
