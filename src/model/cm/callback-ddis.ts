/**
 * CmRegisterCallbackEx, CmRegisterCallback, CmUnRegisterCallback, CmCallbackGetKeyObjectIDEx and its release,
 * CmCallbackGetKeyObjectID, CmGetCallbackVersion: the registry-callback registrations and the documented statuses
 * ([DOC] wdm/nf-wdm-cmregistercallbackex, wdm/nf-wdm-cmunregistercallback, wdm/nf-wdm-cmcallbackgetkeyobjectidex,
 * wdm/nf-wdm-cmcallbackreleasekeyobjectidex). cm/callbacks.ts calls the registered routines.
 */
import type { DdiBinding } from '../components.js';
import type { Ddi } from '../ddi.js';
import { BugCheck, BUGCHECK_BAD_POOL_CALLER } from '../ke/bugcheck.js';
import { requireExport, routineName } from '../mm/sysldr.js';
import { allocUnicodeString, freeUnicodeString } from '../rtl/unicode-string.js';
import { STATUS_FLT_INSTANCE_ALTITUDE_COLLISION, STATUS_INVALID_PARAMETER, STATUS_SUCCESS, type NTSTATUS } from '../status.js';
import { callbackVersion, type ExCallbackFunction } from './callback-types.js';

export type CmCallbackDdis = Pick<Ddi, 'CmRegisterCallbackEx' | 'CmRegisterCallback' | 'CmUnRegisterCallback' | 'CmCallbackGetKeyObjectIDEx' | 'CmCallbackReleaseKeyObjectIDEx' | 'CmCallbackGetKeyObjectID' | 'CmGetCallbackVersion'>;

/** CHOICE: the altitude CmRegisterCallback's registrations get, below any a driver can name. */
const LEGACY_ALTITUDE = '0';

export function cmCallbackDdis(b: DdiBinding): CmCallbackDdis {
  const register = (name: 'CmRegisterCallbackEx' | 'CmRegisterCallback', fn: ExCallbackFunction, altitude: string, context: number, cookie: { value: bigint }): NTSTATUS => {
    requireExport(b.k.ke.build, name);
    const cm = b.k.cm.callbacks;
    if (name === 'CmRegisterCallbackEx' && cm.registrations.some((r) => r.altitude === altitude)) {
      // [DOC] CmRegisterCallbackEx: "The calling driver or another driver has already registered ... at the specified altitude"
      b.k.rec.log(name, [altitude], STATUS_FLT_INSTANCE_ALTITUDE_COLLISION);
      return STATUS_FLT_INSTANCE_ALTITUDE_COLLISION;
    }
    const f = b.k.ke.faults.fault(name);
    if (f !== undefined) {
      b.k.rec.log(name, [altitude], f, undefined, true);
      return f;
    }
    const handle = b.mem.alloc(0x40, 'CmCb', 'kernel', { type: 'registry callback registration' });
    const value = cm.nextCookie;
    cm.nextCookie += 0x10n;
    cm.registrations.push({ cookie: value, owner: b.driverName, altitude, context, routine: fn, handle, load: b.k.loaded.loads });
    cookie.value = value;
    b.k.ke.cpus.syncRelease(handle); // published to the callback list: happens before every callback
    b.k.rec.log(name, [routineName(fn), altitude], STATUS_SUCCESS, `cookie 0x${value.toString(16)}`);
    return STATUS_SUCCESS;
  };

  /** The key an object pointer names: a key object of an operation in progress, else undefined. */
  const keyOf = (object: number): { path: string; id: number } | undefined => {
    const key = b.k.cm.callbacks.keyObjects.get(object);
    return key === undefined ? undefined : { path: key.path, id: b.k.cm.callbacks.controlBlock(key) };
  };

  return {
    CmRegisterCallbackEx: (fn, altitude, _driver, context, cookie) => register('CmRegisterCallbackEx', fn, altitude, context, cookie),
    CmRegisterCallback: (fn, context, cookie) => register('CmRegisterCallback', fn, LEGACY_ALTITUDE, context, cookie),
    CmUnRegisterCallback: (cookie) => {
      requireExport(b.k.ke.build, 'CmUnRegisterCallback');
      const cm = b.k.cm.callbacks;
      const i = cm.registrations.findIndex((r) => r.cookie === cookie);
      // [DOC] CmUnRegisterCallback: STATUS_INVALID_PARAMETER for a cookie that names no registration
      if (i < 0) {
        b.k.rec.log('CmUnRegisterCallback', [`0x${cookie.toString(16)}`], STATUS_INVALID_PARAMETER);
        return STATUS_INVALID_PARAMETER;
      }
      const r = cm.registrations[i];
      cm.registrations.splice(i, 1);
      b.mem.free(r.handle);
      b.k.rec.log('CmUnRegisterCallback', [`0x${cookie.toString(16)}`], STATUS_SUCCESS);
      const cpus = b.k.ke.cpus;
      // several CPUs: it returns once the callbacks in progress on other CPUs have (a CHOICE: cm/callbacks.ts)
      if (cpus.rundownHeld(r)) cpus.block({ what: 'the registry callbacks still running on other CPUs', ready: () => !cpus.rundownHeld(r), sync: r.handle }, { value: undefined });
      cpus.syncAcquire(r.handle);
      return STATUS_SUCCESS;
    },
    CmCallbackGetKeyObjectIDEx: (cookie, object, objectId, objectName, flags) => {
      requireExport(b.k.ke.build, 'CmCallbackGetKeyObjectIDEx');
      const cm = b.k.cm.callbacks;
      const key = keyOf(object);
      // [DOC] STATUS_INVALID_PARAMETER: Flags not 0, or a cookie or object the configuration manager does not know
      if (flags !== 0 || key === undefined || !cm.registrations.some((r) => r.cookie === cookie)) {
        b.k.rec.log('CmCallbackGetKeyObjectIDEx', [b.k.ke.hex(object)], STATUS_INVALID_PARAMETER);
        return STATUS_INVALID_PARAMETER;
      }
      if (objectId !== null) objectId.value = key.id;
      if (objectName !== null) {
        // a new string in paged pool on each call: the caller frees it with CmCallbackReleaseKeyObjectIDEx
        const us = allocUnicodeString(b.mem, key.path, 'kernel');
        const phase = b.k.rec.frame?.phase;
        cm.names.set(us, { key: key.path, routine: phase?.registry?.routine ?? phase?.phase ?? 'driver', op: b.k.rec.opIndex, ...(phase !== undefined ? { seq: phase.seq } : {}) });
        objectName.value = us;
      }
      b.k.rec.log('CmCallbackGetKeyObjectIDEx', [b.k.ke.hex(object)], STATUS_SUCCESS, key.path);
      return STATUS_SUCCESS;
    },
    CmCallbackReleaseKeyObjectIDEx: (objectName) => {
      requireExport(b.k.ke.build, 'CmCallbackReleaseKeyObjectIDEx');
      const cm = b.k.cm.callbacks;
      if (!cm.names.delete(objectName)) {
        // the string goes back to pool: one it never handed out (or already freed) is a bad free ([DOC] bug-check-0xc2, P1 7)
        throw new BugCheck(BUGCHECK_BAD_POOL_CALLER, [7, 0, b.mem.canonical(objectName), 0],
          `CmCallbackReleaseKeyObjectIDEx(${b.k.ke.hex(objectName)}): not a name CmCallbackGetKeyObjectIDEx returned, or one already released`);
      }
      b.k.rec.log('CmCallbackReleaseKeyObjectIDEx', [b.k.ke.hex(objectName)]);
      freeUnicodeString(b.mem, objectName);
    },
    CmCallbackGetKeyObjectID: (cookie, object, objectId, objectName) => {
      requireExport(b.k.ke.build, 'CmCallbackGetKeyObjectID');
      const cm = b.k.cm.callbacks;
      const key = keyOf(object);
      if (key === undefined || !cm.registrations.some((r) => r.cookie === cookie)) {
        b.k.rec.log('CmCallbackGetKeyObjectID', [b.k.ke.hex(object)], STATUS_INVALID_PARAMETER);
        return STATUS_INVALID_PARAMETER;
      }
      if (objectId !== null) objectId.value = key.id;
      // the configuration manager's own string, valid while the key object is (CHOICE: one per key, kept for the run)
      if (objectName !== null) objectName.value = cm.sharedName(key.path);
      b.k.rec.log('CmCallbackGetKeyObjectID', [b.k.ke.hex(object)], STATUS_SUCCESS, key.path);
      return STATUS_SUCCESS;
    },
    CmGetCallbackVersion: () => {
      requireExport(b.k.ke.build, 'CmGetCallbackVersion');
      return callbackVersion(b.k.ke.build);
    },
  };
}
