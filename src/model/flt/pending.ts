/**
 * Operations a minifilter pends, and the deferred-I/O work items that resume them ([DOC]
 * ifs/pending-an-i-o-operation-in-a-preoperation-callback-routine, fltkernel/nf-fltkernel-fltqueuedeferredioworkitem,
 * -fltcompletependedpreoperation): a pre-operation posts the operation to a system work queue
 * (FltQueueDeferredIoWorkItem) and returns FLT_PREOP_PENDING; the filter manager holds the operation until the filter
 * calls FltCompletePendedPreOperation with the status it would have returned. The worker runs the work routines at
 * PASSIVE_LEVEL in the System process (flt/filters.ts: pendedG, workItemsG).
 */
import type { FltPreOperationStatus } from './filter-types.js';

/** A work item FltQueueDeferredIoWorkItem queued. */
export interface DeferredWork {
  readonly item: number;
  readonly data: number;
  readonly routine: (item: number, data: number, context: number) => void;
  readonly context: number;
}

export class FltPending {
  /** @internal work items queued for the system worker, oldest first */
  readonly queue: DeferredWork[] = [];
  /**
   * @internal the FLT_CALLBACK_DATA of each operation a pre-operation pended → null until FltCompletePendedPreOperation,
   * then what it passed
   */
  readonly pended = new Map<number, { readonly status: FltPreOperationStatus; readonly context: number } | null>();
  /**
   * @internal the FLT_CALLBACK_DATA of each operation whose post-operation pended it (a work item queued from it, or
   * FLT_POSTOP_MORE_PROCESSING_REQUIRED returned) → whether FltCompletePendedPostOperation has resumed it
   */
  readonly pendedPost = new Map<number, boolean>();
}
