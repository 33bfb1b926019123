/**
 * Pool: ExAllocatePoolWithTag (not zeroed: filled as special pool fills it), ExAllocatePool2 (zeroed unless asked not
 * to), ExFreePoolWithTag with the verifier's pool tracking (double free, wrong tag, not a block: bug check 0xC2), the
 * driver's quota (NULL past it, as documented), paged pool at the wrong IRQL (0xC4).
 */
import type { DdiBinding } from '../components.js';
import type { Ddi } from '../ddi.js';
import { BugCheck, BUGCHECK_BAD_POOL_CALLER } from '../ke/bugcheck.js';
import { APC_LEVEL, irqlName } from '../ke/irql.js';
import { poolTagValue } from '../mm/memory.js';
import { requireExport } from '../mm/sysldr.js';

const POOL_FLAG_UNINITIALIZED = 0x2n;
const POOL_FLAG_PAGED = 0x100n;
/** BAD_POOL_CALLER Parameter 1 values ([DOC] bug-check-0xc2). */
const BAD_POOL_DOUBLE_FREE = 0x07;
const BAD_POOL_WRONG_TAG = 0x0a;
const BAD_POOL_INVALID_ADDRESS = 0x46;

/**
 * A SIZE_T the driver asked for: exact (an x64 driver's (SIZE_T)-1 is 2^64 - 1, an x86 one's 2^32 - 1, not -1), and
 * why NULL comes back when it does: no pool holds more than the machine's memory, whatever the quota.
 */
function request(n: number | bigint): { readonly bytes: number; readonly text: string } {
  const exact = typeof n === 'bigint' ? BigInt.asUintN(64, n) : BigInt(Math.max(0, Math.floor(n)));
  return { bytes: exact > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(exact), text: exact.toString() };
}

function nullReason(b: DdiBinding, bytes: number): string {
  if (bytes === 0) return 'NULL';
  return bytes > b.mem.capacity ? 'NULL (more than the pool holds)' : 'NULL (pool quota)';
}

/** Past the driver's quota (or what the machine has left) an allocation returns NULL, as documented. */
export function overQuota(b: DdiBinding, n: number): boolean {
  return b.mem.heldBy(b.driverName) + n > b.k.ex.poolQuota || b.mem.wouldExhaust(n);
}

/** Paged pool a routine allocates on the driver's behalf (strings, image names): the driver's to free. */
export function allocatePaged(b: DdiBinding, bytes: number, tag: string): number {
  return overQuota(b, bytes) ? 0 : b.mem.alloc(bytes, tag, b.driverName, { paged: true });
}

export type ExPoolDdis = Pick<Ddi, 'ExAllocatePoolWithTag' | 'ExFreePoolWithTag' | 'ExAllocatePool2'>;

export function exPoolDdis(b: DdiBinding): ExPoolDdis {
  return {
    ExAllocatePoolWithTag: (type, size, tag) => {
      const { bytes: n, text } = request(size);
      const paged = (type & 1) === 1; // PagedPool and its variants are odd POOL_TYPE values (wdm.h)
      if (b.v.enabled && paged && b.v.irql > APC_LEVEL) b.v.violation(0x01, type, `ExAllocatePoolWithTag: paged pool at ${irqlName(b.v.irql)}`, n);
      const f = b.k.ke.faults.fault('ExAllocatePoolWithTag');
      if (f !== undefined || n <= 0 || overQuota(b, n)) {
        b.k.rec.log('ExAllocatePoolWithTag', [text, tag], undefined, f === undefined ? nullReason(b, n) : 'NULL', f !== undefined);
        return 0;
      }
      const va = b.mem.alloc(n, tag, b.driverName, { paged });
      b.mem.fill(va, n, 0xcd); // pool is not zeroed: fill like Verifier's special pool does
      b.k.rec.log('ExAllocatePoolWithTag', [text, tag], undefined, b.k.ke.hex(va));
      return va;
    },
    ExFreePoolWithTag: (p, tag) => {
      const blk = b.mem.block(p);
      if (!b.v.enabled) {
        if (blk === undefined || blk.owner !== b.driverName) {
          throw new BugCheck(BUGCHECK_BAD_POOL_CALLER, [BAD_POOL_DOUBLE_FREE, 0, 0, b.mem.canonical(p)], `ExFreePoolWithTag(${b.k.ke.hex(p)}): not a live pool block of the driver`);
        }
      } else if (blk === undefined) {
        const stale = b.mem.blockAt(p);
        if (stale !== undefined && stale.freed && stale.block.va === p) {
          throw new BugCheck(BUGCHECK_BAD_POOL_CALLER, [BAD_POOL_DOUBLE_FREE, 0, 0, b.mem.canonical(p)],
            `ExFreePoolWithTag(${b.k.ke.hex(p)}): pool block '${stale.block.tag}' (${stale.block.size} bytes) freed twice`, 'pool-tracking');
        }
        throw new BugCheck(BUGCHECK_BAD_POOL_CALLER, [BAD_POOL_INVALID_ADDRESS, b.mem.canonical(p), 0, 0],
          `ExFreePoolWithTag(${b.k.ke.hex(p)}): not the start of a pool allocation${stale !== undefined ? ` (inside '${stale.block.tag}' at ${b.k.ke.hex(stale.block.va)})` : ''}`, 'pool-tracking');
      } else if (blk.owner !== b.driverName || (tag !== '' && tag !== blk.tag)) {
        throw new BugCheck(BUGCHECK_BAD_POOL_CALLER, [BAD_POOL_WRONG_TAG, b.mem.canonical(p), poolTagValue(blk.tag), poolTagValue(tag)],
          `ExFreePoolWithTag(${b.k.ke.hex(p)}, '${tag}'): the block was allocated ${blk.owner === b.driverName ? `with tag '${blk.tag}'` : `by ${blk.owner} ('${blk.tag}')`}`, 'pool-tracking');
      } else if (blk.paged && b.v.irql > APC_LEVEL) {
        b.v.violation(0x11, 1, `ExFreePoolWithTag: paged pool freed at ${irqlName(b.v.irql)}`, b.mem.canonical(p));
      }
      b.mem.free(p);
      b.k.rec.log('ExFreePoolWithTag', [b.k.ke.hex(p), tag]);
    },
    ExAllocatePool2: (flags, size, tag) => {
      requireExport(b.k.ke.build, 'ExAllocatePool2');
      const { bytes: n, text } = request(size);
      const f = b.k.ke.faults.fault('ExAllocatePool2');
      if (f !== undefined || n <= 0 || overQuota(b, n)) {
        b.k.rec.log('ExAllocatePool2', [`0x${flags.toString(16)}`, text, tag], undefined, f === undefined ? nullReason(b, n) : 'NULL', f !== undefined);
        return 0;
      }
      const paged = (flags & POOL_FLAG_PAGED) !== 0n;
      if (b.v.enabled && paged && b.v.irql > APC_LEVEL) b.v.violation(0x01, 1, `ExAllocatePool2: paged pool at ${irqlName(b.v.irql)}`, n);
      const uninitialized = (flags & POOL_FLAG_UNINITIALIZED) !== 0n;
      const va = b.mem.alloc(n, tag, b.driverName, { zeroed: !uninitialized, paged });
      if (uninitialized) b.mem.fill(va, n, 0xcd); // zeroed unless asked not to ([DOC] ExAllocatePool2)
      b.k.rec.log('ExAllocatePool2', [`0x${flags.toString(16)}`, text, tag], undefined, b.k.ke.hex(va));
      return va;
    },
  };
}
