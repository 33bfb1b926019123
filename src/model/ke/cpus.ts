/**
 * Several CPUs (docs/concurrency.md): the scheduler that interleaves the operations' threads of execution, the race
 * detector that sees every access the driver's own code makes to memory shared between them, and the
 * synchronisation they report to it (locks taken and released, events set, rundowns, Interlocked operations). One
 * CPU has none of it: every hook here is then a no-op.
 */
import type { KernelMemory } from '../mm/memory.js';
import { Shadow } from '../mm/memory.js';
import type { LoadedDriver } from '../mm/sysldr.js';
import type { Recorder } from '../recorder.js';
import type { Verifier } from '../vf/verifier.js';
import { RaceDetector } from './race-detector.js';
import { cpuStackSlice, MAX_CPUS, SLICE_GUARD_BYTES, type Schedule } from './schedule.js';
import { Scheduler, WouldBlock, type Task, type Wait } from './scheduler.js';

const NO_LOCKS: readonly number[] = [];
/** The buffer of one CPU's suspended driver frames (the driver's stacks are slices of its image's stack). */
const FIBER_BUFFER_BYTES = 0x4000;

export class Cpus {
  /** @internal the scheduler and race detector of a run on several CPUs (null: one CPU) */
  sched: Scheduler | null = null;
  /** @internal */
  races: RaceDetector | null = null;
  /**
   * @internal calls of each notify routine, callback registration or minifilter now running (and operations a filter
   * still owes a call): its removal waits for them — NT's rundown protection (ExAcquireRundownProtection)
   */
  private readonly inflight = new Map<unknown, number>();

  /** @internal a call enters `key`'s rundown */
  acquireRundown(key: unknown): void {
    this.inflight.set(key, (this.inflight.get(key) ?? 0) + 1);
  }

  /** @internal a call leaves `key`'s rundown */
  releaseRundown(key: unknown): void {
    this.inflight.set(key, (this.inflight.get(key) ?? 1) - 1);
  }

  /** @internal some call still holds `key`'s rundown: its removal must wait */
  rundownHeld(key: unknown): boolean {
    return (this.inflight.get(key) ?? 0) > 0;
  }
  /** @internal set while the driver's own code accesses memory (not a DDI's on its behalf) */
  driverAccess = false;
  /** @internal the site (instrument-memory's id) of the driver access being checked, when the image passes one */
  accessSite: number | undefined = undefined;
  private readonly fiberBuffers: { readonly buffer: number; readonly size: number }[] = [];

  constructor(
    private readonly mem: KernelMemory,
    private readonly verifier: Verifier,
    private readonly rec: Recorder,
    private readonly loaded: LoadedDriver,
  ) {}

  /**
   * Several CPUs from here on (after boot, before the first operation): the driver's image data and pool become
   * shared memory whose every access the race detector sees.
   */
  begin(schedule: Schedule): Scheduler {
    const sched = new Scheduler(schedule);
    const races = new RaceDetector(this);
    this.sched = sched;
    this.races = races;
    this.mem.ownedKind = Shadow.Shared;
    const space = this.loaded.wasm;
    if (space?.dataStart !== undefined) {
      this.mem.share(space.dataStart, space.reservedLow - space.dataStart);
      // each CPU runs the driver on a slice of its stack: a guard below each, so an overflow into the next CPU's
      // frames is the stack overflow it would be on Windows (a 12-24 KB kernel stack), not silent corruption
      if (space.stackGuard !== undefined && this.fibers) {
        for (let cpu = 0; cpu < MAX_CPUS - 1; cpu++) {
          this.mem.mark(cpuStackSlice(space.dataStart, space.stackGuard[1], cpu).bottom, SLICE_GUARD_BYTES, Shadow.StackGuard);
        }
      }
    }
    for (const b of this.mem.liveBlocks()) if (b.owner === this.loaded.name) this.mem.share(b.va, b.size);
    this.verifier.sharedObserver = this;
    this.mem.freeObserver = this;
    sched.wakeObserver = this;
    this.rec.record.concurrency = { schedule, timeline: sched.timeline, races: races.races, lockOrder: races.inversions };
    return sched;
  }

  /** @internal a waiter woke: ordered after what it waited on */
  woke(t: Task, w: Wait): void {
    if (w.sync !== undefined) this.races?.acquire(t.op + 1, w.sync);
  }

  /** @internal an address as the race reports write it */
  hexOf(va: number): string {
    return this.mem.hex(va);
  }

  /** @internal the source line of an access site of the driver's code (`proctable.c:345`), when the image names it. */
  siteLine(site: number): string | undefined {
    return this.loaded.image.siteLine?.(site);
  }

  /** @internal the driver's variable at `va` (`proctable!gTableLock`), when the image's debug information names it. */
  symbolOf(va: number): string | undefined {
    const space = this.loaded.wasm;
    if (space?.dataStart === undefined || va < space.dataStart || va >= space.reservedLow) return undefined;
    const symbol = this.loaded.image.symbolAt?.(va);
    return symbol === undefined ? undefined : `${this.loaded.name}!${symbol}`;
  }

  /** @internal what lies at `va`, for a race report: the image's variable (by name, else offset), or what the verifier knows. */
  describe(va: number): string {
    const space = this.loaded.wasm;
    if (space?.dataStart !== undefined && va >= space.dataStart && va < space.reservedLow) {
      return this.symbolOf(va) ?? `${this.loaded.name}.sys data +0x${(va - space.dataStart).toString(16).toUpperCase()}`;
    }
    return this.verifier.describe(va);
  }

  /** @internal the driver image has fibers and the run several CPUs */
  get fibers(): boolean {
    return this.sched !== null && this.loaded.image.instantiateFibers !== undefined;
  }

  /** @internal a freed block's history is forgotten; the kernel's own blocks are never shared, so hold none */
  blockFreed(va: number, size: number, owner: string): void {
    if (owner !== 'kernel') this.races?.forget(va, size);
  }

  /** @internal the verifier saw the driver's own code touch shared memory */
  sharedAccess(va: number, len: number, write: boolean): void {
    if (!this.driverAccess) return;
    const t = this.sched?.running;
    const races = this.races;
    if (t === undefined || t === null || races === null) return;
    const thread = t.op + 1;
    const locks = races.held.get(thread) ?? NO_LOCKS; // an immutable array: kept as is, named when reported
    races.access(thread, va, {
      op: t.op, cpu: t.cpu, routine: t.routine, access: write ? 'write' : 'read', size: len, locks, step: this.sched?.step ?? 0,
      ...(t.atomic > 0 ? { atomic: true as const } : {}), ...(this.accessSite !== undefined ? { site: this.accessSite } : {}),
    });
  }

  /** @internal an access of the driver's own code the verifier flagged (VERIFY_ACCESS): the race detector's input */
  checkDriverAccess(p: number, n: number, write: boolean): void {
    if (this.sched === null) {
      this.mem.check(p, n, write);
      return;
    }
    // the driver's own access (the kernel's accesses for a DDI are not the driver's)
    this.driverAccess = true;
    try {
      this.mem.check(p, n, write);
    } finally {
      this.driverAccess = false;
    }
  }

  /**
   * @internal a DDI that must wait: on several CPUs the running thread is switched out until `wait.ready()` (the
   * call is then made again, or returns `result`); on one CPU this returns and the caller keeps its old rule
   */
  block(wait: Wait, result?: { readonly value: unknown }): void {
    const s = this.sched;
    if (s === null || s.running === null) return;
    s.block(wait);
    throw new WouldBlock(wait, result);
  }

  /** @internal a lock taken or released by the running thread (happens-before and lock order) */
  lockAcquired(lock: number): void {
    const t = this.sched?.running;
    if (t !== undefined && t !== null) this.races?.lockAcquired(t.op + 1, lock, t.routine, t.op);
  }

  /** @internal */
  lockReleased(lock: number): void {
    const t = this.sched?.running;
    if (t !== undefined && t !== null) this.races?.lockReleased(t.op + 1, lock);
  }

  /** @internal an event set, a rundown released: what the thread did happens before its waiter goes on */
  syncRelease(object: number): void {
    const t = this.sched?.running;
    if (t !== undefined && t !== null) this.races?.release(t.op + 1, object);
  }

  /** @internal */
  syncAcquire(object: number): void {
    const t = this.sched?.running;
    if (t !== undefined && t !== null) this.races?.acquire(t.op + 1, object);
  }

  /** @internal an Interlocked operation begins: atomic, and ordered with every other one on its address */
  atomicBegin(va: number): void {
    const t = this.sched?.running;
    if (t === undefined || t === null) return;
    t.atomic++;
    this.races?.atomic(t.op + 1, va);
  }

  /** @internal */
  atomicEnd(): void {
    const t = this.sched?.running;
    if (t !== undefined && t !== null && t.atomic > 0) t.atomic--;
  }

  /** @internal where a C driver built with fibers saves CPU `cpu`'s suspended frames (kernel memory, made on first use) */
  fiberBuffer(cpu: number): { readonly buffer: number; readonly size: number } {
    let s = this.fiberBuffers[cpu];
    if (s === undefined) {
      s = { buffer: this.mem.alloc(FIBER_BUFFER_BYTES, 'Fibr', 'kernel', { type: `CPU ${cpu} suspended frames` }), size: FIBER_BUFFER_BYTES };
      this.fiberBuffers[cpu] = s;
    }
    return s;
  }

  /** Who holds the lock a wait is for, for the wait chain. */
  holderText(w: Wait): string {
    if (w.lock === undefined || this.races === null || this.sched === null) return '';
    for (const [thread, locks] of this.races.held) {
      if (!locks.includes(w.lock)) continue;
      const t = this.sched.tasks.find((x) => x.op + 1 === thread);
      return t === undefined ? `, held by operation ${thread - 1}, which ended holding it` : `, held by operation ${t.op} (${t.routine || 'kernel'}) on CPU ${t.cpu}`;
    }
    return '';
  }
}
