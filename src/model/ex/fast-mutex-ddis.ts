/**
 * Fast mutexes: FAST_MUTEX.Count 1 free, 0 owned (FM_LOCK_BIT, [DOC] ExInitializeFastMutex); acquiring raises to
 * APC_LEVEL; a second acquisition by the owner is a deadlock (0xC4/0x1001); on several CPUs a waiter is switched out.
 * Guarded mutexes are the same object: "Starting with Windows 8, guarded mutexes and fast mutexes are implemented
 * identically" ([DOC] Fast Mutexes and Guarded Mutexes). What differs is that KeAcquireGuardedMutex enters a guarded
 * region (all APCs disabled) and leaves the IRQL as it was, where ExAcquireFastMutex raises it to APC_LEVEL. The model
 * uses that on every build (before Windows 8 the guarded mutex had its own code with the same contract: a choice).
 */
import type { DdiBinding } from '../components.js';
import type { Ddi } from '../ddi.js';
import { BugCheck, BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION } from '../ke/bugcheck.js';
import { APC_LEVEL, irqlName, PASSIVE_LEVEL } from '../ke/irql.js';

export type ExFastMutexDdis = Pick<Ddi, 'ExInitializeFastMutex' | 'ExAcquireFastMutex' | 'ExReleaseFastMutex'
  | 'KeInitializeGuardedMutex' | 'KeAcquireGuardedMutex' | 'KeReleaseGuardedMutex'>;

export function exFastMutexDdis(b: DdiBinding): ExFastMutexDdis {
  // Count: 1 free, 0 owned (FM_LOCK_BIT, [DOC] ExInitializeFastMutex)
  const initialize = (p: number): void => {
    b.mem.check(p, 4, true);
    b.mem.setU32(p, 1);
  };
  const acquire = (p: number, kind: 'fast mutex' | 'guarded mutex'): void => {
    const name = kind === 'fast mutex' ? 'ExAcquireFastMutex' : 'KeAcquireGuardedMutex';
    if (b.v.enabled && b.v.irql > APC_LEVEL) b.v.violation(0x33, b.mem.canonical(p), `${name} at ${irqlName(b.v.irql)}`);
    b.mem.check(p, 4, true);
    if (b.mem.u32(p) !== 1) {
      if (b.mem.u32(p) === 0 && !b.v.isHeld(p)) b.k.ke.cpus.block({ what: `${kind} ${b.k.ke.hex(p)}`, ready: () => b.mem.u32(p) === 1, lock: p });
      throw new BugCheck(BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, [0x1001, b.mem.canonical(p), 0, 0], `deadlock: ${kind} ${b.k.ke.hex(p)} acquired while owned (or never initialised)`);
    }
    b.mem.setU32(p, 0);
    b.k.ke.cpus.lockAcquired(p);
    // ExAcquireFastMutex raises to APC_LEVEL; KeAcquireGuardedMutex enters a guarded region at the same IRQL ([DOC])
    b.v.acquired(p, kind, kind === 'fast mutex' ? APC_LEVEL : b.v.irql);
  };
  const release = (p: number, kind: 'fast mutex' | 'guarded mutex'): void => {
    b.mem.check(p, 4, true);
    if (b.mem.u32(p) !== 0) {
      throw new BugCheck(BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, [0x1003, b.mem.canonical(p), 0, 0], `${kind} ${b.k.ke.hex(p)} released while not owned`);
    }
    if (kind === 'fast mutex' && b.v.enabled && b.v.irql !== APC_LEVEL) b.v.violation(0x34, b.mem.canonical(p), `ExReleaseFastMutex at ${irqlName(b.v.irql)}`);
    b.mem.setU32(p, 1);
    b.k.ke.cpus.lockReleased(p);
    const h = b.v.released(p);
    if (kind === 'fast mutex') b.v.lower(h?.oldIrql ?? PASSIVE_LEVEL);
  };
  return {
    ExInitializeFastMutex: initialize,
    ExAcquireFastMutex: (p) => acquire(p, 'fast mutex'),
    ExReleaseFastMutex: (p) => release(p, 'fast mutex'),
    KeInitializeGuardedMutex: initialize,
    KeAcquireGuardedMutex: (p) => acquire(p, 'guarded mutex'),
    KeReleaseGuardedMutex: (p) => release(p, 'guarded mutex'),
  };
}
