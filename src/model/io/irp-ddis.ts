/**
 * What a dispatch routine does with its IRP: IoCompleteRequest, IoMarkIrpPending, IoSetCancelRoutine (an interlocked
 * exchange), the cancel spin lock, IoGetCurrentIrpStackLocation (wdm.h; [DOC] each routine's page).
 */
import type { DdiBinding } from '../components.js';
import type { Ddi } from '../ddi.js';
import { statusName } from '../status.js';
import { SL_PENDING_RETURNED } from './layouts.js';

export type IoIrpDdis = Pick<Ddi, 'IoCompleteRequest' | 'IoMarkIrpPending' | 'IoSetCancelRoutine' | 'IoAcquireCancelSpinLock' | 'IoReleaseCancelSpinLock' | 'IoGetCurrentIrpStackLocation'>;

export function ioIrpDdis(b: DdiBinding): IoIrpDdis {
  return {
    IoCompleteRequest: (irp, boost) => {
      b.k.rec.log('IoCompleteRequest', [b.k.ke.hex(irp), String(boost)], undefined, statusName(b.mem.u32(irp + b.k.io.irps.irpLayout.IoStatus)));
      b.k.io.irps.completeIrp(irp);
    },
    IoMarkIrpPending: (irp) => {
      const stack = b.ddi.IoGetCurrentIrpStackLocation(irp);
      b.mem.check(stack, b.k.io.irps.stackLayout.size, true);
      b.mem.setU8(stack + b.k.io.irps.stackLayout.Control, b.mem.u8(stack + b.k.io.irps.stackLayout.Control) | SL_PENDING_RETURNED);
    },
    IoSetCancelRoutine: (irp, routine) => {
      const at = irp + b.k.io.irps.irpLayout.CancelRoutine;
      b.mem.check(at, b.ps, true);
      b.k.ke.cpus.atomicBegin(at);
      const old = b.mem.ptr(at);
      const pointer = routine === null ? 0 : b.k.loaded.addressOf(routine);
      if (routine !== null) b.k.io.irps.cancelRoutines.set(pointer, routine);
      b.mem.setPtr(at, pointer);
      b.k.ke.cpus.atomicEnd();
      return old === 0 ? null : b.k.io.irps.cancelRoutines.get(old) ?? null;
    },
    IoAcquireCancelSpinLock: () => b.ddi.KeAcquireSpinLock(b.k.io.irps.cancelSpinLock),
    IoReleaseCancelSpinLock: (irql) => b.ddi.KeReleaseSpinLock(b.k.io.irps.cancelSpinLock, irql),
    IoGetCurrentIrpStackLocation: (irp) => {
      b.mem.check(irp, b.k.io.irps.irpLayout.size, false);
      return b.mem.ptr(irp + b.k.io.irps.irpLayout.CurrentStackLocation);
    },
  };
}
