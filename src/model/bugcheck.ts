/**
 * A simulated bug check (KeBugCheckEx). Thrown by the kernel; the run ends there, as the machine would.
 * Codes and meanings from the WDK "Bug Check Code Reference".
 */
export const BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED = 0x1e;
export const BUGCHECK_MULTIPLE_IRP_COMPLETE_REQUESTS = 0x44;
export const BUGCHECK_REFERENCE_BY_POINTER = 0x18;
export const BUGCHECK_PAGE_FAULT_IN_NONPAGED_AREA = 0x50;
export const BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION = 0xc4;
export const BUGCHECK_DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS = 0xce;
export const BUGCHECK_DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL = 0xd5;

const NAMES: ReadonlyMap<number, string> = new Map([
  [BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, 'KMODE_EXCEPTION_NOT_HANDLED'],
  [BUGCHECK_MULTIPLE_IRP_COMPLETE_REQUESTS, 'MULTIPLE_IRP_COMPLETE_REQUESTS'],
  [BUGCHECK_REFERENCE_BY_POINTER, 'REFERENCE_BY_POINTER'],
  [BUGCHECK_PAGE_FAULT_IN_NONPAGED_AREA, 'PAGE_FAULT_IN_NONPAGED_AREA'],
  [BUGCHECK_DRIVER_VERIFIER_DETECTED_VIOLATION, 'DRIVER_VERIFIER_DETECTED_VIOLATION'],
  [BUGCHECK_DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS, 'DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS'],
  [BUGCHECK_DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL, 'DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL'],
  [0xc2, 'BAD_POOL_CALLER'],
]);

export function bugCheckName(code: number): string {
  return NAMES.get(code) ?? `BUGCHECK_${code.toString(16).toUpperCase()}`;
}

export class BugCheck extends Error {
  readonly code: number;
  /** The four bug-check parameters, as hex strings (they may be 64-bit). */
  readonly parameters: readonly string[];
  readonly reason: string;
  constructor(code: number, parameters: readonly (number | bigint)[], reason: string) {
    super(`STOP 0x${code.toString(16).toUpperCase().padStart(8, '0')} ${bugCheckName(code)}: ${reason}`);
    this.name = 'BugCheck';
    this.code = code;
    this.reason = reason;
    const p = [...parameters];
    while (p.length < 4) p.push(0);
    this.parameters = p.slice(0, 4).map((v) => '0x' + v.toString(16).toUpperCase());
  }
}

export const BUGCHECK_BAD_POOL_CALLER = 0xc2;
