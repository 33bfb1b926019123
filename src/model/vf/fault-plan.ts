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

/**
 * Whether Windows produces a failure: 'reachable' (documented behaviour of the build, no shortage needed),
 * 'low-resources' (Windows fails the routine this way when memory or a fixed table runs out; Driver Verifier's Low
 * Resources Simulation injects such failures), 'defensive' (Windows does not fail it this way in that context: a
 * check worth having, not a crash a user will see). docs/kernel-semantics.md, "Reachability", has the sources.
 */
export type Reachability = 'reachable' | 'low-resources' | 'defensive';

/** Why a failure of `ddi` with `status` (the NTSTATUS name; 'NULL' for a pool allocation) is of its class. */
export function faultReachability(ddi: string, status: string): { readonly reachability: Reachability; readonly why: string } {
  const base = FAULT_ALIASES[ddi] ?? ddi;
  switch (base) {
    case 'ExAllocatePoolWithTag':
      return { reachability: 'low-resources', why: `${ddi} returned NULL: the pool is short (documented; Driver Verifier's Low Resources Simulation fails it)` };
    case 'IoCreateDevice':
    case 'IoCreateSymbolicLink':
      return status === 'STATUS_OBJECT_NAME_COLLISION'
        ? { reachability: 'reachable', why: `${ddi} returned ${status}: the name is taken (another instance or another driver holds it)` }
        : { reachability: 'low-resources', why: `${ddi} returned ${status}: the object manager is short of memory` };
    case 'PsSetCreateProcessNotifyRoutine':
      if (status === 'STATUS_ACCESS_DENIED') {
        // only the Ex forms check the image's /INTEGRITYCHECK flag; the plain routine documents no such status
        return ddi === base
          ? { reachability: 'defensive', why: `${ddi} returned ${status}: not among the statuses it documents (only the Ex forms refuse an image without /INTEGRITYCHECK)` }
          : { reachability: 'reachable', why: `${ddi} returned ${status}: the image is linked without /INTEGRITYCHECK` };
      }
      return { reachability: 'low-resources', why: `${ddi} returned ${status}: every slot of the routine table is taken by other drivers` };
    case 'PsSetCreateThreadNotifyRoutine':
    case 'PsSetLoadImageNotifyRoutine':
      return { reachability: 'low-resources', why: `${ddi} returned ${status}: every slot of the routine table is taken by other drivers` };
    case 'PsLookupProcessByProcessId':
      return {
        reachability: 'defensive',
        why: `${ddi} returned ${status} for a process that exists: Windows fails the lookup only for an ID that names no live process, which the model produces from its own state (nt-semantics §0 rows 6, 15)`,
      };
    default:
      return { reachability: 'defensive', why: `${ddi} returned ${status}: an injected failure with no documented cause` };
  }
}
