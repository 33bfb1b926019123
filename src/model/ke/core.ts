/**
 * The kernel proper (NT's Ke layer), as every other component sees it: the build and profile, the address space and
 * the verifier, the record being written, the thread running now, the clock, the CPUs, and what ends a run — a bug
 * check, a verifier stop, a deadlock. It calls into driver code: runDriverCode and runCallbackNow are the one way a
 * driver routine is entered, and a throw out of one is a bug check, never an exception of the harness.
 */
import type { OsBuild } from '../builds.js';
import { PoolExhausted, type KernelMemory } from '../mm/memory.js';
import type { LoadedDriver } from '../mm/sysldr.js';
import type { KernelProfile } from '../profile.js';
import type { KThread } from '../ps/objects.js';
import type { Frame, Recorder } from '../recorder.js';
import type { CallbackRecord, OpRecord, PhaseRecord } from '../record.js';
import type { FaultPlan } from '../vf/fault-plan.js';
import { CHECKS, type Verifier, type VerifierThreadState } from '../vf/verifier.js';
import {
  BugCheck,
  BUGCHECK_DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS,
  unloadedUnderReason,
  BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED,
  KernelHalted,
  VerifierStop,
} from './bugcheck.js';
import type { Cpus } from './cpus.js';
import { WouldBlock, type Scheduler, type Task } from './scheduler.js';

/** The simulated machine boots at 2024-01-01 00:00 UTC (a FILETIME). */
export const BOOT_FILETIME = 133_485_408_000_000_000n;

/** Runs a thread of execution to its end (one CPU: nothing switches it out). */
export function drive<T>(g: Generator<void, T, void>): T {
  for (;;) {
    const r = g.next();
    if (r.done === true) return r.value;
  }
}

/**
 * What a notification delivered on one CPU leaves to run: nothing. `yield* (n ?? NOTHING)` steps over it without a
 * generator made per call (one CPU never switches, so the routines were called already).
 */
const DONE: IteratorReturnResult<void> = Object.freeze({ done: true, value: undefined });
export const NOTHING: Iterator<void, void, void> & Iterable<void> = {
  next: () => DONE,
  [Symbol.iterator]: () => NOTHING,
};

/** What a thread of execution takes with it when it is switched out. */
export interface ThreadState {
  readonly current: KThread;
  readonly frame: Frame | null;
  readonly opIndex: number;
  readonly opRecord: OpRecord | null;
  readonly verifier: VerifierThreadState | null;
}

export class KernelCore {
  /** @internal the thread the kernel is running on (the System thread from boot) */
  current: KThread = null as unknown as KThread;
  /** @internal the simulated clock, in 100 ns units since boot (KeQuerySystemTime and its kin). */
  sinceBoot = 0n;

  constructor(
    readonly build: OsBuild,
    readonly profile: KernelProfile,
    readonly mem: KernelMemory,
    readonly verifier: Verifier,
    readonly rec: Recorder,
    readonly loaded: LoadedDriver,
    readonly cpus: Cpus,
    readonly faults: FaultPlan,
    /** Stack garbage an uninitialised pointer holds: unmapped, so reading through it faults. */
    readonly uninitializedPointer: number,
  ) {}

  get halted(): boolean {
    return this.rec.halted;
  }

  /** @internal the scheduler of a run on several CPUs (null: one CPU) */
  get sched(): Scheduler | null {
    return this.cpus.sched;
  }

  /** @internal the system time now (FILETIME: 100 ns units since 1601); every query moves the clock 1 µs. */
  systemTime(): bigint {
    this.sinceBoot += 10n;
    return BOOT_FILETIME + this.sinceBoot;
  }

  hex(va: number): string {
    return this.mem.hex(va);
  }

  assertRunning(): void {
    if (this.rec.halted) throw new KernelHalted();
  }

  /** The machine bug-checks: recorded (the first one only), and the run unwinds. */
  crash(b: BugCheck, during: string, seq: number | null, exception?: string): never {
    b.frames ??= this.loaded.instance?.symbolize?.(b.stack);
    this.rec.bugCheck(b, during, seq, exception);
    throw new KernelHalted();
  }

  /** The verifier stopped the run (no bug check on Windows at this instant, but the driver broke a rule). */
  stop(v: VerifierStop, during: string, seq: number | null): never {
    v.frames ??= this.loaded.instance?.symbolize?.(v.stack);
    this.rec.verifierStop(v, during, seq);
    throw new KernelHalted();
  }

  /** @internal the machine ran out of memory for kernel objects: the run ends, as an outcome, not a finding */
  exhausted(e: PoolExhausted): void {
    this.rec.poolExhausted(e.message);
  }

  // ------------------------------------------------------------------ the thread running now

  withContext(t: KThread, fn: () => void): void {
    const saved = this.current;
    this.current = t;
    try {
      fn();
    } finally {
      this.current = saved;
    }
  }

  /** Runs `body` in thread `t`'s context (the current thread is part of each thread of execution's saved state). */
  *inContext<T>(t: KThread, body: () => Iterator<void, T, void> & Iterable<void>): Generator<void, T, void> {
    const saved = this.current;
    this.current = t;
    try {
      return yield* body();
    } finally {
      this.current = saved;
    }
  }

  /** @internal a thread of execution starts: a new thread's verifier state, ordered after every ended operation */
  threadBegins(t: Task, systemThread: KThread): void {
    this.cpus.races?.begin(t.op + 1);
    t.saved = { current: systemThread, frame: null, opIndex: t.op, opRecord: null, verifier: null } satisfies ThreadState;
  }

  /** @internal */
  threadEnds(t: Task): void {
    this.cpus.races?.end(t.op + 1);
  }

  /** @internal the per-thread state of the thread now running, to switch it out */
  saveThread(): ThreadState {
    const r = this.rec;
    return { current: this.current, frame: r.frame, opIndex: r.opIndex, opRecord: r.opRecord, verifier: this.verifier.saveThread() };
  }

  /** @internal */
  restoreThread(s: ThreadState): void {
    this.current = s.current;
    this.rec.frame = s.frame;
    this.rec.opIndex = s.opIndex;
    this.rec.opRecord = s.opRecord;
    this.verifier.restoreThread(s.verifier);
  }

  /** @internal the lock owner for ERESOURCEs and push locks: a thread of execution (several CPUs) or a thread */
  lockOwner(): number {
    const t = this.cpus.sched?.running;
    return t !== undefined && t !== null ? 0x4000_0000 + t.op : this.current.serial;
  }

  /** @internal no thread of execution can run and some wait: the wait chain, as a verifier stop */
  deadlock(): never {
    const s = this.cpus.sched as Scheduler;
    const symbol = (lock: number | undefined): string => {
      const name = lock === undefined ? undefined : this.cpus.symbolOf(lock);
      return name === undefined ? '' : ` (${name})`;
    };
    const chain = s.tasks.map((t) => `operation ${t.op} (${t.routine || 'kernel'}) on CPU ${t.cpu} waits for ${t.blocked?.what ?? '?'}${symbol(t.blocked?.lock)}${t.blocked === null ? '' : this.cpus.holderText(t.blocked)}`);
    const first = s.tasks[0];
    if (first !== undefined) this.restoreThread(first.saved as ThreadState);
    return this.stop(new VerifierStop(CHECKS.deadlock, `deadlock: ${chain.join('; ')}`), first?.routine || 'kernel', null);
  }

  /** After DriverUnload returned: a routine of the image still running on another CPU runs in freed code. */
  unloadedWhileRunning(): void {
    const s = this.cpus.sched;
    if (s === null) return;
    const me = s.running;
    const other = s.tasks.find((t) => t !== me && t.inDriver > 0);
    if (other === undefined) return;
    this.crash(new BugCheck(BUGCHECK_DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS, [0, 0, 0, 0],
      unloadedUnderReason(other.routine, other.op, other.cpu)), 'DriverUnload', null);
  }

  // ------------------------------------------------------------------ calling driver code

  /**
   * A notify routine that cannot be switched out (one CPU, or a driver without fibers on its thread of execution
   * `task`): runDriverCode without its scheduling points, which never yields for it. A change to the bookkeeping
   * here (the verifier's frame, the task's count, driverCodeFailed) is a change to runDriverCode's too.
   */
  runCallbackNow<F>(cb: CallbackRecord, routine: F, call: (routine: F) => void, task: Task | null = null): void {
    const savedFrame = this.rec.frame;
    try {
      const entered = this.verifier.enter(cb.routine);
      if (task !== null) {
        task.inDriver++;
        task.routine = cb.routine;
      }
      call(routine);
      if (task !== null) task.inDriver--;
      this.verifier.leave(entered);
    } catch (e) {
      this.driverCodeFailed(e, task, null, cb, cb.routine);
    } finally {
      this.rec.frame = savedFrame;
    }
  }

  /** Runs driver code; a bug check or a JavaScript exception out of the driver ends the run. */
  *runDriverCode(phase: PhaseRecord | null, cb: CallbackRecord | null, fn: () => void, point = true): Generator<void, void, void> {
    const task = this.cpus.sched?.running ?? null;
    const name = cb?.routine ?? phase?.phase ?? 'driver';
    // several CPUs: a scheduling point before the routine (a callback's is in deliver, before its slot is taken)
    if (point && task !== null && cb === null && this.cpus.sched?.point(`${name} starts`) === true) yield;
    const savedFrame = this.rec.frame;
    if (phase !== null) this.rec.frame = { ddi: phase.ddi, prints: phase.prints, cb: null, phase };
    if (phase !== null && task !== null) phase.cpu = task.cpu;
    try {
      const routine = this.verifier.enter(name);
      if (task !== null) {
        task.inDriver++;
        task.routine = name;
      }
      fn();
      // a C routine that unwound at a scheduling point (or to wait) resumes where it was when it is called again
      while (task !== null && task.suspended) {
        task.suspended = false;
        yield;
        fn();
      }
      if (task !== null) task.inDriver--;
      this.verifier.leave(routine);
    } catch (e) {
      this.driverCodeFailed(e, task, phase, cb, name);
    } finally {
      this.rec.frame = savedFrame;
    }
  }

  /** What ends driver code that threw: a bug check, a verifier stop, a deadlock, or the run's end. */
  private driverCodeFailed(e: unknown, task: Task | null, phase: PhaseRecord | null, cb: CallbackRecord | null, name: string): never {
    if (task !== null) task.inDriver = Math.max(0, task.inDriver - 1);
    if (e instanceof KernelHalted) throw e;
    if (e instanceof WouldBlock) {
      // a wait the routine cannot be switched out of (a TypeScript driver, a nested call): nothing else can run
      // until it returns, so the wait never ends
      this.stop(new VerifierStop(CHECKS.deadlock, `${name} waits for ${e.wait.what}${this.cpus.holderText(e.wait)}, in code that cannot be switched out: a deadlock`), cb !== null ? 'callback' : (phase?.phase ?? 'kernel'), cb?.seq ?? phase?.seq ?? null);
    }
    if (e instanceof PoolExhausted) {
      this.exhausted(e);
      throw new KernelHalted();
    }
    const where = cb !== null ? 'callback' : (phase?.phase ?? 'kernel');
    const seq = cb?.seq ?? phase?.seq ?? null;
    if (e instanceof VerifierStop) {
      if (cb !== null) cb.outcome = 'bugcheck';
      if (phase !== null) phase.outcome = 'bugcheck';
      this.stop(e, where, seq);
    }
    if (e instanceof BugCheck) {
      if (cb !== null) cb.outcome = 'bugcheck';
      if (phase !== null) phase.outcome = 'bugcheck';
      this.crash(e, where, seq);
    }
    const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    if (cb !== null) cb.outcome = 'exception';
    if (phase !== null) phase.outcome = 'exception';
    this.crash(new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [0xc0000005, 0, 0, 0],
      `unhandled exception in driver code: ${message}`), where, seq, message);
  }
}
