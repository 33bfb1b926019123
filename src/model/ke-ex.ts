/**
 * The kernel's time, waits and synchronisation objects beyond spin locks and fast mutexes, and the executive's
 * ERESOURCEs, lookaside lists, push locks and rundown protection ([DOC] the wdm/ntddk page of each routine).
 *
 * One CPU runs one driver routine at a time here, and no other thread of the driver exists while it waits: a wait
 * nothing can ever satisfy (an event no one will set, a rundown with references outstanding, an exclusive
 * acquisition of a lock the same thread holds) is reported as a hang — the thread would block forever — with what
 * it waits on, instead of blocking. State lives where Windows keeps it where drivers can see it (an event's
 * SignalState, a rundown reference's count), so a driver that corrupts it is seen to.
 */
import { BugCheck, BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, VerifierStop } from './ke/bugcheck.js';
import { poolTagValue, type KernelMemory } from './mm/memory.js';
import type { Wait } from './ke/scheduler.js';
import {
  STATUS_ACCESS_VIOLATION, STATUS_DATATYPE_MISALIGNMENT, STATUS_INSUFFICIENT_RESOURCES, STATUS_SUCCESS, STATUS_TIMEOUT, statusName, type NTSTATUS,
} from './status.js';

/** RESOURCE_NOT_OWNED: a thread released an ERESOURCE it does not own ([DOC] bug-check-0xe3). */
export const BUGCHECK_RESOURCE_NOT_OWNED = 0xe3;
/** KeQueryTimeIncrement: 100 ns units per clock tick (15.625 ms, the default timer resolution). */
export const TIME_INCREMENT = 156_250;
/** KeQueryPerformanceCounter's frequency (10 MHz, what Windows 10 reports on invariant-TSC machines). */
export const PERFORMANCE_FREQUENCY = 10_000_000n;
/** ExAllocatePoolWithQuotaTag: return NULL instead of raising ([DOC] wdm.h POOL_QUOTA_FAIL_INSTEAD_OF_RAISE). */
export const POOL_QUOTA_FAIL_INSTEAD_OF_RAISE = 8;
/** MmUserProbeAddress: the first address past user space (x86 with a 2 GB user space; x64's 128 TB). */
export const MM_USER_PROBE_ADDRESS = { 4: 0x7fff_0000, 8: 0x7fff_ffff_0000 } as const;
const EX_RUNDOWN_ACTIVE = 1;
const EX_RUNDOWN_COUNT_INC = 2;

/** A lookaside list's own allocate and free routines (NULL: pool). */
export type LookasideAllocate = ((PoolType: number, NumberOfBytes: number, Tag: number) => number) | null;
export type LookasideFree = ((Buffer: number) => void) | null;

export interface KeExContext {
  readonly mem: KernelMemory;
  readonly pointerSize: 4 | 8;
  /** The clock, 100 ns units since boot; `advance` moves it. */
  sinceBoot(): bigint;
  advance(units: bigint): void;
  systemTime(): bigint;
  /** The thread running now (its serial identifies the owner of a lock), and its ETHREAD. */
  currentThread(): number;
  currentEthread(): number;
  /** KeWaitForSingleObject's rule: a wait that can block is allowed up to APC_LEVEL only. */
  checkWaitIrql(routine: string): void;
  enterCriticalRegion(): void;
  leaveCriticalRegion(): void;
  routine(): string;
  /** Pool for the driver, as ExAllocatePoolWithTag (the fault plan applies); and ExFreePoolWithTag. */
  allocate(poolType: number, bytes: number, tag: string): number;
  free(va: number, tag: string): void;
  log(name: string, args: string[], status?: NTSTATUS, result?: string): void;
  hex(va: number): string;
  /** The watchdog check's name (a hang is reported as the routine that never returns). */
  readonly hangCheck: string;
  /** Several CPUs: switch the thread out until the wait can end (then the call is made again); one CPU: returns. */
  block(wait: Wait): void;
  /** Happens-before and lock order (several CPUs; no-ops on one). */
  lockAcquired(va: number): void;
  lockReleased(va: number): void;
  syncRelease(va: number): void;
  syncAcquire(va: number): void;
}

export interface KeExRoutines {
  KeQuerySystemTime(CurrentTime: number): void;
  KeQuerySystemTimePrecise(CurrentTime: number): void;
  /** Returns the counter; writes the frequency when PerformanceFrequency is not NULL. */
  KeQueryPerformanceCounter(PerformanceFrequency: number): bigint;
  KeQueryTickCount(CurrentCount: number): void;
  KeQueryTimeIncrement(): number;
  KeInitializeEvent(Event: number, Type: number, State: boolean): void;
  KeSetEvent(Event: number, Increment: number, Wait: boolean): number;
  KeResetEvent(Event: number): number;
  KeClearEvent(Event: number): void;
  KeReadStateEvent(Event: number): number;
  /** Timeout: a pointer to a LARGE_INTEGER (relative if negative), or 0 for none. */
  KeWaitForSingleObject(Object: number, WaitReason: number, WaitMode: number, Alertable: boolean, Timeout: number): NTSTATUS;
  KeDelayExecutionThread(WaitMode: number, Alertable: boolean, Interval: number): NTSTATUS;
  KeEnterCriticalRegion(): void;
  KeLeaveCriticalRegion(): void;
  ExAllocatePoolWithQuotaTag(PoolType: number, NumberOfBytes: number, Tag: string): number;
  ExInitializeResourceLite(Resource: number): NTSTATUS;
  ExAcquireResourceExclusiveLite(Resource: number, Wait: boolean): boolean;
  ExAcquireResourceSharedLite(Resource: number, Wait: boolean): boolean;
  ExReleaseResourceLite(Resource: number): void;
  ExDeleteResourceLite(Resource: number): NTSTATUS;
  ExInitializeNPagedLookasideList(Lookaside: number, Allocate: LookasideAllocate, Free: LookasideFree, Flags: number, Size: number, Tag: string, Depth: number): void;
  ExAllocateFromNPagedLookasideList(Lookaside: number): number;
  ExFreeToNPagedLookasideList(Lookaside: number, Entry: number): void;
  ExDeleteNPagedLookasideList(Lookaside: number): void;
  ExInitializePushLock(PushLock: number): void;
  ExAcquirePushLockExclusiveEx(PushLock: number, Flags: number): void;
  ExAcquirePushLockSharedEx(PushLock: number, Flags: number): void;
  ExReleasePushLockExclusiveEx(PushLock: number, Flags: number): void;
  ExReleasePushLockSharedEx(PushLock: number, Flags: number): void;
  ExInitializeRundownProtection(RunRef: number): void;
  ExReInitializeRundownProtection(RunRef: number): void;
  ExAcquireRundownProtection(RunRef: number): boolean;
  ExReleaseRundownProtection(RunRef: number): void;
  ExWaitForRundownProtectionRelease(RunRef: number): void;
  ExRundownCompleted(RunRef: number): void;
  /** Raises an exception: with no SEH modelled, nothing catches it (0x1E). */
  ExRaiseStatus(Status: number): never;
  /** A user-mode buffer's range and alignment; anything else raises (STATUS_ACCESS_VIOLATION / _DATATYPE_MISALIGNMENT). */
  ProbeForRead(Address: number, Length: number, Alignment: number): void;
  ProbeForWrite(Address: number, Length: number, Alignment: number): void;
}

interface Resource { exclusive: number; owner: number; shared: Map<number, number> }
interface Lookaside { readonly size: number; readonly tag: string; readonly poolType: number; readonly allocate: LookasideAllocate; readonly free: LookasideFree }
interface PushLock { exclusive: number | null; shared: Map<number, number> }

/** DISPATCHER_HEADER: Type (byte 0: 0 NotificationEvent, 1 SynchronizationEvent), SignalState (LONG at +4). */
const SIGNAL_STATE = 4;

export function keExRoutines(c: KeExContext): KeExRoutines {
  const { mem } = c;
  const ps = c.pointerSize;
  const resources = new Map<number, Resource>();
  const lookasides = new Map<number, Lookaside>();
  const pushLocks = new Map<number, PushLock>();
  const write64 = (va: number, v: bigint): void => {
    mem.check(va, 8, true);
    mem.setU32(va, Number(v & 0xffff_ffffn));
    mem.setU32(va + 4, Number((v >> 32n) & 0xffff_ffffn));
  };
  const read64 = (va: number): bigint => {
    mem.check(va, 8, false);
    return BigInt.asIntN(64, (BigInt(mem.u32(va + 4)) << 32n) | BigInt(mem.u32(va)));
  };
  const hang = (what: string): never => {
    throw new VerifierStop(c.hangCheck, `${c.routine()} waits forever: ${what}, and no other thread can end the wait`);
  };
  const state = (ev: number): number => {
    mem.check(ev, 8, false);
    return mem.u32(ev + SIGNAL_STATE) | 0;
  };
  const setState = (ev: number, v: number): void => {
    mem.check(ev, 8, true);
    mem.setU32(ev + SIGNAL_STATE, v);
  };
  /** A wait's timeout in 100 ns units: null for none (wait forever), else how long it lasts. */
  const timeoutOf = (p: number): bigint | null => {
    if (p === 0) return null;
    const t = read64(p);
    if (t < 0n) return -t;
    const now = c.systemTime();
    return t > now ? t - now : 0n;
  };
  const resource = (va: number, routine: string): Resource => {
    const r = resources.get(va);
    if (r === undefined) {
      // CHOICE: the kernel would follow garbage list pointers; the fault it takes is named here instead
      throw new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [0xc0000005, 0, 0, 0], `${routine}(${c.hex(va)}): an ERESOURCE never initialised with ExInitializeResourceLite (or deleted)`);
    }
    return r;
  };
  const lookaside = (va: number, routine: string): Lookaside => {
    const l = lookasides.get(va);
    if (l === undefined) {
      throw new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [0xc0000005, 0, 0, 0], `${routine}(${c.hex(va)}): a lookaside list never initialised (or deleted)`);
    }
    return l;
  };
  const pushLock = (va: number): PushLock => {
    let l = pushLocks.get(va);
    if (l === undefined) {
      // a push lock is a pointer-sized zero: any zeroed one is initialised (ExInitializePushLock only zeroes it)
      mem.check(va, ps, false);
      if (mem.ptr(va) !== 0) throw new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [0xc0000005, 0, 0, 0], `push lock ${c.hex(va)} was never initialised`);
      l = { exclusive: null, shared: new Map() };
      pushLocks.set(va, l);
    }
    return l;
  };
  /** An exception no handler catches: what Windows shows (KMODE_EXCEPTION_NOT_HANDLED, P1 the status). */
  const raise = (status: number, why: string): never => {
    throw new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [status >>> 0, 0, 0, 0],
      `${why} raised ${statusName(status)}; no handler caught it (SEH is not modelled: a __try/__except around it would have run its handler)`);
  };
  const probe = (name: string) => (address: number, length: number, alignment: number): void => {
    if (length === 0) return;
    if (![1, 2, 4, 8, 16].includes(alignment)) throw new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [STATUS_DATATYPE_MISALIGNMENT, 0, 0, 0], `${name}: alignment ${alignment} is not 1, 2, 4, 8 or 16`);
    const a = ps === 4 ? address >>> 0 : address;
    if (a % alignment !== 0) raise(STATUS_DATATYPE_MISALIGNMENT, `${name}(${c.hex(a)}, ${length}, ${alignment})`);
    // kernel memory is never a user buffer (an x86 C driver's kernel addresses are low offsets: checked by map, not range)
    if (a + length > MM_USER_PROBE_ADDRESS[ps] || a + length < a || mem.offsetOf(a, 1) >= 0) raise(STATUS_ACCESS_VIOLATION, `${name}(${c.hex(a)}, ${length}): not a user-mode buffer, so it`);
  };
  const runRef = (va: number): number => {
    mem.check(va, ps, false);
    return mem.ptr(va);
  };
  const setRunRef = (va: number, v: number): void => {
    mem.check(va, ps, true);
    mem.setPtr(va, v);
  };
  return {
    KeQuerySystemTime: (p) => write64(p, c.systemTime()),
    KeQuerySystemTimePrecise: (p) => write64(p, c.systemTime()),
    KeQueryPerformanceCounter: (freq) => {
      if (freq !== 0) write64(freq, PERFORMANCE_FREQUENCY);
      c.advance(10n);
      return c.sinceBoot(); // 100 ns units since boot at 10 MHz: the same count
    },
    KeQueryTickCount: (p) => {
      c.advance(10n);
      write64(p, c.sinceBoot() / BigInt(TIME_INCREMENT));
    },
    KeQueryTimeIncrement: () => TIME_INCREMENT,
    KeInitializeEvent: (ev, type, initial) => {
      mem.check(ev, ps === 4 ? 16 : 24, true);
      mem.setU8(ev, type === 1 ? 1 : 0);
      mem.setU8(ev + 2, ps === 4 ? 4 : 6); // Size in LONGs
      mem.setU32(ev + SIGNAL_STATE, initial ? 1 : 0);
      const list = ev + 8; // WaitListHead: an empty list points at itself
      mem.setPtr(list, list);
      mem.setPtr(list + ps, list);
    },
    KeSetEvent: (ev, _increment, _wait) => {
      const was = state(ev);
      setState(ev, 1);
      c.syncRelease(ev);
      c.log('KeSetEvent', [c.hex(ev)], undefined, String(was));
      return was;
    },
    KeResetEvent: (ev) => {
      const was = state(ev);
      setState(ev, 0);
      return was;
    },
    KeClearEvent: (ev) => setState(ev, 0),
    KeReadStateEvent: (ev) => state(ev),
    KeWaitForSingleObject: (obj, _reason, _mode, _alertable, timeout) => {
      const t = timeoutOf(timeout);
      // at DISPATCH_LEVEL only a zero timeout is allowed ([DOC] KeWaitForSingleObject)
      if (t === null || t > 0n) c.checkWaitIrql('KeWaitForSingleObject');
      if (state(obj) > 0) {
        mem.check(obj, 1, false);
        if (mem.u8(obj) === 1) setState(obj, 0); // a synchronization event wakes one waiter and resets
        c.syncAcquire(obj);
        c.log('KeWaitForSingleObject', [c.hex(obj)], STATUS_SUCCESS);
        return STATUS_SUCCESS;
      }
      // several CPUs: another thread may still set it
      if (t === null) c.block({ what: `event ${c.hex(obj)}`, ready: () => (mem.u32(obj + SIGNAL_STATE) | 0) > 0 });
      if (t === null) hang(`KeWaitForSingleObject on ${c.hex(obj)}, which is not signalled, with no timeout`);
      c.advance(t ?? 0n);
      c.log('KeWaitForSingleObject', [c.hex(obj)], STATUS_TIMEOUT);
      return STATUS_TIMEOUT;
    },
    KeDelayExecutionThread: (_mode, _alertable, interval) => {
      const t = timeoutOf(interval);
      c.advance(t ?? 0n);
      c.log('KeDelayExecutionThread', [String(t ?? 0n)], STATUS_SUCCESS);
      return STATUS_SUCCESS;
    },
    KeEnterCriticalRegion: () => c.enterCriticalRegion(),
    KeLeaveCriticalRegion: () => c.leaveCriticalRegion(),
    ExAllocatePoolWithQuotaTag: (type, n, tag) => {
      const va = c.allocate(type & ~POOL_QUOTA_FAIL_INSTEAD_OF_RAISE, n, tag);
      if (va === 0 && (type & POOL_QUOTA_FAIL_INSTEAD_OF_RAISE) === 0) {
        // it raises STATUS_INSUFFICIENT_RESOURCES; with no handler (SEH is not modelled) that is 0x1E, as on Windows
        throw new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [STATUS_INSUFFICIENT_RESOURCES, 0, 0, 0],
          `ExAllocatePoolWithQuotaTag raised STATUS_INSUFFICIENT_RESOURCES without POOL_QUOTA_FAIL_INSTEAD_OF_RAISE (the __except handler is not modelled)`);
      }
      return va;
    },
    ExInitializeResourceLite: (va) => {
      mem.check(va, ps === 4 ? 0x38 : 0x68, true);
      mem.fill(va, ps === 4 ? 0x38 : 0x68, 0);
      resources.set(va, { exclusive: 0, owner: 0, shared: new Map() });
      return STATUS_SUCCESS;
    },
    ExAcquireResourceExclusiveLite: (va, wait) => {
      const r = resource(va, 'ExAcquireResourceExclusiveLite');
      const me = c.currentThread();
      if (r.exclusive > 0 && r.owner === me) {
        r.exclusive++; // recursive exclusive acquisition is granted ([DOC])
        return true;
      }
      if (r.exclusive === 0 && r.shared.size === 0) {
        r.exclusive = 1;
        r.owner = me;
        c.lockAcquired(va);
        return true;
      }
      if (!wait) return false;
      if (!r.shared.has(me)) c.block({ what: `ERESOURCE ${c.hex(va)}`, ready: () => r.exclusive === 0 && r.shared.size === 0, lock: va });
      return hang(r.shared.has(me) ? `ExAcquireResourceExclusiveLite on ${c.hex(va)}, which the thread holds shared (it must release it first)`
        : `ExAcquireResourceExclusiveLite on ${c.hex(va)}, owned by another thread`);
    },
    ExAcquireResourceSharedLite: (va, wait) => {
      const r = resource(va, 'ExAcquireResourceSharedLite');
      const me = c.currentThread();
      if (r.exclusive > 0 && r.owner === me) {
        r.exclusive++; // an exclusive owner gets shared access as a recursive exclusive acquisition
        return true;
      }
      if (r.exclusive === 0) {
        r.shared.set(me, (r.shared.get(me) ?? 0) + 1);
        c.lockAcquired(va);
        return true;
      }
      if (!wait) return false;
      c.block({ what: `ERESOURCE ${c.hex(va)}`, ready: () => r.exclusive === 0, lock: va });
      return hang(`ExAcquireResourceSharedLite on ${c.hex(va)}, owned exclusively by another thread`);
    },
    ExReleaseResourceLite: (va) => {
      const r = resource(va, 'ExReleaseResourceLite');
      const me = c.currentThread();
      if (r.exclusive > 0 && r.owner === me) {
        r.exclusive--;
        if (r.exclusive === 0) c.lockReleased(va);
      } else if ((r.shared.get(me) ?? 0) > 0) {
        const n = (r.shared.get(me) ?? 0) - 1;
        if (n === 0) r.shared.delete(me);
        else r.shared.set(me, n);
        if (n === 0) c.lockReleased(va);
      } else {
        throw new BugCheck(BUGCHECK_RESOURCE_NOT_OWNED, [mem.canonical(va), mem.canonical(c.currentEthread()), 0, 0], `ExReleaseResourceLite(${c.hex(va)}): the thread does not own the resource`);
      }
    },
    ExDeleteResourceLite: (va) => {
      resource(va, 'ExDeleteResourceLite');
      resources.delete(va);
      return STATUS_SUCCESS;
    },
    ExInitializeNPagedLookasideList: (va, allocate, free, _flags, size, tag, _depth) => {
      mem.check(va, ps === 4 ? 0x80 : 0x80, true);
      mem.fill(va, 0x80, 0);
      // CHOICE: no entries are cached (depth 0, as Driver Verifier's special pool makes it): every allocation and
      // free reaches pool or the list's routines, so use after free and leaks show at once
      lookasides.set(va, { size, tag, poolType: 0, allocate, free });
    },
    ExAllocateFromNPagedLookasideList: (va) => {
      const l = lookaside(va, 'ExAllocateFromNPagedLookasideList');
      return l.allocate !== null ? l.allocate(l.poolType, l.size, poolTagValue(l.tag)) : c.allocate(l.poolType, l.size, l.tag);
    },
    ExFreeToNPagedLookasideList: (va, entry) => {
      const l = lookaside(va, 'ExFreeToNPagedLookasideList');
      if (l.free !== null) l.free(entry);
      else c.free(entry, l.tag);
    },
    ExDeleteNPagedLookasideList: (va) => {
      lookaside(va, 'ExDeleteNPagedLookasideList');
      lookasides.delete(va);
    },
    ExInitializePushLock: (va) => {
      mem.check(va, ps, true);
      mem.setPtr(va, 0);
      pushLocks.set(va, { exclusive: null, shared: new Map() });
    },
    ExAcquirePushLockExclusiveEx: (va) => {
      const l = pushLock(va);
      const me = c.currentThread();
      // push locks are not recursive: a second acquisition by the owner deadlocks ([DOC] ExAcquirePushLockExclusiveEx)
      if (l.exclusive !== null || l.shared.size > 0) {
        if (l.exclusive !== me && !l.shared.has(me)) c.block({ what: `push lock ${c.hex(va)}`, ready: () => l.exclusive === null && l.shared.size === 0, lock: va });
        hang(`ExAcquirePushLockExclusiveEx on ${c.hex(va)}, ${l.exclusive === me || l.shared.has(me) ? 'which this thread already holds (push locks are not recursive)' : 'held by another thread'}`);
      }
      l.exclusive = me;
      c.lockAcquired(va);
    },
    ExAcquirePushLockSharedEx: (va) => {
      const l = pushLock(va);
      const me = c.currentThread();
      if (l.exclusive !== null && l.exclusive !== me) c.block({ what: `push lock ${c.hex(va)}`, ready: () => l.exclusive === null, lock: va });
      if (l.exclusive !== null) hang(`ExAcquirePushLockSharedEx on ${c.hex(va)}, held exclusively${l.exclusive === me ? ' by this thread' : ''}`);
      l.shared.set(me, (l.shared.get(me) ?? 0) + 1);
      c.lockAcquired(va);
    },
    ExReleasePushLockExclusiveEx: (va) => {
      const l = pushLock(va);
      if (l.exclusive !== c.currentThread()) {
        throw new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [0xc0000005, 0, 0, 0], `ExReleasePushLockExclusiveEx(${c.hex(va)}): not held exclusively by this thread`);
      }
      l.exclusive = null;
      c.lockReleased(va);
    },
    ExReleasePushLockSharedEx: (va) => {
      const l = pushLock(va);
      const me = c.currentThread();
      const n = l.shared.get(me) ?? 0;
      if (n === 0) throw new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [0xc0000005, 0, 0, 0], `ExReleasePushLockSharedEx(${c.hex(va)}): not held shared by this thread`);
      if (n === 1) l.shared.delete(me);
      else l.shared.set(me, n - 1);
      if (n === 1) c.lockReleased(va);
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
        throw new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [0xc0000005, 0, 0, 0], `ExReleaseRundownProtection(${c.hex(va)}): no reference was acquired`);
      }
      setRunRef(va, v - EX_RUNDOWN_COUNT_INC);
      c.syncRelease(va);
    },
    ExWaitForRundownProtectionRelease: (va) => {
      const v = runRef(va);
      const held = Math.floor(v / EX_RUNDOWN_COUNT_INC);
      setRunRef(va, v | EX_RUNDOWN_ACTIVE);
      // several CPUs: the references are released by the threads that hold them
      if (held > 0) c.block({ what: `the rundown of ${c.hex(va)} (${held} reference${held === 1 ? '' : 's'} still acquired)`, ready: () => mem.ptr(va) < EX_RUNDOWN_COUNT_INC, sync: va });
      c.syncAcquire(va);
      if (held > 0) hang(`ExWaitForRundownProtectionRelease on ${c.hex(va)} with ${held} reference(s) still acquired`);
    },
    ExRundownCompleted: (va) => setRunRef(va, EX_RUNDOWN_ACTIVE),
    ExRaiseStatus: (status) => raise(status, 'ExRaiseStatus'),
    ProbeForRead: probe('ProbeForRead'),
    ProbeForWrite: probe('ProbeForWrite'),
  };
}
