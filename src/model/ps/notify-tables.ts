/**
 * Notify-routine tables (PspCreateProcessNotifyRoutine, PspCreateThreadNotifyRoutine, PspLoadImageNotifyRoutine).
 * Registration takes the first empty slot; delivery walks slots 0..N-1; there is no duplicate check in the NT 5.2
 * code ([WRK] ps/create.c, [ROS] psnotify.c). Capacity is per build (builds.ts).
 */
export type NotifyKind = 'process' | 'thread' | 'image';

export interface NotifySlot<F> {
  readonly routine: F;
  /** Name of the driver that registered it. */
  readonly owner: string;
  /** Readable routine name for reports (the function's name). */
  readonly name: string;
  /** Several CPUs: the scheduling point before a call of it, as the timeline names it (made once, not per call). */
  readonly starts: string;
}

export class NotifyTable<F> {
  readonly slots: (NotifySlot<F> | null)[];

  constructor(readonly kind: NotifyKind, capacity: number) {
    this.slots = new Array<NotifySlot<F> | null>(capacity).fill(null);
  }

  /** Returns the slot index, or -1 when the table is full. */
  register(routine: F, owner: string, name: string): number {
    const i = this.slots.indexOf(null);
    if (i < 0) return -1;
    this.slots[i] = { routine, owner, name, starts: `${name} starts` };
    return i;
  }

  /** Removes the first slot holding `routine`; false if it is not registered. */
  remove(routine: F): boolean {
    const i = this.slots.findIndex((s) => s !== null && s.routine === routine);
    if (i < 0) return false;
    this.slots[i] = null;
    return true;
  }

  owned(owner: string): number[] {
    const out: number[] = [];
    this.slots.forEach((s, i) => {
      if (s !== null && s.owner === owner) out.push(i);
    });
    return out;
  }
}
