/**
 * Spin locks and IRQL: KeAcquireSpinLock raises to DISPATCH_LEVEL and returns the old IRQL, KeReleaseSpinLock lowers
 * it; queued spin locks keep both in a KLOCK_QUEUE_HANDLE; KeRaiseIrql/KeLowerIrql checked in their direction; a lock
 * held twice is a deadlock, released unheld a violation ([DOC] each routine's page; Driver Verifier's IRQL and lock
 * rules, bug check 0xC4). KeBugCheckEx: the driver stops the machine.
 */
import type { DdiBinding } from '../components.js';
import type { Ddi } from '../ddi.js';
import { BugCheck, BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION } from './bugcheck.js';
import { DISPATCH_LEVEL, irqlName } from './irql.js';

export type KeSpinLockDdis = Pick<Ddi, 'KeInitializeSpinLock' | 'KeAcquireSpinLock' | 'KeReleaseSpinLock' | 'KeGetCurrentIrql' | 'KeAcquireSpinLockRaiseToDpc' | 'KeAcquireInStackQueuedSpinLock' | 'KeReleaseInStackQueuedSpinLock' | 'KeRaiseIrql' | 'KeLowerIrql' | 'KeBugCheckEx'>;

export function keSpinLockDdis(b: DdiBinding): KeSpinLockDdis {
  return {
    KeInitializeSpinLock: (p) => {
      b.mem.check(p, b.ps, true);
      b.mem.setPtr(p, 0);
    },
    KeAcquireSpinLock: (p) => {
      if (b.v.enabled && b.v.irql > DISPATCH_LEVEL) b.v.violation(0x42, b.mem.canonical(p), `KeAcquireSpinLock at ${irqlName(b.v.irql)}`);
      b.mem.check(p, b.ps, true);
      if (b.mem.ptr(p) !== 0) {
        // held by another CPU: spin until it is released (several CPUs); held by this thread: a deadlock
        if (!b.v.isHeld(p)) b.k.ke.cpus.block({ what: `spin lock ${b.k.ke.hex(p)}`, ready: () => b.mem.ptr(p) === 0, lock: p });
        throw new BugCheck(BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, [0x1001, b.mem.canonical(p), 0, 0], `deadlock: spin lock ${b.k.ke.hex(p)} acquired while already held`);
      }
      b.mem.setPtr(p, 1);
      b.k.ke.cpus.lockAcquired(p);
      return b.v.acquired(p, 'spin lock', DISPATCH_LEVEL); // raises to DISPATCH_LEVEL, returns the old IRQL
    },
    KeReleaseSpinLock: (p, newIrql) => {
      b.mem.check(p, b.ps, true);
      if (b.mem.ptr(p) === 0) {
        throw new BugCheck(BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, [0x1003, b.mem.canonical(p), 0, 0], `spin lock ${b.k.ke.hex(p)} released while not held`);
      }
      if (b.v.enabled && b.v.irql !== DISPATCH_LEVEL) b.v.violation(0x32, b.mem.canonical(p), `KeReleaseSpinLock at ${irqlName(b.v.irql)}`);
      b.mem.setPtr(p, 0);
      b.k.ke.cpus.lockReleased(p);
      b.v.released(p);
      b.v.lower(newIrql);
    },
    KeGetCurrentIrql: () => b.v.irql,
    KeAcquireSpinLockRaiseToDpc: (p) => b.ddi.KeAcquireSpinLock(p),
    // KLOCK_QUEUE_HANDLE: LockQueue { Next, Lock } then OldIrql ([DOC] wdm.h)
    KeAcquireInStackQueuedSpinLock: (p, handle) => {
      b.mem.check(handle, 3 * b.ps, true);
      const old = b.ddi.KeAcquireSpinLock(p);
      b.mem.setPtr(handle, 0);
      b.mem.setPtr(handle + b.ps, p);
      b.mem.setU8(handle + 2 * b.ps, old);
    },
    KeReleaseInStackQueuedSpinLock: (handle) => {
      b.mem.check(handle, 2 * b.ps + 1, false);
      b.ddi.KeReleaseSpinLock(b.mem.ptr(handle + b.ps), b.mem.u8(handle + 2 * b.ps));
    },
    KeRaiseIrql: (newIrql) => b.v.raise(newIrql),
    KeLowerIrql: (newIrql) => b.v.lower(newIrql),
    KeBugCheckEx: (code, p1, p2, p3, p4) => {
      throw new BugCheck(code >>> 0, [p1 >>> 0, p2 >>> 0, p3 >>> 0, p4 >>> 0], 'KeBugCheckEx called by the driver');
    },
  };
}
