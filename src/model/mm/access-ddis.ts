/**
 * The memory manager's routines and what a driver's loads and stores compile to: READ_ and WRITE_ routines (a bad address
 * bug-checks as the real machine would), MmGetSystemRoutineAddress (non-zero where the build exports the routine:
 * [DOC] wdm/nf-wdm-mmgetsystemroutineaddress.md), an uninitialised local's stack garbage, and where a VA lies in the
 * linear memory a WebAssembly driver shares.
 */
import type { DdiBinding } from '../components.js';
import type { Ddi } from '../ddi.js';
import { isExported } from '../builds.js';
import { DDI_NAMES } from '../ddi.js';
import { hexUpper } from '../rtl/hex.js';
import { fnv1a } from '../rtl/prng.js';

/** The routines MmGetSystemRoutineAddress can find (looked up on every call: a set, not the list). */
const DDI_NAME_SET: ReadonlySet<string> = new Set(DDI_NAMES);

export type MmAccessDdis = Pick<Ddi, 'READ_UCHAR' | 'READ_USHORT' | 'READ_ULONG' | 'READ_POINTER' | 'WRITE_UCHAR' | 'WRITE_USHORT' | 'WRITE_ULONG' | 'WRITE_POINTER' | 'uninitialized' | 'MmGetSystemRoutineAddress' | 'MEMORY_OFFSET'>;

export function mmAccessDdis(b: DdiBinding): MmAccessDdis {
  return {
    READ_UCHAR: (p) => { b.mem.check(p, 1, false); return b.mem.u8(p); },
    READ_USHORT: (p) => { b.mem.check(p, 2, false); return b.mem.u16(p); },
    READ_ULONG: (p) => { b.mem.check(p, 4, false); return b.mem.u32(p); },
    READ_POINTER: (p) => { b.mem.check(p, b.ps, false); return b.mem.ptr(p); },
    WRITE_UCHAR: (p, v) => { b.mem.check(p, 1, true); b.mem.setU8(p, v); },
    WRITE_USHORT: (p, v) => { b.mem.check(p, 2, true); b.mem.setU16(p, v); },
    WRITE_ULONG: (p, v) => { b.mem.check(p, 4, true); b.mem.setU32(p, v); },
    WRITE_POINTER: (p, v) => { b.mem.check(p, b.ps, true); b.mem.setPtr(p, v); },
    uninitialized: () => ({ value: b.k.ke.uninitializedPointer }),
    MmGetSystemRoutineAddress: (name) => {
      const address = DDI_NAME_SET.has(name) && isExported(b.k.ke.build, name) ? b.k.ke.build.systemImageBase + (fnv1a(name) & 0xffff0) : 0;
      // recorded: a missing export is a reason a DriverEntry may fail (entry-failure-justified)
      b.k.rec.log('MmGetSystemRoutineAddress', [name], undefined, address === 0 ? 'NULL' : '0x' + hexUpper(address));
      return address;
    },
    MEMORY_OFFSET: (p) => b.mem.offsetOf(p, 1),
  };
}
