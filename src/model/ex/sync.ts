/**
 * The executive's synchronisation objects whose state the kernel keeps apart from their bodies: ERESOURCEs (owner
 * and counts), push locks, and lookaside lists (their allocate and free routines). The DDIs: ex/sync-ddis.ts.
 * CHOICE: the state is per load of the driver — each load's image has new globals, and what an earlier load
 * initialised is not the new one's (an ERESOURCE used without ExInitializeResourceLite in the new load faults).
 */
import type { LookasideAllocate, LookasideFree } from '../ddi.js';

export interface Resource { exclusive: number; owner: number; shared: Map<number, number> }
export interface Lookaside { readonly size: number; readonly tag: string; readonly poolType: number; readonly allocate: LookasideAllocate; readonly free: LookasideFree }
export interface PushLock { exclusive: number | null; shared: Map<number, number> }

export class ExSync {
  readonly resources = new Map<number, Resource>();
  readonly lookasides = new Map<number, Lookaside>();
  readonly pushLocks = new Map<number, PushLock>();

  /** A new load of the driver: what the previous one initialised is forgotten. */
  newLoad(): void {
    this.resources.clear();
    this.lookasides.clear();
    this.pushLocks.clear();
  }
}
