/**
 * The kernel's time, dispatcher objects and waits: KeQuerySystemTime and its kin (the simulated clock), events, waits
 * with and without a timeout, critical regions ([DOC] the wdm page of each routine). One CPU runs one driver routine at
 * a time, and no other thread of the driver exists while it waits: a wait nothing can ever satisfy (an event no one
 * will set) is reported as a hang — the thread would block forever — with what it waits on. On several CPUs the waiter
 * is switched out until another thread ends the wait. An event's SignalState lives where Windows keeps it, in the
 * DISPATCHER_HEADER, so a driver that corrupts it is seen to.
 */
import type { DdiBinding } from '../components.js';
import type { Ddi } from '../ddi.js';
import { VerifierStop } from './bugcheck.js';
import { APC_LEVEL } from './irql.js';
import { STATUS_SUCCESS, STATUS_TIMEOUT } from '../status.js';
import { CHECKS } from '../vf/verifier.js';

/** KeQueryTimeIncrement: 100 ns units per clock tick (15.625 ms, the default timer resolution). */
export const TIME_INCREMENT = 156_250;
/** KeQueryPerformanceCounter's frequency (10 MHz, what Windows 10 reports on invariant-TSC machines). */
export const PERFORMANCE_FREQUENCY = 10_000_000n;
/** DISPATCHER_HEADER: Type (byte 0: 0 NotificationEvent, 1 SynchronizationEvent), SignalState (LONG at +4). */
const SIGNAL_STATE = 4;

/** A wait nothing can end: the watchdog's finding, naming the routine that would never return. */
export function waitsForever(b: DdiBinding, what: string): never {
  throw new VerifierStop(CHECKS.watchdog, `${b.k.rec.frame?.cb?.routine ?? 'the driver'} waits forever: ${what}, and no other thread can end the wait`);
}

export type KeDispatcherDdis = Pick<Ddi, 'KeQuerySystemTime' | 'KeQuerySystemTimePrecise' | 'KeQueryPerformanceCounter' | 'KeQueryTickCount' | 'KeQueryTimeIncrement' | 'KeInitializeEvent' | 'KeSetEvent' | 'KeResetEvent' | 'KeClearEvent' | 'KeReadStateEvent' | 'KeWaitForSingleObject' | 'KeDelayExecutionThread' | 'KeEnterCriticalRegion' | 'KeLeaveCriticalRegion'>;

export function keDispatcherDdis(b: DdiBinding): KeDispatcherDdis {
  const write64 = (va: number, v: bigint): void => {
    b.mem.check(va, 8, true);
    b.mem.setU32(va, Number(v & 0xffff_ffffn));
    b.mem.setU32(va + 4, Number((v >> 32n) & 0xffff_ffffn));
  };
  const read64 = (va: number): bigint => {
    b.mem.check(va, 8, false);
    return BigInt.asIntN(64, (BigInt(b.mem.u32(va + 4)) << 32n) | BigInt(b.mem.u32(va)));
  };
  const state = (ev: number): number => {
    b.mem.check(ev, 8, false);
    return b.mem.u32(ev + SIGNAL_STATE) | 0;
  };
  const setState = (ev: number, v: number): void => {
    b.mem.check(ev, 8, true);
    b.mem.setU32(ev + SIGNAL_STATE, v);
  };
  /** A wait's timeout in 100 ns units: null for none (wait forever), else how long it lasts. */
  const timeoutOf = (p: number): bigint | null => {
    if (p === 0) return null;
    const t = read64(p);
    if (t < 0n) return -t;
    const now = b.k.ke.systemTime();
    return t > now ? t - now : 0n;
  };
  return {
    KeQuerySystemTime: (p) => write64(p, b.k.ke.systemTime()),
    KeQuerySystemTimePrecise: (p) => write64(p, b.k.ke.systemTime()),
    KeQueryPerformanceCounter: (freq) => {
      if (freq !== 0) write64(freq, PERFORMANCE_FREQUENCY);
      b.k.ke.sinceBoot += 10n;
      return b.k.ke.sinceBoot; // 100 ns units since boot at 10 MHz: the same count
    },
    KeQueryTickCount: (p) => {
      b.k.ke.sinceBoot += 10n;
      write64(p, b.k.ke.sinceBoot / BigInt(TIME_INCREMENT));
    },
    KeQueryTimeIncrement: () => TIME_INCREMENT,
    KeInitializeEvent: (ev, type, initial) => {
      b.mem.check(ev, b.ps === 4 ? 16 : 24, true);
      b.mem.setU8(ev, type === 1 ? 1 : 0);
      b.mem.setU8(ev + 2, b.ps === 4 ? 4 : 6); // Size in LONGs
      b.mem.setU32(ev + SIGNAL_STATE, initial ? 1 : 0);
      const list = ev + 8; // WaitListHead: an empty list points at itself
      b.mem.setPtr(list, list);
      b.mem.setPtr(list + b.ps, list);
    },
    KeSetEvent: (ev, _increment, _wait) => {
      const was = state(ev);
      setState(ev, 1);
      b.k.ke.cpus.syncRelease(ev);
      b.k.rec.log('KeSetEvent', [b.k.ke.hex(ev)], undefined, String(was));
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
      if (t === null || t > 0n) b.v.checkIrql('KeWaitForSingleObject', { max: APC_LEVEL });
      if (state(obj) > 0) {
        b.mem.check(obj, 1, false);
        if (b.mem.u8(obj) === 1) setState(obj, 0); // a synchronization event wakes one waiter and resets
        b.k.ke.cpus.syncAcquire(obj);
        b.k.rec.log('KeWaitForSingleObject', [b.k.ke.hex(obj)], STATUS_SUCCESS);
        return STATUS_SUCCESS;
      }
      // several CPUs: another thread may still set it
      if (t === null) b.k.ke.cpus.block({ what: `event ${b.k.ke.hex(obj)}`, ready: () => (b.mem.u32(obj + SIGNAL_STATE) | 0) > 0 });
      if (t === null) waitsForever(b, `KeWaitForSingleObject on ${b.k.ke.hex(obj)}, which is not signalled, with no timeout`);
      b.k.ke.sinceBoot += t ?? 0n;
      b.k.rec.log('KeWaitForSingleObject', [b.k.ke.hex(obj)], STATUS_TIMEOUT);
      return STATUS_TIMEOUT;
    },
    KeDelayExecutionThread: (_mode, _alertable, interval) => {
      const t = timeoutOf(interval);
      b.k.ke.sinceBoot += t ?? 0n;
      b.k.rec.log('KeDelayExecutionThread', [String(t ?? 0n)], STATUS_SUCCESS);
      return STATUS_SUCCESS;
    },
    KeEnterCriticalRegion: () => b.v.enterCriticalRegion(),
    KeLeaveCriticalRegion: () => b.v.leaveCriticalRegion(),
  };
}
