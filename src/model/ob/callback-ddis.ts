/**
 * ObRegisterCallbacks, ObUnRegisterCallbacks, ObGetFilterVersion: the object-callback registrations and the
 * documented statuses ([DOC] wdm/nf-wdm-obregistercallbacks.md). ob/callbacks.ts calls the registered routines.
 */
import type { DdiBinding } from '../components.js';
import type { Ddi } from '../ddi.js';
import { BugCheck, BUGCHECK_REFERENCE_BY_POINTER } from '../ke/bugcheck.js';
import { requireExport } from '../mm/sysldr.js';
import { STATUS_ACCESS_DENIED, STATUS_FLT_INSTANCE_ALTITUDE_COLLISION, STATUS_INVALID_PARAMETER, STATUS_SUCCESS, type NTSTATUS } from '../status.js';
import { OB_FLT_REGISTRATION_VERSION, OB_OPERATION_HANDLE_CREATE, OB_OPERATION_HANDLE_DUPLICATE, type ObRegistration } from './callback-types.js';

export type ObCallbackDdis = Pick<Ddi, 'ObRegisterCallbacks' | 'ObUnRegisterCallbacks' | 'ObGetFilterVersion'>;

export function obCallbackDdis(b: DdiBinding): ObCallbackDdis {
  return {
    ObRegisterCallbacks: (reg, out) => {
      requireExport(b.k.ke.build, 'ObRegisterCallbacks');
      const fail = (st: NTSTATUS, why: string): NTSTATUS => {
        b.k.rec.log('ObRegisterCallbacks', [reg.Altitude], st, why);
        return st;
      };
      // [DOC] ObRegisterCallbacks, return values
      if (!b.k.integrityCheck) return fail(STATUS_ACCESS_DENIED, 'linked without /INTEGRITYCHECK');
      if (reg.Version !== OB_FLT_REGISTRATION_VERSION) return fail(STATUS_INVALID_PARAMETER, `Version 0x${reg.Version.toString(16)}`);
      if (reg.OperationRegistration.length === 0) return fail(STATUS_INVALID_PARAMETER, 'OperationRegistrationCount 0');
      const operations: ObRegistration['operations'][number][] = [];
      for (const o of reg.OperationRegistration) {
        const type = o.ObjectType === b.k.ob.objects.objectType(0).type ? 'process' : o.ObjectType === b.k.ob.objects.objectType(1).type ? 'thread' : null;
        if (type === null) return fail(STATUS_INVALID_PARAMETER, 'an object type other than *PsProcessType or *PsThreadType');
        if ((o.Operations & ~(OB_OPERATION_HANDLE_CREATE | OB_OPERATION_HANDLE_DUPLICATE)) !== 0 || o.Operations === 0) return fail(STATUS_INVALID_PARAMETER, `Operations 0x${o.Operations.toString(16)}`);
        if (o.PreOperation === null && o.PostOperation === null) return fail(STATUS_INVALID_PARAMETER, 'neither a pre- nor a post-operation routine');
        operations.push({ type, ops: o.Operations, pre: o.PreOperation, post: o.PostOperation });
      }
      if (b.k.ob.callbacks.registrations.some((r) => r.altitude === reg.Altitude)) return fail(STATUS_FLT_INSTANCE_ALTITUDE_COLLISION, `altitude ${reg.Altitude} is taken`);
      const f = b.k.ke.faults.fault('ObRegisterCallbacks');
      if (f !== undefined) {
        b.k.rec.log('ObRegisterCallbacks', [reg.Altitude], f, undefined, true);
        return f;
      }
      const handle = b.mem.alloc(0x40, 'ObCb', 'kernel', { type: 'callback registration' });
      b.k.ob.callbacks.registrations.push({ handle, owner: b.driverName, altitude: reg.Altitude, context: reg.RegistrationContext, operations });
      out.value = handle;
      b.k.ke.cpus.syncRelease(handle); // published to the object manager's callback list: happens before every callback
      b.k.rec.log('ObRegisterCallbacks', [reg.Altitude], STATUS_SUCCESS, b.k.ke.hex(handle));
      return STATUS_SUCCESS;
    },
    ObUnRegisterCallbacks: (handle) => {
      const i = b.k.ob.callbacks.registrations.findIndex((r) => r.handle === handle);
      if (i < 0) {
        // the handle is a pointer the kernel dereferences: a bad one faults (CHOICE: 0x50 at the address)
        b.mem.check(handle, 1, false);
        throw new BugCheck(BUGCHECK_REFERENCE_BY_POINTER, [0, b.mem.canonical(handle), 0, 0], `ObUnRegisterCallbacks(${b.k.ke.hex(handle)}): not a registration handle`);
      }
      const r = b.k.ob.callbacks.registrations[i];
      b.k.ob.callbacks.registrations.splice(i, 1);
      b.mem.free(handle);
      b.k.rec.log('ObUnRegisterCallbacks', [b.k.ke.hex(handle)]);
      // several CPUs: it returns once the object callbacks in progress on other CPUs have (a CHOICE: kernel.ts)
      if (b.k.ke.cpus.rundownHeld(r)) b.k.ke.cpus.block({ what: `the object callbacks still running on other CPUs`, ready: () => !b.k.ke.cpus.rundownHeld(r), sync: handle }, { value: undefined });
      b.k.ke.cpus.syncAcquire(handle);
    },
    ObGetFilterVersion: () => OB_FLT_REGISTRATION_VERSION,
  };
}
