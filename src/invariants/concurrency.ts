/**
 * What several CPUs add (docs/concurrency.md): no data race on the driver's memory, one lock order, no deadlock.
 * The race detector and the lock-order graph run inside the kernel (src/model/ke/race-detector.ts); these read
 * what they recorded.
 */
import type { AccessRecord } from '../model/ke/race-detector.js';
import type { Invariant } from './types.js';

function access(a: AccessRecord): string {
  const locks = a.locks.length === 0 ? 'no lock held' : `holding ${a.locks.join(', ')}`;
  return `${a.atomic === true ? 'an Interlocked ' : 'a '}${a.size}-byte ${a.access} in ${a.routine}${a.line !== undefined ? ` at ${a.line}` : ''} (operation ${a.op}, CPU ${a.cpu}, ${locks})`;
}

/**
 * Two accesses to the same driver memory from two CPUs, one a write, with nothing ordering them (no lock both
 * hold, no event, no Interlocked operation between them): the outcome depends on timing — a lost update, a torn
 * read, a record used while another CPU frees or fills it.
 */
export const noDataRace: Invariant = {
  id: 'no-data-race',
  needsOutput: false,
  statement: 'no two accesses to the driver\'s data or pool from different CPUs, one of them a plain write, are unordered (by a lock, an event, an Interlocked operation or the kernel\'s own order)',
  source: 'WDK "Synchronization techniques", "Introduction to spin locks"; C11 §5.1.2.4 (a data race is undefined behaviour); KCSAN',
  check({ record }) {
    if (record.concurrency === undefined || record.concurrency.races.length === 0) return [];
    return record.concurrency.races.map((r) => ({
      invariant: this.id,
      // the two routines, in name order, name the bug; which came first is detail (in parentheses)
      message: `data race on ${r.what} between ${[r.first.routine, r.second.routine].sort().join(' and ')} (${access(r.first)}, then ${access(r.second)}, unordered)`,
      evidence: { op: r.second.op, event: `race at ${r.address}`, actual: r.address },
    }));
  },
};

/**
 * Every pair of locks is taken in one order: a routine that takes B then A while another takes A then B
 * deadlocks the two CPUs the first time their timing meets — reported from the order observed, whether or not
 * this run deadlocked (the Linux kernel's lockdep).
 */
export const lockOrderConsistent: Invariant = {
  id: 'lock-order-consistent',
  needsOutput: false,
  statement: 'locks are always acquired in one order (no pair taken A then B in one place and B then A in another)',
  source: 'WDK "Preventing errors and deadlocks while using spin locks" (acquire in a fixed order); Driver Verifier deadlock detection (0xC4 0x1001)',
  check({ record }) {
    if (record.concurrency === undefined || record.concurrency.lockOrder.length === 0) return [];
    return record.concurrency.lockOrder.map((l) => ({
      invariant: this.id,
      message: `lock-order inversion: ${l.first.routine} (operation ${l.first.op}) takes ${l.first.locks[0]} then ${l.first.locks[1]}; ${l.second.routine} (operation ${l.second.op}) takes ${l.second.locks[0]} then ${l.second.locks[1]}`,
      evidence: { op: l.second.op, event: 'lock order' },
    }));
  },
};
