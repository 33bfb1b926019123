/** The simulated CPUs' parts on their own: the scheduler's choices, the race detector, the lock-order graph. */
import { describe, expect, test } from 'vitest';
import { RaceDetector, type AccessRecord } from '../../src/model/ke/race-detector.js';
import { describeSchedule } from '../../src/model/ke/schedule.js';
import { Scheduler, type Task } from '../../src/model/ke/scheduler.js';

function* steps(n: number): Generator<void, void, void> {
  for (let i = 0; i < n; i++) yield;
}

/** Drives a scheduler the way executeOpsConcurrent does, with every yield a scheduling point. */
function run(s: Scheduler, ops: number, length: number): number[] {
  const order: number[] = [];
  let next = 0;
  for (;;) {
    s.offer(next < ops && s.tasks.length < s.schedule.cpus ? next : -1);
    const c = s.next();
    if (c === null) return order;
    const t: Task = c === 'start' ? s.start(next++, steps(length)) : c;
    s.offer(next < ops && s.tasks.length < s.schedule.cpus ? next : -1);
    s.running = t;
    let done = false;
    for (;;) {
      order.push(t.op);
      const r = t.run.next();
      if (r.done === true) {
        done = true;
        break;
      }
      if (s.point('step')) break;
    }
    s.running = null;
    if (done) s.end(t);
  }
}

describe('scheduler', () => {
  test('PCT: the highest-priority operation runs; a preemption step drops the running one below all', () => {
    // op 1 outranks op 0: it starts at op 0's first scheduling point and runs to its end
    expect(run(new Scheduler({ cpus: 2, kind: 'pct', priorities: [1, 5] }), 2, 3)).toEqual([0, 1, 1, 1, 1, 0, 0, 0]);
    // equal priorities: the running operation keeps its CPU (one CPU's order)
    expect(run(new Scheduler({ cpus: 2, kind: 'pct', priorities: [0, 0] }), 2, 3)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    // a preemption at step 2 drops op 0 mid-way
    expect(run(new Scheduler({ cpus: 2, kind: 'pct', priorities: [5, 1], preemptions: [2] }), 2, 3)).toEqual([0, 0, 1, 1, 1, 1, 0, 0]);
  });

  test('one CPU: never more than one operation in flight', () => {
    expect(run(new Scheduler({ cpus: 1, kind: 'pct', priorities: [1, 5] }), 2, 2)).toEqual([0, 0, 0, 1, 1, 1]);
  });

  test('random: the same seed gives the same interleaving, another seed another', () => {
    const a = run(new Scheduler({ cpus: 3, kind: 'random', seed: 7 }), 4, 4);
    expect(run(new Scheduler({ cpus: 3, kind: 'random', seed: 7 }), 4, 4)).toEqual(a);
    const others = [1, 2, 3, 4, 5].map((seed) => run(new Scheduler({ cpus: 3, kind: 'random', seed }), 4, 4).join());
    expect(others.some((o) => o !== a.join())).toBe(true);
  });

  test('a blocked thread is not chosen until its wait can end; nothing runnable is a deadlock', () => {
    const s = new Scheduler({ cpus: 2, kind: 'pct', priorities: [9, 1] });
    let free = false;
    s.offer(0);
    const t0 = s.start(0, steps(1));
    s.running = t0;
    s.block({ what: 'spin lock', ready: () => free });
    s.running = null;
    s.offer(-1);
    expect(s.next()).toBeNull();
    free = true;
    expect(s.next()).toBe(t0);
    expect(s.timeline.map((e) => e.event)).toEqual(['start', 'blocked']);
  });

  test('schedules are described in one line', () => {
    expect(describeSchedule({ cpus: 2, kind: 'pct', preemptions: [3] })).toBe('2 CPUs, PCT with 1 preemption at step 3');
    expect(describeSchedule({ cpus: 4, kind: 'random', seed: 9 })).toBe('4 CPUs, random switches (seed 9)');
    expect(describeSchedule({ cpus: 2, kind: 'pct' })).toBe('2 CPUs, PCT with 0 preemptions');
  });
});

const at = (op: number, routine: string, access: 'read' | 'write', extra: Partial<AccessRecord> = {}): AccessRecord => ({ op, cpu: op, routine, access, size: 4, locks: [], step: 0, ...extra });

describe('race detector', () => {
  const hex = (va: number): string => `0x${va.toString(16)}`;
  const what = (): string => 'data';
  /** A detector with threads 1 and 2 running, neither ordered with the other. */
  const two = (): RaceDetector => {
    const d = new RaceDetector({ hexOf: hex, describe: what });
    d.begin(1);
    d.begin(2);
    return d;
  };

  test('two unordered writes race; the same under one lock do not', () => {
    const d = two();
    d.access(1, 0x100, at(0, 'A', 'write'));
    d.access(2, 0x100, at(1, 'B', 'write'));
    expect(d.races).toHaveLength(1);
    expect(d.races[0]).toMatchObject({ address: '0x100', first: { routine: 'A' }, second: { routine: 'B' } });

    const l = two();
    l.lockAcquired(1, 0x50, 'A', 0);
    l.access(1, 0x100, at(0, 'A', 'write'));
    l.lockReleased(1, 0x50);
    l.lockAcquired(2, 0x50, 'B', 1);
    l.access(2, 0x100, at(1, 'B', 'write'));
    l.lockReleased(2, 0x50);
    expect(l.races).toEqual([]);
  });

  test('a read racing a write is a race; two reads are not; an operation that starts after another ended is ordered', () => {
    const d = two();
    d.access(1, 0x10, at(0, 'A', 'read'));
    d.access(2, 0x10, at(1, 'B', 'read'));
    expect(d.races).toEqual([]);
    d.access(2, 0x10, at(1, 'B', 'write'));
    expect(d.races).toHaveLength(1);
    const e = new RaceDetector({ hexOf: hex, describe: what });
    e.begin(1);
    e.access(1, 0x10, at(0, 'A', 'write'));
    e.end(1);
    e.begin(2);
    e.access(2, 0x10, at(1, 'B', 'write'));
    expect(e.races).toEqual([]);
  });

  test('Interlocked operations do not race with each other or with word reads; a plain write racing one does', () => {
    const d = two();
    d.atomic(1, 0x20);
    d.access(1, 0x20, at(0, 'A', 'write', { atomic: true }));
    d.access(2, 0x20, at(1, 'B', 'read'));
    d.atomic(2, 0x20);
    d.access(2, 0x20, at(1, 'B', 'write', { atomic: true }));
    expect(d.races).toEqual([]);
    d.begin(3);
    d.access(3, 0x20, at(2, 'C', 'write'));
    expect(d.races).toHaveLength(1);
  });

  test('freed memory forgets its history', () => {
    const d = two();
    d.access(1, 0x30, at(0, 'A', 'write'));
    d.forget(0x30, 4);
    d.access(2, 0x30, at(1, 'B', 'write'));
    expect(d.races).toEqual([]);
  });

  test('a freed block larger than the history forgets only what lies in it', () => {
    const d = two();
    d.access(1, 0x1000, at(0, 'A', 'write'));
    d.access(1, 0x1ffc, at(0, 'A', 'write'));
    d.access(1, 0x2000, at(0, 'A', 'write', { size: 1 })); // the first byte past the block
    d.forget(0x1000, 0x1000); // 4,096 bytes, 9 cells: the cells are walked, not the bytes
    d.access(2, 0x1000, at(1, 'B', 'write'));
    d.access(2, 0x1ffc, at(1, 'B', 'write'));
    expect(d.races).toEqual([]);
    d.access(2, 0x2000, at(1, 'B', 'write', { size: 1 }));
    expect(d.races.map((r) => r.address)).toEqual(['0x2000']);
  });

  test('a freed block forgets its cells only, not its page neighbours\'', () => {
    const d = two();
    for (const a of [0x30f0, 0x3100, 0x3180, 0x3200]) d.access(1, a, at(0, 'A', 'write', { size: 1 }));
    d.forget(0x3100, 0x100); // one page: 0x30f0 and 0x3200 stay
    // a routine per address: one report per place and pair of routines
    for (const a of [0x30f0, 0x3100, 0x3180, 0x3200]) d.access(2, a, at(1, `B${a.toString(16)}`, 'write', { size: 1 }));
    expect(d.races.map((r) => r.address)).toEqual(['0x30f0', '0x3200']);
    d.forget(0x3000, 0x1000); // the whole page
    for (const a of [0x30f0, 0x3200]) d.access(1, a, at(2, `C${a.toString(16)}`, 'write', { size: 1 }));
    expect(d.races).toHaveLength(2);
  });

  test('lock order: A then B in one place and B then A in another is an inversion, even without a deadlock', () => {
    const d = new RaceDetector({ hexOf: hex, describe: what });
    d.begin(1);
    d.lockAcquired(1, 0xa, 'First', 0);
    d.lockAcquired(1, 0xb, 'First', 0);
    d.lockReleased(1, 0xb);
    d.lockReleased(1, 0xa);
    d.end(1);
    expect(d.inversions).toEqual([]);
    d.begin(2);
    d.lockAcquired(2, 0xb, 'Second', 1);
    d.lockAcquired(2, 0xa, 'Second', 1);
    expect(d.inversions).toHaveLength(1);
    expect(d.inversions[0]).toMatchObject({ first: { routine: 'First', op: 0 }, second: { routine: 'Second', op: 1 } });
  });
});
