/**
 * A schedule: how the operations of a scenario overlap on several CPUs, as plain data (part of the scenario, so it
 * is generated, shrunk and replayed like the operations).
 *
 * `pct` is Probabilistic Concurrency Testing (Burckhardt et al., ASPLOS 2010): every operation gets a priority and
 * the highest-priority thread of execution that can run, runs; at each of a few chosen steps (`preemptions`, d − 1
 * of them for a bug of depth d) the running one drops below all others. Most concurrency bugs have depth ≤ 2 or 3
 * (the PCT paper; CHESS, Musuvathi & Qadeer, PLDI 2007: "most bugs need few preemptions"), so a handful suffice and
 * shrink to the minimal count. `random` picks uniformly among the runnable ones at a scheduling point: at every one
 * (plain accesses to shared memory included), or (`every` n) at one synchronisation point in n on average, so that
 * after a switch the chosen thread runs a stretch of its code (a window between two synchronisation operations is
 * then hit once in n, and what runs in it can finish).
 */
export interface Schedule {
  /** Simulated CPUs: at most this many operations are in flight at once (1: today's sequential runs). */
  readonly cpus: number;
  readonly kind: 'pct' | 'random';
  /** pct: each operation's priority, by operation index (higher runs first; missing entries are 0). */
  readonly priorities?: readonly number[];
  /** pct: the scheduling steps at which the running thread of execution drops below every other. */
  readonly preemptions?: readonly number[];
  /** random: the seed of the choice at every scheduling point. */
  readonly seed?: number;
  /** random: choose at one scheduling point in this many on average (1 or absent: at every one). */
  readonly every?: number;
}

export const MAX_CPUS = 4;

/**
 * CPU `cpu`'s slice [bottom, top) of a C driver's stack (the image's, between its guard page and `top`): CPU 0 at the
 * top, 16-byte aligned. Each thread of execution of the fibers build runs on its CPU's slice.
 */
export function cpuStackSlice(top: number, guardEnd: number, cpu: number): { readonly top: number; readonly bottom: number } {
  const size = Math.floor((top - guardEnd) / MAX_CPUS / 16) * 16;
  return { top: top - cpu * size, bottom: top - (cpu + 1) * size };
}

/** Guard bytes at the bottom of each CPU's slice but the last (whose guard is the image's own guard page). */
export const SLICE_GUARD_BYTES = 64;

export function isConcurrent(s: Schedule | undefined): s is Schedule {
  return s !== undefined && s.cpus > 1;
}

/** A schedule's shape in one line (reports, labels). */
export function describeSchedule(s: Schedule): string {
  if (s.kind === 'random') return `${s.cpus} CPUs, random switches${(s.every ?? 1) > 1 ? ` at one point in ${s.every}` : ''} (seed ${s.seed ?? 0})`;
  const p = s.preemptions ?? [];
  return `${s.cpus} CPUs, PCT with ${p.length} preemption${p.length === 1 ? '' : 's'}${p.length > 0 ? ` at step${p.length === 1 ? '' : 's'} ${p.join(', ')}` : ''}`;
}
