/**
 * The executive's locks and rundown protection: ERESOURCEs (exclusive, shared, recursive for the exclusive owner),
 * push locks (not recursive), rundown protection (EX_RUNDOWN_REF: a count in units of 2, bit 0 once the rundown began)
 * ([DOC] the wdm page of each routine). A wait no other thread can end is a hang (ke/dispatcher-ddis.ts); on several
 * CPUs the waiter is switched out. ERESOURCE and push-lock state: ex/sync.ts.
 */
import type { DdiBinding } from '../components.js';
import type { Ddi } from '../ddi.js';
import { BugCheck, BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED } from '../ke/bugcheck.js';
import { waitsForever } from '../ke/dispatcher-ddis.js';
import { STATUS_SUCCESS } from '../status.js';
import type { PushLock, Resource } from './sync.js';

/** RESOURCE_NOT_OWNED: a thread released an ERESOURCE it does not own ([DOC] bug-check-0xe3). */
export const BUGCHECK_RESOURCE_NOT_OWNED = 0xe3;
const EX_RUNDOWN_ACTIVE = 1;
const EX_RUNDOWN_COUNT_INC = 2;

export type ExSyncDdis = Pick<Ddi, 'ExInitializeResourceLite' | 'ExAcquireResourceExclusiveLite' | 'ExAcquireResourceSharedLite' | 'ExReleaseResourceLite' | 'ExDeleteResourceLite' | 'ExInitializePushLock' | 'ExAcquirePushLockExclusiveEx' | 'ExAcquirePushLockSharedEx' | 'ExReleasePushLockExclusiveEx' | 'ExReleasePushLockSharedEx' | 'ExInitializeRundownProtection' | 'ExReInitializeRundownProtection' | 'ExAcquireRundownProtection' | 'ExReleaseRundownProtection' | 'ExWaitForRundownProtectionRelease' | 'ExRundownCompleted'>;

export function exSyncDdis(b: DdiBinding): ExSyncDdis {
  const resource = (va: number, routine: string): Resource => {
    const r = b.k.ex.sync.resources.get(va);
    if (r === undefined) {
      // CHOICE: the kernel would follow garbage list pointers; the fault it takes is named here instead
      throw new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [0xc0000005, 0, 0, 0], `${routine}(${b.k.ke.hex(va)}): an ERESOURCE never initialised with ExInitializeResourceLite (or deleted)`);
    }
    return r;
  };
  const pushLock = (va: number): PushLock => {
    let l = b.k.ex.sync.pushLocks.get(va);
    if (l === undefined) {
      // a push lock is a pointer-sized zero: any zeroed one is initialised (ExInitializePushLock only zeroes it)
      b.mem.check(va, b.ps, false);
      if (b.mem.ptr(va) !== 0) throw new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [0xc0000005, 0, 0, 0], `push lock ${b.k.ke.hex(va)} was never initialised`);
      l = { exclusive: null, shared: new Map() };
      b.k.ex.sync.pushLocks.set(va, l);
    }
    return l;
  };
  const runRef = (va: number): number => {
    b.mem.check(va, b.ps, false);
    return b.mem.ptr(va);
  };
  const setRunRef = (va: number, v: number): void => {
    b.mem.check(va, b.ps, true);
    b.mem.setPtr(va, v);
  };
  return {
    ExInitializeResourceLite: (va) => {
      b.mem.check(va, b.ps === 4 ? 0x38 : 0x68, true);
      b.mem.fill(va, b.ps === 4 ? 0x38 : 0x68, 0);
      b.k.ex.sync.resources.set(va, { exclusive: 0, owner: 0, shared: new Map() });
      return STATUS_SUCCESS;
    },
    ExAcquireResourceExclusiveLite: (va, wait) => {
      const r = resource(va, 'ExAcquireResourceExclusiveLite');
      const me = b.k.ke.lockOwner();
      if (r.exclusive > 0 && r.owner === me) {
        r.exclusive++; // recursive exclusive acquisition is granted ([DOC])
        return true;
      }
      if (r.exclusive === 0 && r.shared.size === 0) {
        r.exclusive = 1;
        r.owner = me;
        b.k.ke.cpus.lockAcquired(va);
        return true;
      }
      if (!wait) return false;
      if (!r.shared.has(me)) b.k.ke.cpus.block({ what: `ERESOURCE ${b.k.ke.hex(va)}`, ready: () => r.exclusive === 0 && r.shared.size === 0, lock: va });
      return waitsForever(b, r.shared.has(me) ? `ExAcquireResourceExclusiveLite on ${b.k.ke.hex(va)}, which the thread holds shared (it must release it first)`
        : `ExAcquireResourceExclusiveLite on ${b.k.ke.hex(va)}, owned by another thread`);
    },
    ExAcquireResourceSharedLite: (va, wait) => {
      const r = resource(va, 'ExAcquireResourceSharedLite');
      const me = b.k.ke.lockOwner();
      if (r.exclusive > 0 && r.owner === me) {
        r.exclusive++; // an exclusive owner gets shared access as a recursive exclusive acquisition
        return true;
      }
      if (r.exclusive === 0) {
        r.shared.set(me, (r.shared.get(me) ?? 0) + 1);
        b.k.ke.cpus.lockAcquired(va);
        return true;
      }
      if (!wait) return false;
      b.k.ke.cpus.block({ what: `ERESOURCE ${b.k.ke.hex(va)}`, ready: () => r.exclusive === 0, lock: va });
      return waitsForever(b, `ExAcquireResourceSharedLite on ${b.k.ke.hex(va)}, owned exclusively by another thread`);
    },
    ExReleaseResourceLite: (va) => {
      const r = resource(va, 'ExReleaseResourceLite');
      const me = b.k.ke.lockOwner();
      if (r.exclusive > 0 && r.owner === me) {
        r.exclusive--;
        if (r.exclusive === 0) b.k.ke.cpus.lockReleased(va);
      } else if ((r.shared.get(me) ?? 0) > 0) {
        const n = (r.shared.get(me) ?? 0) - 1;
        if (n === 0) r.shared.delete(me);
        else r.shared.set(me, n);
        if (n === 0) b.k.ke.cpus.lockReleased(va);
      } else {
        throw new BugCheck(BUGCHECK_RESOURCE_NOT_OWNED, [b.mem.canonical(va), b.mem.canonical(b.k.ke.current.ethread), 0, 0], `ExReleaseResourceLite(${b.k.ke.hex(va)}): the thread does not own the resource`);
      }
    },
    ExDeleteResourceLite: (va) => {
      resource(va, 'ExDeleteResourceLite');
      b.k.ex.sync.resources.delete(va);
      return STATUS_SUCCESS;
    },
    ExInitializePushLock: (va) => {
      b.mem.check(va, b.ps, true);
      b.mem.setPtr(va, 0);
      b.k.ex.sync.pushLocks.set(va, { exclusive: null, shared: new Map() });
    },
    ExAcquirePushLockExclusiveEx: (va) => {
      const l = pushLock(va);
      const me = b.k.ke.lockOwner();
      // push locks are not recursive: a second acquisition by the owner deadlocks ([DOC] ExAcquirePushLockExclusiveEx)
      if (l.exclusive !== null || l.shared.size > 0) {
        if (l.exclusive !== me && !l.shared.has(me)) b.k.ke.cpus.block({ what: `push lock ${b.k.ke.hex(va)}`, ready: () => l.exclusive === null && l.shared.size === 0, lock: va });
        waitsForever(b, `ExAcquirePushLockExclusiveEx on ${b.k.ke.hex(va)}, ${l.exclusive === me || l.shared.has(me) ? 'which this thread already holds (push locks are not recursive)' : 'held by another thread'}`);
      }
      l.exclusive = me;
      b.k.ke.cpus.lockAcquired(va);
    },
    ExAcquirePushLockSharedEx: (va) => {
      const l = pushLock(va);
      const me = b.k.ke.lockOwner();
      if (l.exclusive !== null && l.exclusive !== me) b.k.ke.cpus.block({ what: `push lock ${b.k.ke.hex(va)}`, ready: () => l.exclusive === null, lock: va });
      if (l.exclusive !== null) waitsForever(b, `ExAcquirePushLockSharedEx on ${b.k.ke.hex(va)}, held exclusively${l.exclusive === me ? ' by this thread' : ''}`);
      l.shared.set(me, (l.shared.get(me) ?? 0) + 1);
      b.k.ke.cpus.lockAcquired(va);
    },
    ExReleasePushLockExclusiveEx: (va) => {
      const l = pushLock(va);
      if (l.exclusive !== b.k.ke.lockOwner()) {
        throw new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [0xc0000005, 0, 0, 0], `ExReleasePushLockExclusiveEx(${b.k.ke.hex(va)}): not held exclusively by this thread`);
      }
      l.exclusive = null;
      b.k.ke.cpus.lockReleased(va);
    },
    ExReleasePushLockSharedEx: (va) => {
      const l = pushLock(va);
      const me = b.k.ke.lockOwner();
      const n = l.shared.get(me) ?? 0;
      if (n === 0) throw new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [0xc0000005, 0, 0, 0], `ExReleasePushLockSharedEx(${b.k.ke.hex(va)}): not held shared by this thread`);
      if (n === 1) l.shared.delete(me);
      else l.shared.set(me, n - 1);
      if (n === 1) b.k.ke.cpus.lockReleased(va);
    },
    ExInitializeRundownProtection: (va) => setRunRef(va, 0),
    ExReInitializeRundownProtection: (va) => setRunRef(va, 0),
    ExAcquireRundownProtection: (va) => {
      const v = runRef(va);
      if ((v & EX_RUNDOWN_ACTIVE) !== 0) return false; // the rundown has begun: no new references
      setRunRef(va, v + EX_RUNDOWN_COUNT_INC);
      return true;
    },
    ExReleaseRundownProtection: (va) => {
      const v = runRef(va);
      if (v < EX_RUNDOWN_COUNT_INC) {
        throw new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [0xc0000005, 0, 0, 0], `ExReleaseRundownProtection(${b.k.ke.hex(va)}): no reference was acquired`);
      }
      setRunRef(va, v - EX_RUNDOWN_COUNT_INC);
      b.k.ke.cpus.syncRelease(va);
    },
    ExWaitForRundownProtectionRelease: (va) => {
      const v = runRef(va);
      const held = Math.floor(v / EX_RUNDOWN_COUNT_INC);
      setRunRef(va, v | EX_RUNDOWN_ACTIVE);
      // several CPUs: the references are released by the threads that hold them
      if (held > 0) b.k.ke.cpus.block({ what: `the rundown of ${b.k.ke.hex(va)} (${held} reference${held === 1 ? '' : 's'} still acquired)`, ready: () => b.mem.ptr(va) < EX_RUNDOWN_COUNT_INC, sync: va });
      b.k.ke.cpus.syncAcquire(va);
      if (held > 0) waitsForever(b, `ExWaitForRundownProtectionRelease on ${b.k.ke.hex(va)} with ${held} reference(s) still acquired`);
    },
    ExRundownCompleted: (va) => setRunRef(va, EX_RUNDOWN_ACTIVE),
  };
}
