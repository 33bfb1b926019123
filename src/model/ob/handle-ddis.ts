/**
 * Kernel handles and references by pointer: ObOpenObjectByPointer (a kernel handle holding a reference until ZwClose),
 * ZwClose (closing a handle that is not open is bug check 0x93, [DOC] bug-check-0x93), ObReferenceObjectByPointer.
 * A handle never closed is a reference never released, which `references-released` reports.
 */
import type { DdiBinding } from '../components.js';
import type { Ddi } from '../ddi.js';
import { BugCheck } from '../ke/bugcheck.js';
import { handleValue, isCurrentProcessHandle, objectAt, objectTypeOf, referenceOf, writeOut } from './object-args.js';
import { STATUS_OBJECT_TYPE_MISMATCH, STATUS_SUCCESS } from '../status.js';

/** INVALID_KERNEL_HANDLE: closing a kernel handle that is not open ([DOC] bug-check-0x93). */
export const BUGCHECK_INVALID_KERNEL_HANDLE = 0x93;

export type ObHandleDdis = Pick<Ddi, 'ObOpenObjectByPointer' | 'ZwClose' | 'ObReferenceObjectByPointer'>;

export function obHandleDdis(b: DdiBinding): ObHandleDdis {
  return {
    ObOpenObjectByPointer: (obj, _attributes, _accessState, _access, type, _mode, out) => {
      const o = objectAt(b, obj);
      if (type !== 0 && type !== objectTypeOf(b, o)) {
        b.k.rec.log('ObOpenObjectByPointer', [b.k.ke.hex(obj)], STATUS_OBJECT_TYPE_MISMATCH);
        return STATUS_OBJECT_TYPE_MISMATCH;
      }
      // a kernel handle (OBJ_KERNEL_HANDLE): the top bit set; x64 values kept in 48-bit form (0xFFFFFFFF8…)
      const h = (b.ps === 4 ? 0x8000_0000 : 0xffff_8000_0000) + 4 * b.k.ob.handles.next++;
      b.k.ob.handles.table.set(h, o);
      referenceOf(b, o);
      writeOut(b, out, h);
      b.k.rec.log('ObOpenObjectByPointer', [b.k.ke.hex(obj)], STATUS_SUCCESS, b.k.ke.hex(h));
      return STATUS_SUCCESS;
    },
    ZwClose: (raw) => {
      const h = handleValue(b, raw);
      const o = b.k.ob.handles.table.get(h);
      if (o === undefined) {
        if (isCurrentProcessHandle(b, h)) return STATUS_SUCCESS; // the current-process pseudo-handle: nothing to close
        throw new BugCheck(BUGCHECK_INVALID_KERNEL_HANDLE, [b.mem.canonical(h), 0, 0, 0], `ZwClose(${b.k.ke.hex(h)}): not an open kernel handle`);
      }
      b.k.ob.handles.table.delete(h);
      b.k.rec.log('ZwClose', [b.k.ke.hex(h)], STATUS_SUCCESS);
      b.k.ob.objects.dereferenceByDriver(o, 'ZwClose');
      return STATUS_SUCCESS;
    },
    ObReferenceObjectByPointer: (obj, _access, type, _mode) => {
      const o = objectAt(b, obj);
      if (type !== 0 && type !== objectTypeOf(b, o)) {
        b.k.rec.log('ObReferenceObjectByPointer', [b.k.ke.hex(obj)], STATUS_OBJECT_TYPE_MISMATCH);
        return STATUS_OBJECT_TYPE_MISMATCH;
      }
      referenceOf(b, o);
      b.k.rec.log('ObReferenceObjectByPointer', [b.k.ke.hex(obj)], STATUS_SUCCESS);
      return STATUS_SUCCESS;
    },
  };
}
