/**
 * The client-ID table (PspCidTable): one handle table for process and thread IDs, so IDs are multiples of 4
 * and a live process never shares an ID with a live thread ([WRK] ps/create.c, ex/handle.c; Raymond Chen 2008).
 * An ID returns to the free list only when its object is deleted ([WRK] ps/psdelete.c).
 *
 * Reuse order is a parameter:
 *  - 'nt52': strict FIFO, and the table grows instead of reusing while fewer than 100 entries are free
 *    ([WRK] ps/psinit.c ExSetHandleTableStrictFIFO, ex/handle.c) — reuse is rare;
 *  - 'fifo': strict FIFO with immediate reuse;
 *  - 'lifo': the most recently freed ID first — a worst case generators use to force reuse (a choice).
 */
export type CidReusePolicy = 'nt52' | 'fifo' | 'lifo';
export const CID_REUSE_POLICIES: readonly CidReusePolicy[] = ['nt52', 'fifo', 'lifo'];

export class CidTable<T> {
  private nextFresh: number;
  private readonly free: number[] = [];
  private readonly entries = new Map<number, T>();

  constructor(readonly policy: CidReusePolicy, firstHandle = 4) {
    this.nextFresh = firstHandle;
  }

  create(object: T): number {
    let id: number | undefined;
    if (this.free.length > 0) {
      if (this.policy === 'lifo') id = this.free.pop();
      else if (this.policy === 'fifo' || this.free.length >= 100) id = this.free.shift();
    }
    if (id === undefined) {
      id = this.nextFresh;
      this.nextFresh += 4;
    }
    this.entries.set(id, object);
    return id;
  }

  /** Reserves a specific ID (the System process); later fresh IDs start after it. */
  createAt(id: number, object: T): void {
    this.entries.set(id, object);
    if (this.nextFresh <= id) this.nextFresh = id + 4;
  }

  /** A long-running machine: fresh IDs from now on start at `id` (rounded up to a multiple of 4). */
  skipTo(id: number): void {
    const at = Math.ceil(id / 4) * 4;
    if (this.nextFresh < at) this.nextFresh = at;
  }

  destroy(id: number): void {
    if (this.entries.delete(id)) this.free.push(id);
  }

  /** Removes the entry but keeps the ID out of the free list (the adversarial profile's "PID already gone"). */
  destroyEntryOnly(id: number): void {
    this.entries.delete(id);
  }

  lookup(id: number): T | undefined {
    return this.entries.get(id);
  }

  /** Points an existing ID at another object (the adversarial profile's "PID reused before the lookup"). */
  replace(id: number, object: T): void {
    this.entries.set(id, object);
  }
}
