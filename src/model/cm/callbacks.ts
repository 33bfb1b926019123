/**
 * Registry callbacks as the configuration manager calls them: a thread opens or creates a key, sets, queries or
 * deletes a value, deletes or renames a key, and every registered RegistryCallback routine runs in that thread's
 * context at PASSIVE_LEVEL, first with the pre-notification, then — once the registry has done the operation — with
 * the post-notification ([DOC] kernel/filtering-registry-calls, kernel/handling-notifications):
 *  - a pre-notification that returns an error status blocks the operation: the caller gets that status at once and
 *    no post-notification follows;
 *  - STATUS_CALLBACK_BYPASS from a pre-notification: the driver did the operation itself, the caller gets
 *    STATUS_SUCCESS and the registry does nothing;
 *  - STATUS_CALLBACK_BYPASS from a post-notification: the caller gets REG_POST_OPERATION_INFORMATION.ReturnStatus;
 *  - from Windows 7 (callback version 1.1) the post-notification's Object is NULL when the operation failed
 *    ([DOC] wdm/nf-wdm-cmgetcallbackversion).
 * Every operation but a create or an open first opens the key (NtOpenKey with the access the operation needs), as
 * RegSetValueEx and the others do. Windows XP raises RegNtPreCreateKey/RegNtPreOpenKey and, after them,
 * RegNtPostCreateKey/RegNtPostOpenKey on success only, and no other post-notification; the Ex classes and every
 * post-notification from Windows Server 2003 ([DOC] wdm/ne-wdm-_reg_notify_class).
 * CHOICE: pre-notifications in descending altitude, post-notifications in ascending (the filter manager's order);
 * a block stops the operation for every registration (none gets a post-notification); key-handle-close
 * notifications are not raised. The registration routines: cm/callback-ddis.ts.
 */
import { BugCheck, BUGCHECK_DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS } from '../ke/bugcheck.js';
import type { KernelCore } from '../ke/core.js';
import { Shadow } from '../mm/memory.js';
import { routineName } from '../mm/sysldr.js';
import type { KProcess, KThread } from '../ps/objects.js';
import type { Processes } from '../ps/processes.js';
import type { RegistryOpRecord } from '../record.js';
import { allocUnicodeString, freeUnicodeString } from '../rtl/unicode-string.js';
import { NT_SUCCESS, STATUS_CALLBACK_BYPASS, STATUS_SUCCESS, statusName, type NTSTATUS } from '../status.js';
import {
  DELETE, KEY_QUERY_VALUE, KEY_SET_VALUE, KEY_WRITE, REG_CREATED_NEW_KEY, REG_NOTIFY_CLASS, REG_OPENED_EXISTING_KEY, regLayouts, type CmRegistration, type RegNotifyClassName,
} from './callback-types.js';
import { keyPath, Registry, valueData, type RegistryKey, type RegistryKeyLabel } from './registry.js';

export type RegistryOperation = 'CreateKey' | 'OpenKey' | 'SetValue' | 'DeleteValue' | 'QueryValue' | 'DeleteKey' | 'RenameKey';

/** A registry operation as a scenario names it. */
export interface RegistryRequest {
  readonly operation: RegistryOperation;
  readonly key: RegistryKeyLabel;
  /** SetValue, DeleteValue, QueryValue: the value's name. RenameKey: the new name. */
  readonly name?: string;
  /** The caller spells the key's path in capitals (the registry is case-insensitive). */
  readonly upperCase?: boolean;
}

/** A name CmCallbackGetKeyObjectIDEx handed out and CmCallbackReleaseKeyObjectIDEx has not taken back. */
export interface KeyObjectName {
  readonly key: string;
  readonly routine: string;
  readonly op: number;
  /** The phase (the routine's call) that took it. */
  readonly seq?: number;
  /** The DriverUnload (its phase's seq) that returned while the driver still held it. */
  unload?: number;
}

/** What the operation's callbacks share. */
interface Notification {
  readonly thread: KThread;
  readonly requester: KProcess;
  readonly rec: RegistryOpRecord;
}

const ACCESS: Record<RegistryOperation, number> = {
  CreateKey: KEY_WRITE, OpenKey: KEY_QUERY_VALUE, SetValue: KEY_SET_VALUE, DeleteValue: KEY_SET_VALUE, QueryValue: KEY_QUERY_VALUE, DeleteKey: DELETE, RenameKey: KEY_WRITE,
};

export class CmCallbacks {
  /** @internal registry-callback registrations (CmRegisterCallback/Ex) */
  readonly registrations: CmRegistration[] = [];
  /** @internal names CmCallbackGetKeyObjectIDEx gave out, by their UNICODE_STRING's address */
  readonly names = new Map<number, KeyObjectName>();
  /** @internal key objects (CM_KEY_BODY) of open keys, by address */
  readonly keyObjects = new Map<number, RegistryKey>();
  /** Key control blocks: a key's ObjectID for CmCallbackGetKeyObjectIDEx, stable while the key lives. */
  private readonly controlBlocks = new Map<RegistryKey, number>();
  private registry: Registry | null = null;
  /** CmCallbackGetKeyObjectID's names: the configuration manager's own, one per key path. */
  private readonly shared = new Map<string, number>();
  /** The cookie the next registration gets. */
  nextCookie = 0x1000n;

  constructor(private readonly ke: KernelCore, private readonly processes: Processes) {}

  /** The hive (made at the first registry operation, with the driver's name as its service name). */
  get hive(): Registry {
    this.registry ??= new Registry(this.ke.loaded.name);
    return this.registry;
  }

  /** @internal ObjectID of a key: its control block's address. */
  controlBlock(key: RegistryKey): number {
    let kcb = this.controlBlocks.get(key);
    if (kcb === undefined) {
      kcb = this.ke.mem.alloc(0x40, 'CmKc', 'kernel', { type: 'CM_KEY_CONTROL_BLOCK' });
      this.controlBlocks.set(key, kcb);
    }
    return kcb;
  }

  /** @internal DriverUnload returned: every name the driver still holds is one it will never release */
  unloaded(seq: number): void {
    for (const name of this.names.values()) name.unload ??= seq;
  }

  /** @internal the name CmCallbackGetKeyObjectID returns for a key (the caller does not free it) */
  sharedName(path: string): number {
    let us = this.shared.get(path);
    if (us === undefined) {
      us = allocUnicodeString(this.ke.mem, path, 'kernel');
      this.shared.set(path, us);
    }
    return us;
  }

  /** @internal a registry operation from `requester` (the System process: a kernel-mode caller) */
  *operationG(requester: KProcess, request: RegistryRequest): Generator<void, RegistryOpRecord, void> {
    const { ke } = this;
    ke.assertRunning();
    const hive = this.hive;
    const full = keyPath(request.key, hive.service);
    const path = request.upperCase === true ? full.toUpperCase() : full;
    const rec: RegistryOpRecord = {
      op: ke.rec.opIndex, pid: requester.pid, process: requester.name, operation: request.operation, key: path,
      ...(request.name !== undefined ? { name: request.name } : {}), status: '', native: '', registered: false,
    };
    const held = this.driverRegistration();
    (ke.rec.record.registry ??= []).push(rec);
    const thread = requester === this.processes.system ? this.processes.systemThread() : this.processes.creatorThread(requester);
    const n: Notification = { thread, requester, rec };
    const opened = yield* this.openG(n, path, request.operation === 'CreateKey', ACCESS[request.operation]);
    if (opened.object === 0) {
      rec.status = statusName(opened.status);
      rec.registered = held !== undefined && held === this.driverRegistration();
      return rec;
    }
    let status = opened.status;
    try {
      if (request.operation !== 'CreateKey' && request.operation !== 'OpenKey') status = yield* this.onKeyG(n, opened.object, request);
    } finally {
      this.keyObjects.delete(opened.object);
      ke.mem.free(opened.object);
    }
    rec.status = statusName(status);
    rec.registered = held !== undefined && held === this.driverRegistration();
    return rec;
  }

  /** The registry callback the driver's current load has registered, while its image is loaded (not one an earlier load left). */
  private driverRegistration(): CmRegistration | undefined {
    const { loaded } = this.ke;
    return loaded.state === 'loaded' ? this.registrations.find((r) => r.owner === loaded.name && r.load === loaded.loads) : undefined;
  }

  /** NtCreateKey / NtOpenKey with its notifications: the key object, or 0 with the status the caller gets. */
  private *openG(n: Notification, path: string, create: boolean, access: number): Generator<void, { object: number; status: NTSTATUS }, void> {
    const { ke } = this;
    const mem = ke.mem;
    const build = ke.build;
    const xp = build.buildNumber < 3790;
    const L = regLayouts(build.pointerSize);
    const name = allocUnicodeString(mem, path, 'kernel');
    const v1 = build.major > 6 || (build.major === 6 && build.minor >= 1);
    const info = mem.alloc(xp ? L.preCreateXp.size : v1 ? L.createKey.sizeV1 : L.createKey.size, 'CmCb', 'kernel', { type: 'REG_CREATE_KEY_INFORMATION' });
    const disposition = mem.alloc(4, 'CmCb', 'kernel', { type: 'Disposition', driverWritable: true });
    const result = mem.alloc(build.pointerSize, 'CmCb', 'kernel', { type: 'ResultObject', driverWritable: true });
    // the path is absolute: RootObject is the \REGISTRY key's object
    const root = mem.alloc(0x40, 'CmKb', 'kernel', { type: 'CM_KEY_BODY' });
    this.keyObjects.set(root, this.hive.root);
    try {
      mem.setPtr(info, name);
      if (!xp) {
        mem.setPtr(info + L.createKey.RootObject, root);
        mem.mark(info + L.createKey.CallContext, build.pointerSize, Shadow.Owned);
        mem.setU32(info + L.createKey.DesiredAccess, access);
        mem.setPtr(info + L.createKey.Disposition, disposition);
        mem.setPtr(info + L.createKey.ResultObject, result);
        if (v1) {
          mem.setPtr(info + L.createKey.Version, 1);
          mem.setPtr(info + L.createKey.RemainingName, name);
        }
      }
      const pre = xp ? (create ? 'RegNtPreCreateKey' : 'RegNtPreOpenKey') : create ? 'RegNtPreCreateKeyEx' : 'RegNtPreOpenKeyEx';
      const blocked = yield* this.preG(n, pre, info);
      if (blocked !== undefined) return { object: 0, status: blocked };
      const hive = this.hive;
      const done = create ? hive.create(path) : (() => {
        const key = hive.lookup(path);
        return key === undefined ? { status: 0xc0000034, key: undefined, created: undefined } : { status: STATUS_SUCCESS, key, created: false };
      })();
      let object = 0;
      if (done.key !== undefined) {
        object = mem.alloc(0x40, 'CmKb', 'kernel', { type: 'CM_KEY_BODY' });
        this.keyObjects.set(object, done.key);
        if (!xp) {
          mem.setU32(disposition, done.created === true ? REG_CREATED_NEW_KEY : REG_OPENED_EXISTING_KEY);
          mem.setPtr(result, object);
        }
      }
      n.rec.native ||= statusName(done.status);
      let status: NTSTATUS = done.status;
      if (xp) {
        // RegNtPostCreateKey/RegNtPostOpenKey: a key created or opened successfully
        if (object !== 0) {
          const post = mem.alloc(L.postCreateXp.size, 'CmCb', 'kernel', { type: 'REG_POST_CREATE_KEY_INFORMATION' });
          mem.setPtr(post, name);
          mem.setPtr(post + L.postCreateXp.Object, object);
          mem.setU32(post + L.postCreateXp.Status, status);
          yield* this.postG(n, create ? 'RegNtPostCreateKey' : 'RegNtPostOpenKey', post, status);
          mem.free(post);
        }
      } else {
        status = yield* this.postInformationG(n, create ? 'RegNtPostCreateKeyEx' : 'RegNtPostOpenKeyEx', object, status, info);
      }
      if (!NT_SUCCESS(status) && object !== 0) {
        this.keyObjects.delete(object);
        mem.free(object);
        object = 0;
      }
      return { object, status };
    } finally {
      this.keyObjects.delete(root);
      mem.free(root);
      mem.free(result);
      mem.free(disposition);
      mem.free(info);
      freeUnicodeString(mem, name);
    }
  }

  /** The operation on an open key, with its notifications. */
  private *onKeyG(n: Notification, object: number, request: RegistryRequest): Generator<void, NTSTATUS, void> {
    const { ke } = this;
    const mem = ke.mem;
    const ps = ke.build.pointerSize;
    const L = regLayouts(ps);
    const key = this.keyObjects.get(object) as RegistryKey;
    const hive = this.hive;
    const valueName = request.name ?? '';
    const name = allocUnicodeString(mem, valueName, 'kernel');
    const { type, data } = valueData(valueName, `C:\\Users\\Public\\${valueName.toLowerCase()}.exe`);
    let info = 0;
    let buffer = 0;
    let pre: RegNotifyClassName;
    let post: RegNotifyClassName;
    let perform: () => NTSTATUS;
    switch (request.operation) {
      case 'SetValue':
        info = mem.alloc(L.setValue.size, 'CmCb', 'kernel', { type: 'REG_SET_VALUE_KEY_INFORMATION' });
        buffer = mem.alloc(data.length, 'CmCb', 'kernel', { type: 'value data' });
        for (let i = 0; i < data.length; i++) mem.setU8(buffer + i, data[i]);
        mem.setPtr(info + L.setValue.ValueName, name);
        mem.setU32(info + L.setValue.Type, type);
        mem.setPtr(info + L.setValue.Data, buffer);
        mem.setU32(info + L.setValue.DataSize, data.length);
        mem.mark(info + L.setValue.CallContext, ps, Shadow.Owned);
        [pre, post, perform] = ['RegNtPreSetValueKey', 'RegNtPostSetValueKey', () => hive.setValue(key, valueName, type, data)];
        break;
      case 'DeleteValue':
      case 'RenameKey':
        info = mem.alloc(L.deleteValue.size, 'CmCb', 'kernel', { type: request.operation === 'RenameKey' ? 'REG_RENAME_KEY_INFORMATION' : 'REG_DELETE_VALUE_KEY_INFORMATION' });
        mem.setPtr(info + L.deleteValue.ValueName, name);
        mem.mark(info + L.deleteValue.CallContext, ps, Shadow.Owned);
        [pre, post, perform] = request.operation === 'RenameKey'
          ? ['RegNtPreRenameKey', 'RegNtPostRenameKey', () => hive.renameKey(key, valueName)]
          : ['RegNtPreDeleteValueKey', 'RegNtPostDeleteValueKey', () => hive.deleteValue(key, valueName)];
        break;
      case 'DeleteKey':
        info = mem.alloc(L.deleteKey.size, 'CmCb', 'kernel', { type: 'REG_DELETE_KEY_INFORMATION' });
        mem.mark(info + L.deleteKey.CallContext, ps, Shadow.Owned);
        [pre, post, perform] = ['RegNtPreDeleteKey', 'RegNtPostDeleteKey', () => hive.deleteKey(key)];
        break;
      default: {
        // QueryValue: KeyValuePartialInformation into the caller's 64-byte buffer
        info = mem.alloc(L.queryValue.size, 'CmCb', 'kernel', { type: 'REG_QUERY_VALUE_KEY_INFORMATION' });
        buffer = mem.alloc(64 + 4, 'CmCb', 'kernel', { type: 'KEY_VALUE_PARTIAL_INFORMATION', driverWritable: true });
        mem.setPtr(info + L.queryValue.ValueName, name);
        mem.setU32(info + L.queryValue.KeyValueInformationClass, 2);
        mem.setPtr(info + L.queryValue.KeyValueInformation, buffer);
        mem.setU32(info + L.queryValue.Length, 64);
        mem.setPtr(info + L.queryValue.ResultLength, buffer + 64);
        mem.mark(info + L.queryValue.CallContext, ps, Shadow.Owned);
        [pre, post, perform] = ['RegNtPreQueryValueKey', 'RegNtPostQueryValueKey', () => hive.queryValue(key, valueName).status];
      }
    }
    try {
      mem.setPtr(info, object);
      n.rec.target = key.path;
      const blocked = yield* this.preG(n, pre, info);
      if (blocked !== undefined) return blocked;
      // where the operation lands: a rename on another CPU, while the pre-notifications ran, moved the key
      n.rec.target = key.path;
      const status = perform();
      n.rec.native = statusName(status);
      if (ke.build.buildNumber < 3790) return status;
      return yield* this.postInformationG(n, post, object, status, info);
    } finally {
      if (buffer !== 0) mem.free(buffer);
      mem.free(info);
      freeUnicodeString(mem, name);
    }
  }

  /** The pre-notification: undefined to go on, else the status the caller gets. */
  private *preG(n: Notification, cls: RegNotifyClassName, info: number): Generator<void, NTSTATUS | undefined, void> {
    for (const r of this.ordered(false)) {
      const st = yield* this.callG(n, r, cls, info);
      if (st === null || NT_SUCCESS(st)) continue;
      // the driver's status ends the operation: bypass means it did the work itself
      const status = st === STATUS_CALLBACK_BYPASS ? STATUS_SUCCESS : st;
      n.rec.blocked = { routine: routineName(r.routine), notifyClass: cls, returned: statusName(st) };
      return status;
    }
    return undefined;
  }

  /** A REG_POST_OPERATION_INFORMATION post-notification: the status the caller gets. */
  private *postInformationG(n: Notification, cls: RegNotifyClassName, object: number, status: NTSTATUS, preInformation: number): Generator<void, NTSTATUS, void> {
    const { ke } = this;
    const mem = ke.mem;
    const L = regLayouts(ke.build.pointerSize);
    const post = mem.alloc(L.post.size, 'CmCb', 'kernel', { type: 'REG_POST_OPERATION_INFORMATION' });
    const v11 = ke.build.major > 6 || (ke.build.major === 6 && ke.build.minor >= 1);
    mem.setPtr(post, NT_SUCCESS(status) || !v11 ? object : 0);
    mem.setU32(post + L.post.Status, status);
    mem.setPtr(post + L.post.PreInformation, preInformation);
    mem.mark(post + L.post.ReturnStatus, 4, Shadow.Owned);
    mem.mark(post + L.post.CallContext, ke.build.pointerSize, Shadow.Owned);
    try {
      return yield* this.postG(n, cls, post, status);
    } finally {
      mem.free(post);
    }
  }

  private *postG(n: Notification, cls: RegNotifyClassName, post: number, status: NTSTATUS): Generator<void, NTSTATUS, void> {
    const L = regLayouts(this.ke.build.pointerSize);
    let result = status;
    for (const r of this.ordered(true)) {
      const st = yield* this.callG(n, r, cls, post);
      if (st === STATUS_CALLBACK_BYPASS && this.ke.build.buildNumber >= 6000) {
        result = this.ke.mem.u32(post + L.post.ReturnStatus) >>> 0;
        n.rec.blocked ??= { routine: routineName(r.routine), notifyClass: cls, returned: `${statusName(st)} (ReturnStatus ${statusName(result)})` };
      }
    }
    return result;
  }

  private ordered(ascending: boolean): CmRegistration[] {
    const byAltitude = (a: CmRegistration, b: CmRegistration): number => (a.altitude < b.altitude ? -1 : a.altitude > b.altitude ? 1 : 0);
    const all = this.registrations.slice().sort(byAltitude);
    return ascending ? all : all.reverse();
  }

  /** One RegistryCallback call: what it returned, or null when its registration went away first. */
  private *callG(n: Notification, r: CmRegistration, cls: RegNotifyClassName, info: number): Generator<void, NTSTATUS | null, void> {
    const { ke } = this;
    const { rec, loaded, cpus } = ke;
    const routine = routineName(r.routine);
    // several CPUs: a scheduling point before the configuration manager takes the registration
    if (cpus.sched !== null && cpus.sched.point(`${routine} starts`)) yield;
    if (!this.registrations.includes(r)) return null;
    const phase = rec.beginPhase('RegistryCallback');
    phase.registry = { notifyClass: cls, routine, altitude: r.altitude, operation: n.rec.operation, key: n.rec.key, requester: n.requester.pid };
    if (loaded.state === 'unloaded' || loaded.state === 'failed-load') {
      // the routine's code is gone ([DOC] bug-check-0xce)
      phase.outcome = 'bugcheck';
      ke.crash(new BugCheck(BUGCHECK_DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS, [0, 0, 0, 0],
        `registry callback ${routine} (altitude ${r.altitude}) called for ${cls} after ${loaded.name}.sys was unloaded`), 'RegistryCallback', phase.seq);
    }
    let st: NTSTATUS = STATUS_SUCCESS;
    const fn = (): void => {
      st = r.routine(r.context, REG_NOTIFY_CLASS[cls], info) >>> 0;
    };
    // CHOICE: CmUnRegisterCallback waits for the callbacks in progress (the WDK only says to call it before unloading)
    cpus.acquireRundown(r);
    if (cpus.sched !== null) cpus.syncAcquire(r.handle);
    try {
      yield* ke.inContext(n.thread, () => ke.runDriverCode(phase, null, fn, false));
    } finally {
      cpus.releaseRundown(r);
      if (cpus.sched !== null) cpus.syncRelease(r.handle);
    }
    rec.frame = null;
    phase.status = statusName(st);
    return st;
  }
}
