/**
 * The notify-routine registrations: PsSetCreateProcessNotifyRoutine(Ex, Ex2), PsSetCreateThreadNotifyRoutine(Ex),
 * PsSetLoadImageNotifyRoutine(Ex) and their removals, with the documented statuses of each ([DOC] the ntddk page of
 * each routine; [WRK] ps/psnotify.c). A removal waits for calls of the routine still running on other CPUs.
 */
import type { DdiBinding } from '../components.js';
import type { Ddi } from '../ddi.js';
import { PsCreateProcessNotifySubsystems, PsCreateThreadNotifyNonSystem, PS_IMAGE_NOTIFY_CONFLICTING_ARCHITECTURE, type PCREATE_PROCESS_NOTIFY_ROUTINE_EX } from '../ddi.js';
import { requireExport, routineName } from '../mm/sysldr.js';
import {
  STATUS_ACCESS_DENIED, STATUS_INSUFFICIENT_RESOURCES, STATUS_INVALID_PARAMETER, STATUS_INVALID_PARAMETER_2, STATUS_PROCEDURE_NOT_FOUND,
  STATUS_SUCCESS, type NTSTATUS,
} from '../status.js';
import type { NotifyTable } from './notify-tables.js';

export type PsNotifyDdis = Pick<Ddi, 'PsSetCreateProcessNotifyRoutine' | 'PsSetCreateThreadNotifyRoutine' | 'PsRemoveCreateThreadNotifyRoutine' | 'PsSetLoadImageNotifyRoutine' | 'PsRemoveLoadImageNotifyRoutine' | 'PsSetCreateProcessNotifyRoutineEx' | 'PsSetCreateProcessNotifyRoutineEx2' | 'PsSetCreateThreadNotifyRoutineEx' | 'PsSetLoadImageNotifyRoutineEx'>;

export function psNotifyDdis(b: DdiBinding): PsNotifyDdis {
  const register = <F>(table: NotifyTable<F>, name: string, routine: F, full: NTSTATUS): NTSTATUS => {
    const k = b.k;
    const f = k.ke.faults.fault(name);
    if (f !== undefined) {
      k.rec.log(name, [routineName(routine)], f, undefined, true);
      return f;
    }
    k.loaded.addressOf(routine);
    // A routine already in the process table: NT 5.x registers it again (no check, [WRK] ps/create.c); from
    // Vista the documented answer is STATUS_INVALID_PARAMETER ("already registered": UNCONFIRMED in code).
    if (table.kind === 'process' && k.ke.build.major >= 6 && table.slots.some((x) => x !== null && x.routine === routine)) {
      k.rec.log(name, [routineName(routine)], STATUS_INVALID_PARAMETER, 'already registered');
      return STATUS_INVALID_PARAMETER;
    }
    const slot = table.register(routine, b.driverName, routineName(routine));
    const status = slot < 0 ? full : STATUS_SUCCESS;
    // the slot is published with an interlocked exchange and read the same way ([WRK] ex/callback.c
    // ExCompareExchangeCallBack, ExReferenceCallBackBlock): what the driver did before registering happens before
    // every call of the routine
    if (slot >= 0) k.ke.cpus.syncRelease(k.loaded.addressOf(routine));
    k.rec.log(name, [routineName(routine)], status, slot < 0 ? undefined : `slot ${slot}`);
    return status;
  };
  const remove = <F>(table: NotifyTable<F>, name: string, routine: F): NTSTATUS => {
    const k = b.k;
    const cpus = k.ke.cpus;
    const status = table.remove(routine) ? STATUS_SUCCESS : STATUS_PROCEDURE_NOT_FOUND;
    k.rec.log(name, name.startsWith('PsSetCreateProcessNotifyRoutine') ? [routineName(routine), 'Remove=TRUE'] : [routineName(routine)], status);
    // the removal waits for calls of the routine already running on other CPUs: the callback block's rundown
    // protection ([WRK] ps/psnotify.c: ExWaitForCallBacks after the slot is cleared)
    if (cpus.rundownHeld(routine)) {
      cpus.block({ what: `the calls of ${routineName(routine)} still running on other CPUs`, ready: () => !cpus.rundownHeld(routine), sync: k.loaded.addressOf(routine) }, { value: status });
    }
    cpus.syncAcquire(k.loaded.addressOf(routine)); // the calls that ended before: their rundown reference was released
    return status;
  };
  /** PsSetCreateProcessNotifyRoutineEx / Ex2: the process table, with the routine marked as an Ex routine. */
  const setProcessEx = (name: string, routine: PCREATE_PROCESS_NOTIFY_ROUTINE_EX, removeIt: boolean): NTSTATUS => {
    const notify = b.k.ps.notify;
    if (removeIt) {
      const st = remove(notify.processTable, name, routine);
      if (st === STATUS_SUCCESS) notify.exProcessRoutines.delete(routine);
      return st;
    }
    if (!b.k.integrityCheck) {
      // "the image that contains the callback routine pointer did not have IMAGE_DLLCHARACTERISTICS_FORCE_INTEGRITY
      // set in its image header" ([DOC] PsSetCreateProcessNotifyRoutineEx, …Ex2: STATUS_ACCESS_DENIED)
      b.k.rec.log(name, [routineName(routine)], STATUS_ACCESS_DENIED, 'linked without /INTEGRITYCHECK');
      return STATUS_ACCESS_DENIED;
    }
    const st = register(notify.processTable, name, routine, STATUS_INVALID_PARAMETER);
    if (st === STATUS_SUCCESS) notify.exProcessRoutines.add(routine);
    return st;
  };
  return {
    PsSetCreateProcessNotifyRoutine: (routine, removeIt) => {
      if (removeIt) return remove(b.k.ps.notify.processTable, 'PsSetCreateProcessNotifyRoutine', routine);
      return register(b.k.ps.notify.processTable, 'PsSetCreateProcessNotifyRoutine', routine, STATUS_INVALID_PARAMETER);
    },
    PsSetCreateThreadNotifyRoutine: (routine) =>
      register(b.k.ps.notify.threadTable, 'PsSetCreateThreadNotifyRoutine', routine, STATUS_INSUFFICIENT_RESOURCES),
    PsRemoveCreateThreadNotifyRoutine: (routine) => {
      requireExport(b.k.ke.build, 'PsRemoveCreateThreadNotifyRoutine');
      return remove(b.k.ps.notify.threadTable, 'PsRemoveCreateThreadNotifyRoutine', routine);
    },
    PsSetLoadImageNotifyRoutine: (routine) =>
      register(b.k.ps.notify.imageTable, 'PsSetLoadImageNotifyRoutine', routine, STATUS_INSUFFICIENT_RESOURCES),
    PsRemoveLoadImageNotifyRoutine: (routine) => {
      requireExport(b.k.ke.build, 'PsRemoveLoadImageNotifyRoutine');
      return remove(b.k.ps.notify.imageTable, 'PsRemoveLoadImageNotifyRoutine', routine);
    },
    PsSetCreateProcessNotifyRoutineEx: (routine, removeIt) => {
      requireExport(b.k.ke.build, 'PsSetCreateProcessNotifyRoutineEx');
      return setProcessEx('PsSetCreateProcessNotifyRoutineEx', routine, removeIt);
    },
    PsSetCreateProcessNotifyRoutineEx2: (type, routine, removeIt) => {
      requireExport(b.k.ke.build, 'PsSetCreateProcessNotifyRoutineEx2');
      if (type !== PsCreateProcessNotifySubsystems) {
        b.k.rec.log('PsSetCreateProcessNotifyRoutineEx2', [String(type), routineName(routine)], STATUS_INVALID_PARAMETER);
        return STATUS_INVALID_PARAMETER;
      }
      return setProcessEx('PsSetCreateProcessNotifyRoutineEx2', routine, removeIt);
    },
    PsSetCreateThreadNotifyRoutineEx: (type, routine) => {
      requireExport(b.k.ke.build, 'PsSetCreateThreadNotifyRoutineEx');
      if (type !== PsCreateThreadNotifyNonSystem && type !== 1) {
        b.k.rec.log('PsSetCreateThreadNotifyRoutineEx', [String(type), routineName(routine)], STATUS_INVALID_PARAMETER);
        return STATUS_INVALID_PARAMETER;
      }
      const st = register(b.k.ps.notify.threadTable, 'PsSetCreateThreadNotifyRoutineEx', routine, STATUS_INSUFFICIENT_RESOURCES);
      if (st === STATUS_SUCCESS && type === PsCreateThreadNotifyNonSystem) b.k.ps.notify.newThreadContextRoutines.add(routine);
      return st;
    },
    PsSetLoadImageNotifyRoutineEx: (routine, flags) => {
      requireExport(b.k.ke.build, 'PsSetLoadImageNotifyRoutineEx');
      if ((flags & ~PS_IMAGE_NOTIFY_CONFLICTING_ARCHITECTURE) !== 0) {
        b.k.rec.log('PsSetLoadImageNotifyRoutineEx', [routineName(routine), String(flags)], STATUS_INVALID_PARAMETER_2);
        return STATUS_INVALID_PARAMETER_2;
      }
      return register(b.k.ps.notify.imageTable, 'PsSetLoadImageNotifyRoutineEx', routine, STATUS_INSUFFICIENT_RESOURCES);
    },
  };
}
