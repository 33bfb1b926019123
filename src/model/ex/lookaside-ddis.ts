/**
 * Nonpaged lookaside lists ([DOC] ExInitializeNPagedLookasideList and its kin): each allocation and free reaches pool
 * (or the list's own routines), and ExAllocatePoolWithQuotaTag, which raises when pool runs out unless told not to.
 */
import type { DdiBinding } from '../components.js';
import type { Ddi } from '../ddi.js';
import { poolTagValue } from '../mm/memory.js';
import { BugCheck, BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED } from '../ke/bugcheck.js';
import { STATUS_INSUFFICIENT_RESOURCES } from '../status.js';
import type { Lookaside } from './sync.js';

/** ExAllocatePoolWithQuotaTag: return NULL instead of raising ([DOC] wdm.h POOL_QUOTA_FAIL_INSTEAD_OF_RAISE). */
export const POOL_QUOTA_FAIL_INSTEAD_OF_RAISE = 8;

export type ExLookasideDdis = Pick<Ddi, 'ExAllocatePoolWithQuotaTag' | 'ExInitializeNPagedLookasideList' | 'ExAllocateFromNPagedLookasideList' | 'ExFreeToNPagedLookasideList' | 'ExDeleteNPagedLookasideList'>;

export function exLookasideDdis(b: DdiBinding): ExLookasideDdis {
  const lookaside = (va: number, routine: string): Lookaside => {
    const l = b.k.ex.sync.lookasides.get(va);
    if (l === undefined) {
      throw new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [0xc0000005, 0, 0, 0], `${routine}(${b.k.ke.hex(va)}): a lookaside list never initialised (or deleted)`);
    }
    return l;
  };
  return {
    ExAllocatePoolWithQuotaTag: (type, n, tag) => {
      const va = b.ddi.ExAllocatePoolWithTag(type & ~POOL_QUOTA_FAIL_INSTEAD_OF_RAISE, n, tag);
      if (va === 0 && (type & POOL_QUOTA_FAIL_INSTEAD_OF_RAISE) === 0) {
        // it raises STATUS_INSUFFICIENT_RESOURCES; with no handler (SEH is not modelled) that is 0x1E, as on Windows
        throw new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [STATUS_INSUFFICIENT_RESOURCES, 0, 0, 0],
          `ExAllocatePoolWithQuotaTag raised STATUS_INSUFFICIENT_RESOURCES without POOL_QUOTA_FAIL_INSTEAD_OF_RAISE (the __except handler is not modelled)`);
      }
      return va;
    },
    ExInitializeNPagedLookasideList: (va, allocate, free, _flags, size, tag, _depth) => {
      b.mem.check(va, b.ps === 4 ? 0x80 : 0x80, true);
      b.mem.fill(va, 0x80, 0);
      // CHOICE: no entries are cached (depth 0, as Driver Verifier's special pool makes it): every allocation and
      // free reaches pool or the list's routines, so use after free and leaks show at once
      b.k.ex.sync.lookasides.set(va, { size, tag, poolType: 0, allocate, free });
    },
    ExAllocateFromNPagedLookasideList: (va) => {
      const l = lookaside(va, 'ExAllocateFromNPagedLookasideList');
      return l.allocate !== null ? l.allocate(l.poolType, l.size, poolTagValue(l.tag)) : b.ddi.ExAllocatePoolWithTag(l.poolType, l.size, l.tag);
    },
    ExFreeToNPagedLookasideList: (va, entry) => {
      const l = lookaside(va, 'ExFreeToNPagedLookasideList');
      if (l.free !== null) l.free(entry);
      else b.ddi.ExFreePoolWithTag(entry, l.tag);
    },
    ExDeleteNPagedLookasideList: (va) => {
      lookaside(va, 'ExDeleteNPagedLookasideList');
      b.k.ex.sync.lookasides.delete(va);
    },
  };
}
