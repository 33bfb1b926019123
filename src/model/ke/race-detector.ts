/**
 * Data races and lock-order inversions among the threads of execution of one run.
 *
 * Happens-before is tracked with vector clocks (Lamport; the DJIT+/FastTrack detectors, Flanagan & Freund, PLDI
 * 2009): a thread's clock advances at every release; acquiring a lock (spin lock, fast mutex, ERESOURCE, push lock),
 * waiting on an event it was set by, an Interlocked operation on the same address, or the kernel's own ordering of
 * operations (one that starts after another ended) joins the releaser's clock. Two accesses to the same byte of
 * driver memory (its image data and its pool), one of them a plain write, neither ordered before the other, are a
 * data race. Interlocked operations never race with each other, nor with aligned plain reads of at most a pointer's
 * size (atomic on x86 and x64: Intel SDM vol. 3 §8.1.1) — a plain write racing with either still is a race.
 *
 * Lock order (the Linux kernel's lockdep): each acquisition while other locks are held adds held → new to a graph;
 * an acquisition that closes a cycle is an inversion, a deadlock waiting for the right timing, reported even when
 * this run did not deadlock.
 */

export interface AccessRecord {
  readonly op: number;
  readonly cpu: number;
  /** The driver routine it was made in. */
  readonly routine: string;
  readonly access: 'read' | 'write';
  readonly size: number;
  readonly atomic?: true;
  /** Locks the thread held, by address (formatted when reported). */
  readonly locks: readonly (string | number)[];
  /** Scheduling step. */
  readonly step: number;
  /** Where in the driver's code (its memory check's site id), when the image passes it. */
  readonly site?: number;
  /** That site's source line (`proctable.c:345`), named when reported. */
  readonly line?: string;
}

export interface RaceRecord {
  readonly address: string;
  /** What lies there (pool block and offset, or the image's data). */
  readonly what: string;
  readonly first: AccessRecord;
  readonly second: AccessRecord;
}

export interface LockOrderRecord {
  /** Taken in this order somewhere... */
  readonly first: { readonly locks: readonly [string, string]; readonly op: number; readonly routine: string };
  /** ...and in the reverse order here. */
  readonly second: { readonly locks: readonly [string, string]; readonly op: number; readonly routine: string };
}

interface Cell {
  w: AccessRecord | null;
  wClock: number;
  wThread: number;
  reads: { thread: number; clock: number; at: AccessRecord }[];
}

const MAX_RACES = 8;

const PAGE = 4096;

export class RaceDetector {
  /** Vector clock of each thread of execution (index: operation + 1; 0 is boot). */
  private readonly clocks: number[][] = [];
  private readonly syncs = new Map<number, number[]>();
  private readonly atomics = new Map<number, number[]>();
  /** Join of the clocks of every operation that has ended: what a new one is ordered after. */
  private ended: number[] = [];
  private readonly cells = new Map<number, Cell>();
  /**
   * The addresses with a cell, per 4 KB page: a freed block forgets the cells it holds, not every byte it spans (a
   * 4 KB block freed was 4,096 deletes, two thirds of a run that takes and frees a few hundred).
   */
  private readonly cellsInPage = new Map<number, number[]>();
  readonly races: RaceRecord[] = [];
  private readonly seen = new Set<string>();
  /** Lock-order graph: lock → locks taken while holding it, with where first seen. */
  private readonly order = new Map<number, Map<number, { op: number; routine: string }>>();
  readonly inversions: LockOrderRecord[] = [];
  private readonly inverted = new Set<string>();
  /** Locks each thread holds, in acquisition order. */
  readonly held = new Map<number, number[]>();

  /** `names` tells addresses as text and what lies there (an object, not closures of the run: see ob/objects.ts DeleteProcedures). */
  constructor(private readonly names: { hexOf(va: number): string; describe(va: number): string; symbolOf?(va: number): string | undefined; siteLine?(site: number): string | undefined }) {}

  private hex(va: number): string {
    return this.names.hexOf(va);
  }

  private describe(va: number): string {
    return this.names.describe(va);
  }

  private clock(thread: number): number[] {
    let c = this.clocks[thread];
    if (c === undefined) {
      c = [];
      this.clocks[thread] = c;
    }
    return c;
  }

  private static join(into: number[], from: readonly number[]): void {
    for (let i = 0; i < from.length; i++) if ((from[i] ?? 0) > (into[i] ?? 0)) into[i] = from[i];
  }

  /** A thread of execution starts: ordered after every operation that has ended. */
  begin(thread: number): void {
    const c = this.clock(thread);
    RaceDetector.join(c, this.ended);
    c[thread] = (c[thread] ?? 0) + 1;
  }

  end(thread: number): void {
    RaceDetector.join(this.ended, this.clock(thread));
    this.held.delete(thread);
  }

  /** A release of `sync` (a lock's address, an event's): what the thread did so far happens before its next acquirer. */
  release(thread: number, sync: number): void {
    const c = this.clock(thread);
    let s = this.syncs.get(sync);
    if (s === undefined) this.syncs.set(sync, (s = []));
    RaceDetector.join(s, c);
    c[thread] = (c[thread] ?? 0) + 1;
  }

  acquire(thread: number, sync: number): void {
    const s = this.syncs.get(sync);
    if (s !== undefined) RaceDetector.join(this.clock(thread), s);
  }

  /** A lock taken: ordered after its last release, and an edge in the lock-order graph from every lock held. */
  lockAcquired(thread: number, lock: number, routine: string, op: number): void {
    this.acquire(thread, lock);
    const held = this.held.get(thread) ?? [];
    for (const h of held) {
      if (h === lock) continue;
      if (this.reaches(lock, h)) {
        const key = [Math.min(h, lock), Math.max(h, lock)].join(':');
        if (!this.inverted.has(key)) {
          this.inverted.add(key);
          const where = this.firstEdgeOnPath(lock, h);
          this.inversions.push({
            first: { locks: [this.name(lock), this.name(h)], op: where.op, routine: where.routine },
            second: { locks: [this.name(h), this.name(lock)], op, routine },
          });
        }
      }
      let out = this.order.get(h);
      if (out === undefined) this.order.set(h, (out = new Map()));
      if (!out.has(lock)) out.set(lock, { op, routine });
    }
    this.held.set(thread, [...held, lock]);
  }

  lockReleased(thread: number, lock: number): void {
    this.release(thread, lock);
    const held = this.held.get(thread);
    if (held === undefined) return;
    const i = held.lastIndexOf(lock);
    if (i >= 0) this.held.set(thread, [...held.slice(0, i), ...held.slice(i + 1)]);
  }

  private reaches(from: number, to: number): boolean {
    const seen = new Set<number>();
    const stack = [from];
    while (stack.length > 0) {
      const x = stack.pop() as number;
      if (x === to) return true;
      if (seen.has(x)) continue;
      seen.add(x);
      for (const y of this.order.get(x)?.keys() ?? []) stack.push(y);
    }
    return false;
  }

  private firstEdgeOnPath(from: number, to: number): { op: number; routine: string } {
    const direct = this.order.get(from)?.get(to);
    if (direct !== undefined) return direct;
    for (const [y, where] of this.order.get(from) ?? []) if (this.reaches(y, to)) return where;
    return { op: -1, routine: '?' };
  }

  private name(lock: number): string {
    return `${this.hex(lock)} (${this.describe(lock)})`;
  }

  /** An Interlocked operation on `va`: synchronises with every earlier one on the same address. */
  atomic(thread: number, va: number): void {
    const c = this.clock(thread);
    let s = this.atomics.get(va);
    if (s === undefined) this.atomics.set(va, (s = []));
    RaceDetector.join(c, s);
    RaceDetector.join(s, c);
    c[thread] = (c[thread] ?? 0) + 1;
  }

  /** A driver access to shared memory; `at` says who made it. */
  access(thread: number, va: number, at: AccessRecord): void {
    const c = this.clock(thread);
    const now = c[thread] ?? 0;
    const write = at.access === 'write';
    for (let i = 0; i < at.size; i++) {
      const a = va + i;
      let cell = this.cells.get(a);
      if (cell === undefined) {
        cell = { w: null, wClock: 0, wThread: -1, reads: [] };
        this.cells.set(a, cell);
        const page = Math.floor(a / PAGE);
        const inPage = this.cellsInPage.get(page);
        if (inPage === undefined) this.cellsInPage.set(page, [a]);
        else inPage.push(a);
      } else if (cell.wThread === thread && cell.reads.length === 0) {
        // the thread's own last write, nothing read since (a loop's hot path): a write replaces it; a read of it
        // adds nothing a later write of another CPU would not already race with
        if (write) {
          cell.w = at;
          cell.wClock = now;
        }
        continue;
      }
      if (cell.w !== null && cell.wThread !== thread && cell.wClock > (c[cell.wThread] ?? 0) && !benign(cell.w, at)) this.report(va, cell.w, at);
      const reads = cell.reads;
      if (write) {
        for (let k = 0; k < reads.length; k++) {
          const r = reads[k];
          if (r.thread !== thread && r.clock > (c[r.thread] ?? 0) && !benign(r.at, at)) this.report(va, r.at, at);
        }
        cell.w = at;
        cell.wClock = now;
        cell.wThread = thread;
        reads.length = 0;
      } else {
        let k = 0;
        while (k < reads.length && reads[k].thread !== thread) k++;
        if (k < reads.length) {
          reads[k].clock = now;
          reads[k].at = at;
        } else reads.push({ thread, clock: now, at });
      }
    }
  }

  /** Memory freed: its history goes with it (a later allocation there is new memory). */
  forget(va: number, size: number): void {
    const cells = this.cells;
    const end = va + size;
    // only the pages that hold cells are walked: a block the driver's code never touched costs a lookup a page
    for (let page = Math.floor(va / PAGE); page * PAGE < end; page++) {
      const inPage = this.cellsInPage.get(page);
      if (inPage === undefined) continue;
      let kept = 0;
      for (const a of inPage) {
        if (a >= va && a < end) cells.delete(a);
        else inPage[kept++] = a;
      }
      if (kept === 0) this.cellsInPage.delete(page);
      else inPage.length = kept;
    }
  }

  private report(va: number, first: AccessRecord, second: AccessRecord): void {
    if (this.races.length >= MAX_RACES) return;
    // one report per place and pair of routines
    const key = `${[first.routine, second.routine].sort().join('/')}@${this.describe(va)}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    // a lock by its address, and by its variable's name when the driver's debug information gives one
    const lock = (l: number): string => {
      const symbol = this.names.symbolOf?.(l);
      return symbol === undefined ? this.hex(l) : `${this.hex(l)} (${symbol})`;
    };
    const named = (a: AccessRecord): AccessRecord => {
      const { site, ...rest } = a;
      const line = site === undefined ? undefined : this.names.siteLine?.(site);
      return { ...rest, locks: a.locks.map((l) => (typeof l === 'number' ? lock(l) : l)), ...(line !== undefined ? { line } : {}) };
    };
    this.races.push({ address: this.hex(va), what: this.describe(va), first: named(first), second: named(second) });
  }
}

/** Pairs that are not data races: both Interlocked, or an Interlocked one against an aligned word-sized plain read. */
function benign(a: AccessRecord, b: AccessRecord): boolean {
  if (a.atomic === true && b.atomic === true) return true;
  const plain = a.atomic === true ? b : b.atomic === true ? a : null;
  return plain !== null && plain.access === 'read' && plain.size <= 8;
}
