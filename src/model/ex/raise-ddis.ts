/**
 * Exceptions a routine raises: ExRaiseStatus, and ProbeForRead/ProbeForWrite of a user-mode buffer (a misaligned one
 * raises STATUS_DATATYPE_MISALIGNMENT, one outside user space STATUS_ACCESS_VIOLATION: [DOC] ProbeForRead). SEH is not
 * modelled: nothing catches them, and Windows then shows KMODE_EXCEPTION_NOT_HANDLED with the status.
 */
import type { DdiBinding } from '../components.js';
import type { Ddi } from '../ddi.js';
import { BugCheck, BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED } from '../ke/bugcheck.js';
import { STATUS_ACCESS_VIOLATION, STATUS_DATATYPE_MISALIGNMENT, statusName } from '../status.js';

/** MmUserProbeAddress: the first address past user space (x86 with a 2 GB user space; x64's 128 TB). */
export const MM_USER_PROBE_ADDRESS = { 4: 0x7fff_0000, 8: 0x7fff_ffff_0000 } as const;

/** An exception no handler catches: what Windows shows (KMODE_EXCEPTION_NOT_HANDLED, P1 the status). */
function raiseStatus(status: number, why: string): never {
  throw new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [status >>> 0, 0, 0, 0],
    `${why} raised ${statusName(status)}; no handler caught it (SEH is not modelled: a __try/__except around it would have run its handler)`);
}

export type ExRaiseDdis = Pick<Ddi, 'ExRaiseStatus' | 'ProbeForRead' | 'ProbeForWrite'>;

export function exRaiseDdis(b: DdiBinding): ExRaiseDdis {
  const probe = (name: string) => (address: number, length: number, alignment: number): void => {
    if (length === 0) return;
    if (![1, 2, 4, 8, 16].includes(alignment)) throw new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [STATUS_DATATYPE_MISALIGNMENT, 0, 0, 0], `${name}: alignment ${alignment} is not 1, 2, 4, 8 or 16`);
    const a = b.ps === 4 ? address >>> 0 : address;
    if (a % alignment !== 0) raiseStatus(STATUS_DATATYPE_MISALIGNMENT, `${name}(${b.k.ke.hex(a)}, ${length}, ${alignment})`);
    // kernel memory is never a user buffer (an x86 C driver's kernel addresses are low offsets: checked by map, not range)
    if (a + length > MM_USER_PROBE_ADDRESS[b.ps] || a + length < a || b.mem.offsetOf(a, 1) >= 0) raiseStatus(STATUS_ACCESS_VIOLATION, `${name}(${b.k.ke.hex(a)}, ${length}): not a user-mode buffer, so it`);
  };
  return {
    ExRaiseStatus: (status) => raiseStatus(status, 'ExRaiseStatus'),
    ProbeForRead: probe('ProbeForRead'),
    ProbeForWrite: probe('ProbeForWrite'),

  };
}
