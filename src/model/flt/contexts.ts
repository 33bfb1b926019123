/**
 * Minifilter contexts with their reference counts ([DOC] ifs/referencing-contexts, fltkernel/nf-fltkernel-fltallocatecontext,
 * -fltreleasecontext, -fltsetstreamcontext, -fltgetstreamcontext, -fltsetstreamhandlecontext, -fltdeletecontext):
 *  - FltAllocateContext gives a context of a type the filter registered, with the initial reference;
 *  - attaching it to a stream (the file: its name may change) or a stream handle (one FILE_OBJECT) adds the
 *    object's reference; a get or FltReferenceContext adds one; each is dropped by FltReleaseContext, and the
 *    context is freed — after ContextCleanupCallback — when the count reaches zero;
 *  - the filter manager drops the object's reference when the object is torn down: a stream handle at IRP_MJ_CLOSE,
 *    a stream when its file is deleted (CHOICE: no other teardown of a stream here), every context of a filter when
 *    it unregisters;
 *  - a reference the driver still holds at unload is a leak: on Windows FltUnregisterFilter then never finishes
 *    (microsoft/Windows-driver-samples#1360: "References to FLT_CONTEXT: 2" kept the delete sample from unloading).
 * Each reference remembers the routine that took it; a release drops one taken by the releasing routine if it has
 * one (else the oldest), so what is left at unload names the routine that forgot.
 */
import { BugCheck, BUGCHECK_BAD_POOL_CALLER } from '../ke/bugcheck.js';
import type { KernelCore } from '../ke/core.js';
import { APC_LEVEL } from '../ke/irql.js';
import { CONTEXT_TYPE_NAMES, type FltContextRegistration } from './filter-types.js';
import type { VolumeFile } from './volume.js';

/** The filter a context is of (flt/filters.ts's ContextFilter; named by identity). */
export interface ContextFilter {
  readonly address: number;
}

/** What a context hangs on: a stream (the file) or a stream handle (one FILE_OBJECT). */
export type ContextOwner = { readonly kind: 'stream'; readonly file: VolumeFile } | { readonly kind: 'stream-handle'; readonly fileObject: number };

/** One reference the driver holds: who took it, and where. */
export interface ContextReference {
  readonly routine: string;
  readonly op: number;
  readonly seq?: number;
}

export interface FltContext {
  readonly address: number;
  readonly filter: ContextFilter;
  readonly registration: FltContextRegistration;
  /** The object's reference, while attached. */
  owner: ContextOwner | null;
  /** The driver's references (the initial one included), oldest first. */
  readonly held: ContextReference[];
  /** The unload (its phase's seq) that finished while the driver still held references. */
  unload?: number;
}

export class FltContexts {
  /** @internal live contexts, by address */
  readonly contexts = new Map<number, FltContext>();
  /**
   * @internal contexts freed outside the driver's code (a teardown) or above APC_LEVEL: their cleanup routine is due
   * in the filter manager's worker at PASSIVE_LEVEL ([DOC] FltReleaseContext: "at DISPATCH_LEVEL, a work item is
   * scheduled to free the context"), flt/filters.ts cleanupsG
   */
  readonly pending: FltContext[] = [];

  constructor(private readonly ke: KernelCore) {}

  /** @internal a context the driver may name, or the bug check a use of a freed one is */
  get(address: number, ddi: string): FltContext {
    const c = this.contexts.get(address);
    if (c === undefined) {
      throw new BugCheck(BUGCHECK_BAD_POOL_CALLER, [7, 0, this.ke.mem.canonical(address), 0],
        `${ddi}(${this.ke.hex(address)}): not a context FltAllocateContext returned, or one already freed`);
    }
    return c;
  }

  /** @internal FltAllocateContext's block, with the initial reference */
  allocate(filter: ContextFilter, registration: FltContextRegistration, size: number, paged: boolean): FltContext {
    const address = this.ke.mem.alloc(Math.max(1, size), registration.PoolTag, 'kernel', { type: `FLT_CONTEXT (${CONTEXT_TYPE_NAMES[registration.ContextType] ?? 'unknown'})`, driverWritable: true, paged });
    const c: FltContext = { address, filter, registration, owner: null, held: [this.reference()] };
    this.contexts.set(address, c);
    return c;
  }

  /** @internal the running routine takes a reference */
  take(c: FltContext): void {
    c.held.push(this.reference());
  }

  /** @internal the running routine drops a reference: the last one frees the context (after its cleanup routine) */
  release(c: FltContext): void {
    const routine = this.routine();
    const mine = c.held.findIndex((r) => r.routine === routine);
    c.held.splice(mine >= 0 ? mine : 0, 1);
    this.maybeFree(c);
  }

  /** @internal the object's reference goes (teardown, FltDeleteContext, a replacing set) */
  detach(c: FltContext): void {
    c.owner = null;
    this.maybeFree(c);
  }

  /** @internal the stream context of `file` and the stream-handle context of `fileObject`, for `filter` */
  attached(filter: ContextFilter, owner: ContextOwner): FltContext | undefined {
    for (const c of this.contexts.values()) {
      if (c.filter !== filter || c.owner === null || c.owner.kind !== owner.kind) continue;
      if (owner.kind === 'stream' ? (c.owner as { file: VolumeFile }).file === owner.file : (c.owner as { fileObject: number }).fileObject === owner.fileObject) return c;
    }
    return undefined;
  }

  /** @internal a FILE_OBJECT's IRP_MJ_CLOSE: its stream-handle contexts go */
  fileObjectClosed(fileObject: number): void {
    for (const c of [...this.contexts.values()]) if (c.owner?.kind === 'stream-handle' && c.owner.fileObject === fileObject) this.detach(c);
  }

  /** @internal a file deleted: its stream's contexts go */
  streamDeleted(file: VolumeFile): void {
    for (const c of [...this.contexts.values()]) if (c.owner?.kind === 'stream' && c.owner.file === file) this.detach(c);
  }

  /** @internal FltUnregisterFilter: the filter manager deletes every context attached for the filter */
  unregistered(filter: ContextFilter): void {
    for (const c of [...this.contexts.values()]) if (c.filter === filter && c.owner !== null) this.detach(c);
  }

  /** @internal the unload finished: the references the driver still holds are never released */
  unloaded(seq: number): void {
    for (const c of this.contexts.values()) if (c.held.length > 0) c.unload ??= seq;
  }

  /** @internal every reference the driver holds, for the record's end state */
  heldReferences(): { readonly context: string; readonly routine: string; readonly op: number; readonly seq?: number; readonly unload?: number }[] {
    return [...this.contexts.values()].flatMap((c) => c.held.map((r) => ({
      context: CONTEXT_TYPE_NAMES[c.registration.ContextType] ?? 'unknown', ...r, ...(c.unload !== undefined ? { unload: c.unload } : {}),
    })));
  }

  private maybeFree(c: FltContext): void {
    if (c.owner !== null || c.held.length > 0 || !this.contexts.has(c.address)) return;
    this.contexts.delete(c.address);
    const cleanup = c.registration.ContextCleanupCallback;
    // [DOC] ContextCleanupCallback runs before the filter manager frees the context: here, in the releasing routine
    // at APC_LEVEL or below; otherwise in the worker
    if (cleanup !== null && (this.ke.rec.frame === null || this.ke.verifier.irql > APC_LEVEL)) {
      this.pending.push(c);
      return;
    }
    cleanup?.(c.address, c.registration.ContextType);
    this.ke.mem.free(c.address);
  }

  private routine(): string {
    const phase = this.ke.rec.frame?.phase;
    return phase?.flt?.routine ?? phase?.port?.routine ?? phase?.phase ?? 'driver';
  }

  private reference(): ContextReference {
    const phase = this.ke.rec.frame?.phase;
    return { routine: this.routine(), op: this.ke.rec.opIndex, ...(phase !== undefined && phase !== null ? { seq: phase.seq } : {}) };
  }
}
