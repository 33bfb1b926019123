/**
 * The run-time library's memory routines and RtlGetVersion. RtlCopyMemory and RtlZeroMemory check the driver's
 * buffers as its own accesses (the string routines, rtl/string-ddis.ts, touch them on its behalf).
 */
import type { DdiBinding } from '../components.js';
import type { Ddi } from '../ddi.js';

export type RtlMemoryDdis = Pick<Ddi, 'RtlCopyMemory' | 'RtlZeroMemory' | 'RtlGetVersion'>;

export function rtlMemoryDdis(b: DdiBinding): RtlMemoryDdis {
  return {
    RtlCopyMemory: (d, s, n) => {
      if (n === 0) return;
      b.mem.check(s, n, false);
      b.mem.check(d, n, true);
      b.mem.setBytes(d, b.mem.slice(s, n).slice());
    },
    RtlZeroMemory: (d, n) => {
      if (n === 0) return;
      b.mem.check(d, n, true);
      b.mem.fill(d, n, 0);
    },
    RtlGetVersion: () => ({ dwMajorVersion: b.k.ke.build.major, dwMinorVersion: b.k.ke.build.minor, dwBuildNumber: b.k.ke.build.buildNumber }),
  };
}
