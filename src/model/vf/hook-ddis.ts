/**
 * The verifier's hooks in a driver compiled to WebAssembly (docs/verifier.md): an access the inline shadow check
 * flagged (VERIFY_ACCESS: on several CPUs also the race detector's input), a value handed to the kernel that was read
 * from uninitialised pool (VERIFY_VALUE), the work budget spent (WORK_EXCEEDED). Not calls of the driver: neither
 * counted nor IRQL-checked.
 */
import type { DdiBinding } from '../components.js';
import type { Ddi } from '../ddi.js';
import { WORK_BUDGET } from './verifier.js';

export type VfHookDdis = Pick<Ddi, 'VERIFY_ACCESS' | 'VERIFY_VALUE' | 'WORK_EXCEEDED' | 'WORK_BUDGET' | 'CODE_SECTION_EXECUTES'>;

export function vfHookDdis(b: DdiBinding): VfHookDdis {
  return {
    VERIFY_ACCESS: (p, n, write, site) => {
      if (b.k.ke.cpus.sched === null) {
        b.mem.check(p, n, write);
        return;
      }
      // the driver's own access: the race detector's input (the kernel's accesses for a DDI are not the driver's),
      // with its site in the driver's code (a race names both accesses' source lines)
      b.k.ke.cpus.driverAccess = true;
      b.k.ke.cpus.accessSite = site;
      try {
        b.mem.check(p, n, write);
      } finally {
        b.k.ke.cpus.driverAccess = false;
        b.k.ke.cpus.accessSite = undefined;
      }
    },
    VERIFY_VALUE: (routine, position, value) => b.v.checkValue(routine, position, value),
    WORK_EXCEEDED: () => b.v.workExceeded(),
    WORK_BUDGET,
    CODE_SECTION_EXECUTES: (fn, kind, section) => {
      const loaded = b.k.ke.loaded;
      // the function's address in this load's image (one per function, as addressOf gives routines theirs)
      b.v.executeSection(fn, kind, section, () => b.mem.canonical(loaded.addressOf(`${section}:${fn}`)), loaded.initDiscarded, b.k.ke.build.buildNumber);
    },
  };
}
