/**
 * Deferred-I/O work items and pended pre-operations: FltAllocateDeferredIoWorkItem, FltFreeDeferredIoWorkItem,
 * FltQueueDeferredIoWorkItem, FltCompletePendedPreOperation, FltCompletePendedPostOperation ([DOC]
 * fltkernel/nf-fltkernel-fltallocatedeferredioworkitem, -fltfreedeferredioworkitem, -fltqueuedeferredioworkitem,
 * -fltcompletependedpreoperation, -fltcompletependedpostoperation). flt/pending.ts holds them.
 */
import type { DdiBinding } from '../components.js';
import type { Ddi } from '../ddi.js';
import { BugCheck, BUGCHECK_MULTIPLE_IRP_COMPLETE_REQUESTS } from '../ke/bugcheck.js';
import { APC_LEVEL } from '../ke/irql.js';
import { requireExport, routineName } from '../mm/sysldr.js';
import { STATUS_FLT_NOT_SAFE_TO_POST_OPERATION, STATUS_INVALID_PARAMETER, STATUS_SUCCESS } from '../status.js';
import { FLT_PREOP_COMPLETE, PREOP_NAMES } from './filter-types.js';

export type FltWorkItemDdis = Pick<Ddi, 'FltAllocateDeferredIoWorkItem' | 'FltFreeDeferredIoWorkItem' | 'FltQueueDeferredIoWorkItem' | 'FltCompletePendedPreOperation' | 'FltCompletePendedPostOperation'>;

const WORK_ITEM_TAG = 'FMdw';

export function fltWorkItemDdis(b: DdiBinding): FltWorkItemDdis {
  const hex = (v: number): string => b.k.ke.hex(v);
  const pending = () => b.k.flt.pending;
  /** A work item the driver allocated and has not freed. */
  const isItem = (item: number): boolean => {
    const blk = b.mem.block(item);
    return blk !== undefined && blk.va === item && blk.tag === WORK_ITEM_TAG && blk.owner === b.driverName;
  };
  return {
    FltAllocateDeferredIoWorkItem: () => {
      requireExport(b.k.ke.build, 'FltAllocateDeferredIoWorkItem');
      // nonpaged pool charged to the driver: one never freed is pool-released at unload
      const item = b.mem.alloc(0x40, WORK_ITEM_TAG, b.driverName, { type: 'FLT_DEFERRED_IO_WORKITEM', zeroed: true });
      b.k.rec.log('FltAllocateDeferredIoWorkItem', [], undefined, hex(item));
      return item;
    },
    FltFreeDeferredIoWorkItem: (item) => {
      requireExport(b.k.ke.build, 'FltFreeDeferredIoWorkItem');
      b.k.rec.log('FltFreeDeferredIoWorkItem', [hex(item)]);
      b.ddi.ExFreePoolWithTag(item, WORK_ITEM_TAG);
    },
    FltQueueDeferredIoWorkItem: (item, data, routine, _queueType, context) => {
      requireExport(b.k.ke.build, 'FltQueueDeferredIoWorkItem');
      const op = b.k.flt.filters.callbackData.get(data);
      const refuse = (st: number, why: string): number => {
        b.k.rec.log('FltQueueDeferredIoWorkItem', [hex(item), hex(data), why], st);
        return st;
      };
      if (!isItem(item) || pending().queue.some((w) => w.item === item)) return refuse(STATUS_INVALID_PARAMETER, 'not a work item, or one queued already');
      if (op === undefined) return refuse(STATUS_INVALID_PARAMETER, 'not an operation in progress');
      // [DOC] it fails when the target instance is being torn down: the filter is unregistering
      if (!b.k.flt.filters.filters.some((f) => f.instance !== 0 && f.owner === b.driverName)) return refuse(STATUS_FLT_NOT_SAFE_TO_POST_OPERATION, 'the instance is being torn down');
      b.k.flt.filters.queueWork({ item, data, routine, context });
      // the operation may be resumed from now on (by a worker on another CPU before its pre- or post-operation returns)
      if (b.k.flt.filters.inPost.has(data)) {
        if (!pending().pendedPost.has(data)) pending().pendedPost.set(data, false);
      } else if (!pending().pended.has(data)) {
        pending().pended.set(data, null);
      }
      b.k.rec.log('FltQueueDeferredIoWorkItem', [hex(item), routineName(routine)], STATUS_SUCCESS);
      return STATUS_SUCCESS;
    },
    FltCompletePendedPreOperation: (data, status, context) => {
      requireExport(b.k.ke.build, 'FltCompletePendedPreOperation');
      // [DOC] at DISPATCH_LEVEL only to complete the operation; to resume it, APC_LEVEL at most
      if (status !== FLT_PREOP_COMPLETE) b.v.checkIrql('FltCompletePendedPreOperation', { max: APC_LEVEL });
      const p = pending().pended;
      if (!p.has(data) || p.get(data) !== null) {
        // CHOICE: the filter manager completes the IRP again: bug check 0x44, as a second IoCompleteRequest is
        throw new BugCheck(BUGCHECK_MULTIPLE_IRP_COMPLETE_REQUESTS, [b.mem.canonical(data), 0, 0, 0],
          `FltCompletePendedPreOperation(${hex(data)}): not an operation a pre-operation pended, or one resumed already`);
      }
      p.set(data, { status, context });
      b.k.rec.log('FltCompletePendedPreOperation', [hex(data), PREOP_NAMES[status] ?? String(status)]);
    },
    FltCompletePendedPostOperation: (data) => {
      requireExport(b.k.ke.build, 'FltCompletePendedPostOperation');
      const p = pending().pendedPost;
      if (p.get(data) !== false) {
        // CHOICE: as for the pre-operation, the filter manager completes the IRP again: bug check 0x44
        throw new BugCheck(BUGCHECK_MULTIPLE_IRP_COMPLETE_REQUESTS, [b.mem.canonical(data), 0, 0, 0],
          `FltCompletePendedPostOperation(${hex(data)}): not an operation a post-operation pended, or one resumed already`);
      }
      p.set(data, true);
      b.k.rec.log('FltCompletePendedPostOperation', [hex(data)]);
    },
  };
}
