/**
 * The simulated CPUs: threads of execution (one per operation in flight) and the choice, at every scheduling
 * point, of which one runs next. Only one runs at a time — the simulation is sequential — so every interleaving is a
 * pure function of the schedule: the same schedule gives the same run, byte for byte.
 *
 * Scheduling points: the start and end of every driver routine, every DDI call and (C drivers) every access to
 * memory shared between CPUs (docs/concurrency.md). A thread of execution that must wait (a lock another one holds,
 * an event not signalled, the rundown of a notify routine still running) is blocked until its wait can end; when
 * no thread can run and some are blocked, that is a deadlock.
 */
import { mulberry32 } from '../rtl/prng.js';
import type { Schedule } from './schedule.js';

/** What a blocked thread of execution waits for. */
export interface Wait {
  /** The wait in words: "spin lock 0x80105010", "the running calls of ProcessNotify". */
  readonly what: string;
  /** True once the wait can end (the thread then retries the call, or takes `result`). */
  readonly ready: () => boolean;
  /** The lock's address, when the wait is for a lock (the wait chain names its holder). */
  readonly lock?: number;
  /** What the thread is ordered after once its wait ends (a sync object's address: rundown, events). */
  readonly sync?: number;
}

export interface Task {
  /** The operation it runs (its index in the scenario). */
  readonly op: number;
  readonly cpu: number;
  priority: number;
  blocked: Wait | null;
  /** A C routine of this thread unwound at a scheduling point: it is resumed by calling it again. */
  suspended: boolean;
  /** Inside an Interlocked operation (no scheduling point until it ends). */
  atomic: number;
  /** Driver routines on this thread's stack (for "the image was unloaded while a routine still ran"). */
  inDriver: number;
  /** The routine it runs now, for reports. */
  routine: string;
  /** The kernel's per-thread state while the thread is switched out (current thread, IRQL, held locks...). */
  saved: unknown;
  readonly run: Generator<void, void, void>;
}

/** One entry of the interleaving: a thread of execution started, was switched to, blocked, or ended. */
export interface TimelineEntry {
  readonly step: number;
  readonly cpu: number;
  readonly op: number;
  readonly event: 'start' | 'run' | 'blocked' | 'end';
  /** Where: the scheduling point ("KeAcquireSpinLock", "write 4 bytes at 0x…"), or what it waits for. */
  readonly at: string;
}

export const MAX_TIMELINE = 400;

export class Scheduler {
  /** Scheduling points passed so far (PCT's steps). */
  step = 0;
  /** The thread of execution running now (null between operations). */
  running: Task | null = null;
  readonly tasks: Task[] = [];
  readonly timeline: TimelineEntry[] = [];
  timelineDropped = 0;
  private readonly preemptions: Set<number>;
  private readonly random: (() => number) | null;
  /** The priority the next change point gives: below every initial priority and every earlier change. */
  private low = -1;
  /** The choice a scheduling point made: the scheduler loop takes it (a random choice is drawn once). */
  private pending: Task | 'start' | null = null;
  /** The operation that may start next, with its priority (-Infinity: none may start now). */
  private startable = Number.NEGATIVE_INFINITY;
  private startableOp = -1;

  private readonly every: number;

  constructor(readonly schedule: Schedule) {
    this.every = Math.max(1, Math.floor(schedule.every ?? 1));
    this.preemptions = new Set(schedule.preemptions ?? []);
    this.random = schedule.kind === 'random' ? mulberry32(schedule.seed ?? 0) : null;
  }

  priorityOf(op: number): number {
    return this.schedule.priorities?.[op] ?? 0;
  }

  freeCpu(): number {
    for (let c = 0; c < this.schedule.cpus; c++) if (!this.tasks.some((t) => t.cpu === c)) return c;
    return -1;
  }

  /** Sets the operation the loop may start next (or none). */
  offer(op: number): void {
    this.startableOp = op;
    this.startable = op < 0 ? Number.NEGATIVE_INFINITY : this.priorityOf(op);
  }

  start(op: number, run: Generator<void, void, void>): Task {
    const t: Task = { op, cpu: this.freeCpu(), priority: this.priorityOf(op), blocked: null, suspended: false, atomic: 0, inDriver: 0, routine: '', saved: null, run };
    this.tasks.push(t);
    this.offer(-1); // the caller offers the next one, if it may start
    this.log(t, 'start', '');
    return t;
  }

  end(t: Task): void {
    this.tasks.splice(this.tasks.indexOf(t), 1);
    this.log(t, 'end', '');
    if (this.running === t) this.running = null;
  }

  /**
   * A scheduling point of the running thread (`access`: a plain access to shared memory): true when it must give way
   * now (the loop then runs the one chosen here). Inside an Interlocked operation nothing switches.
   */
  point(at: string | (() => string), access = false): boolean {
    const me = this.running;
    if (me === null || me.atomic > 0) return false;
    // PCT and sparse random switches count and preempt at synchronisation points only (a DDI call, an Interlocked
    // operation, a routine's start), as CHESS does: a plain access needs no preemption for the race detector to see
    // it race, and leaving accesses out makes a window between two synchronisation operations a step or two wide,
    // not hundreds (uniform random switches, at every point, still split a routine between any two accesses)
    if (access && (this.random === null || this.every > 1)) return false;
    // nothing else could run here (no other thread runnable, no operation startable): a switch is impossible, so the
    // point is no step either, and preemption steps land only where they can change the interleaving
    if (this.startableOp < 0 && !this.anotherCanRun(me)) return false;
    this.step++;
    if (this.random !== null && this.every > 1 && this.random() % this.every !== 0) return false;
    if (this.preemptions.has(this.step)) me.priority = this.low--;
    if (this.random === null && this.startable <= me.priority && !this.tasks.some((t) => t !== me && t.priority > me.priority)) return false;
    const next = this.choose();
    if (next === me || next === null) return false;
    this.pending = next;
    if (next !== 'start') this.log(next, 'run', typeof at === 'string' ? at : at());
    return true;
  }

  /** Whether a thread other than `me` is runnable (a plain loop: this runs at every scheduling point). */
  private anotherCanRun(me: Task): boolean {
    for (const t of this.tasks) if (t !== me && (t.blocked === null || t.blocked.ready())) return true;
    return false;
  }

  /** The running thread must wait (it is switched out at once). */
  block(w: Wait): void {
    const me = this.running;
    if (me === null) return;
    me.blocked = w;
    this.log(me, 'blocked', w.what);
  }

  /** What the loop runs next: the choice of the last scheduling point, or a fresh one. */
  next(): Task | 'start' | null {
    const p = this.pending;
    this.pending = null;
    if (p !== null && (p === 'start' ? this.startableOp >= 0 : this.runnable(p))) return p;
    return this.choose();
  }

  /** Called when a wait ends, with the thread and what it waited on (the kernel orders it after the releaser). */
  wakeObserver: { woke(t: Task, w: Wait): void } | null = null;

  private runnable(t: Task): boolean {
    const w = t.blocked;
    if (w === null) return true;
    if (!w.ready()) return false;
    t.blocked = null;
    this.wakeObserver?.woke(t, w);
    return true;
  }

  private choose(): Task | 'start' | null {
    const candidates: (Task | 'start')[] = [];
    for (const t of this.tasks) if (this.runnable(t)) candidates.push(t);
    if (this.startableOp >= 0) candidates.push('start');
    if (candidates.length === 0) return null;
    if (this.random !== null) return candidates[this.random() % candidates.length];
    let best = candidates[0];
    let bestPriority = this.prio(best);
    for (const c of candidates) {
      const p = this.prio(c);
      // ties: the thread already running keeps the CPU, then the older operation
      if (p > bestPriority || (p === bestPriority && c === this.running)) {
        best = c;
        bestPriority = p;
      }
    }
    return best;
  }

  private prio(c: Task | 'start'): number {
    return c === 'start' ? this.startable : c.priority;
  }

  log(t: Task, event: TimelineEntry['event'], at: string): void {
    if (this.timeline.length >= MAX_TIMELINE) {
      this.timelineDropped++;
      return;
    }
    this.timeline.push({ step: this.step, cpu: t.cpu, op: t.op, event, at });
  }
}

/**
 * Thrown by a DDI that must wait on several CPUs (after the scheduler marked the thread blocked): the caller — the
 * loader of a C driver built with fibers — switches the thread out; when it resumes, the call is made again, or,
 * with `result`, returns that (the call's work was done before the wait: a removal that waits for rundown).
 */
export class WouldBlock {
  constructor(readonly wait: Wait, readonly result?: { readonly value: unknown }) {}
}
