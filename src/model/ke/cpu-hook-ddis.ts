/**
 * The scheduler's hooks in a driver compiled to WebAssembly (docs/concurrency.md): which CPU runs, scheduling points
 * in its code, a routine that unwound to be resumed, where a CPU's suspended frames are saved, Interlocked operations.
 * Not calls of the driver: neither counted nor IRQL-checked.
 */
import type { DdiBinding } from '../components.js';
import type { Ddi } from '../ddi.js';

export type KeCpuHookDdis = Pick<Ddi, 'CPU' | 'SCHEDULING_POINT' | 'SUSPENDED' | 'FIBER_BUFFER' | 'ATOMIC_BEGIN' | 'ATOMIC_END'>;

export function keCpuHookDdis(b: DdiBinding): KeCpuHookDdis {
  return {
    CPU: () => (b.k.ke.cpus.fibers ? b.k.ke.cpus.sched?.running?.cpu ?? -1 : -1),
    SCHEDULING_POINT: (at, access) => b.k.ke.cpus.sched?.point(at, access === true) ?? false,
    SUSPENDED: () => {
      const t = b.k.ke.cpus.sched?.running;
      if (t !== undefined && t !== null) t.suspended = true;
    },
    FIBER_BUFFER: (cpu) => b.k.ke.cpus.fiberBuffer(cpu),
    ATOMIC_BEGIN: (p) => b.k.ke.cpus.atomicBegin(p),
    ATOMIC_END: () => b.k.ke.cpus.atomicEnd(),
  };
}
