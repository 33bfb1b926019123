/**
 * ObReferenceObject and ObDereferenceObject on a process or thread object: the count the driver holds, and bug check
 * 0x18 when a drop would delete an object its state still needs ([DOC] ObDereferenceObject, bug-check-0x18).
 */
import type { DdiBinding } from '../components.js';
import type { Ddi } from '../ddi.js';

export type ObReferenceDdis = Pick<Ddi, 'ObReferenceObject' | 'ObDereferenceObject'>;

export function obReferenceDdis(b: DdiBinding): ObReferenceDdis {
  return {
    ObReferenceObject: (va) => {
      const o = b.k.ob.objects.objectAt(va, false);
      const obj = o.kind === 'process' ? o.p : o.t;
      b.k.ob.objects.referenceByDriver(obj);
      b.k.rec.log('ObReferenceObject', [b.k.ke.hex(va)], undefined, `PointerCount=${obj.pointerCount}`);
    },
    ObDereferenceObject: (va) => {
      const o = b.k.ob.objects.objectAt(va, true);
      const obj = o.kind === 'process' ? o.p : o.t;
      b.k.rec.log('ObDereferenceObject', [b.k.ke.hex(va)], undefined, `PointerCount=${obj.pointerCount - 1}`);
      b.k.ob.objects.dereferenceByDriver(o, 'ObDereferenceObject');
    },
  };
}
