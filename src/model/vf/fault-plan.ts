/**
 * The fault plan: which call of which DDI fails, and with what status (pool allocations return NULL). A scenario
 * carries it, so a failure is generated, shrunk and replayed like every other operation.
 */
import type { NTSTATUS } from '../status.js';

export interface FaultSpec {
  /** DDI name (one of FAULTABLE_DDIS). */
  readonly ddi: string;
  /** Fail the n-th call (1-based) the driver makes to it. */
  readonly nth: number;
  /** NTSTATUS to return (pool allocations return NULL instead). */
  readonly status: NTSTATUS;
}

/** DDIs a fault plan can make fail (they return NTSTATUS, or NULL for pool). */
export const FAULTABLE_DDIS: readonly string[] = [
  'IoCreateDevice', 'IoCreateSymbolicLink',
  'PsSetCreateProcessNotifyRoutine', 'PsSetCreateThreadNotifyRoutine', 'PsSetLoadImageNotifyRoutine',
  'PsLookupProcessByProcessId', 'ExAllocatePoolWithTag',
];

/** The Ex registrations a fault plan also reaches (they share the base routine's fault counter). */
export const FAULT_ALIASES: Readonly<Record<string, string>> = {
  PsSetCreateProcessNotifyRoutineEx: 'PsSetCreateProcessNotifyRoutine',
  PsSetCreateProcessNotifyRoutineEx2: 'PsSetCreateProcessNotifyRoutine',
  PsSetCreateThreadNotifyRoutineEx: 'PsSetCreateThreadNotifyRoutine',
  PsSetLoadImageNotifyRoutineEx: 'PsSetLoadImageNotifyRoutine',
  ExAllocatePool2: 'ExAllocatePoolWithTag',
};

export class FaultPlan {
  private readonly calls = new Map<string, number>();

  constructor(private readonly faults: readonly FaultSpec[]) {}

  /** The plan's answer for the next call of `name`, if it is to fail (every call is counted). */
  fault(name: string): NTSTATUS | undefined {
    const key = FAULT_ALIASES[name] ?? name;
    const n = (this.calls.get(key) ?? 0) + 1;
    this.calls.set(key, n);
    for (const f of this.faults) if (f.ddi === key && f.nth === n) return f.status >>> 0;
    return undefined;
  }
}
