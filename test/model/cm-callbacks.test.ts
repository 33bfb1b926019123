import { describe, expect, test } from 'vitest';
import { regLayouts, REG_NOTIFY_CLASS } from '../../src/model/cm/callback-types.js';
import { simulate, type Ddi, type DriverImage, type RunRecord, type Scenario } from '../../src/model/index.js';
import { scenario, VOL } from '../helpers.js';

const CLASS_NAME = new Map(Object.entries(REG_NOTIFY_CLASS).map(([k, v]) => [v, k]));
const STATUS_ACCESS_DENIED = 0xc0000022;
const STATUS_CALLBACK_BYPASS = 0xc0000503;

interface Seen { cls: string; object?: number; status?: number; name?: string }

/**
 * A registry filter written against the DDIs: it records what each notification carried and answers as `answer`
 * says (the status for a class, and a ReturnStatus for a post-notification's bypass).
 */
function filter(seen: Seen[], answer: (cls: string, ddi: Ddi, info: number) => number = () => 0, options: { legacy?: boolean; unregister?: boolean } = {}): DriverImage {
  return {
    name: 'regfilter', imports: [options.legacy === true ? 'CmRegisterCallback' : 'CmRegisterCallbackEx'],
    instantiate: () => ({
      DriverEntry(ddi, DriverObject) {
        const cookie = { value: 0n };
        const routine = (_ctx: number, cls: number, info: number): number => {
          const name = CLASS_NAME.get(cls as never) ?? String(cls);
          const L = regLayouts(ddi.pointerSize);
          const s: Seen = { cls: name };
          if (name.startsWith('RegNtPost') && !name.endsWith('Key') || ['RegNtPostSetValueKey', 'RegNtPostDeleteValueKey', 'RegNtPostDeleteKey', 'RegNtPostRenameKey', 'RegNtPostQueryValueKey', 'RegNtPostCreateKeyEx', 'RegNtPostOpenKeyEx'].includes(name)) {
            s.object = ddi.READ_POINTER(info);
            s.status = ddi.READ_ULONG(info + L.post.Status) >>> 0;
          }
          if (name === 'RegNtPreSetValueKey') s.name = readString(ddi, ddi.READ_POINTER(info + L.setValue.ValueName));
          if (name === 'RegNtPreCreateKeyEx' || name === 'RegNtPreOpenKeyEx' || name === 'RegNtPreOpenKey') s.name = readString(ddi, ddi.READ_POINTER(info));
          seen.push(s);
          return answer(name, ddi, info);
        };
        const st = options.legacy === true ? ddi.CmRegisterCallback(routine, 0, cookie) : ddi.CmRegisterCallbackEx(routine, '385200', 0, 0, cookie);
        if (options.unregister !== false) DriverObject.DriverUnload = () => { ddi.CmUnRegisterCallback(cookie.value); };
        else DriverObject.DriverUnload = () => undefined;
        return st;
      },
    }),
  };
}

function readString(ddi: Ddi, us: number): string {
  const chars = ddi.READ_USHORT(us) >>> 1;
  const buf = ddi.READ_POINTER(us + ddi.pointerSize);
  let s = '';
  for (let i = 0; i < chars; i++) s += String.fromCharCode(ddi.READ_USHORT(buf + 2 * i));
  return s;
}

const P1: Scenario['ops'][number] = { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` };
const setUpdater: Scenario['ops'][number] = { op: 'RegistryOp', process: 'P1', operation: 'SetValue', key: 'run', name: 'Updater' };
const queryUpdater: Scenario['ops'][number] = { op: 'RegistryOp', process: 'P1', operation: 'QueryValue', key: 'run', name: 'Updater' };
const statuses = (r: RunRecord): string[] => (r.registry ?? []).map((o) => o.status);

describe('registry callbacks (CmRegisterCallbackEx) as the configuration manager calls them', () => {
  test('a value set: NtOpenKey\'s pre and post, then the set\'s; the registry keeps the value', () => {
    const seen: Seen[] = [];
    const r = simulate(filter(seen), scenario('win10-x64', [P1, setUpdater, queryUpdater]));
    expect(seen.slice(0, 4).map((s) => s.cls)).toEqual(['RegNtPreOpenKeyEx', 'RegNtPostOpenKeyEx', 'RegNtPreSetValueKey', 'RegNtPostSetValueKey']);
    expect(seen[0].name).toBe('\\REGISTRY\\MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run');
    expect(seen[2].name).toBe('Updater');
    expect(seen[3].status).toBe(0);
    expect(statuses(r)).toEqual(['STATUS_SUCCESS', 'STATUS_SUCCESS']);
    expect(r.phases.filter((p) => p.phase === 'RegistryCallback').every((p) => p.registry?.requester === 12)).toBe(true);
  });

  test('an error from a pre-notification blocks the operation: the caller gets it, no post-notification, nothing written', () => {
    const seen: Seen[] = [];
    const r = simulate(filter(seen, (cls) => (cls === 'RegNtPreSetValueKey' ? STATUS_ACCESS_DENIED : 0)), scenario('win10-x64', [P1, setUpdater, queryUpdater]));
    expect(seen.map((s) => s.cls).slice(0, 3)).toEqual(['RegNtPreOpenKeyEx', 'RegNtPostOpenKeyEx', 'RegNtPreSetValueKey']);
    expect(seen.map((s) => s.cls)).not.toContain('RegNtPostSetValueKey');
    expect(statuses(r)).toEqual(['STATUS_ACCESS_DENIED', 'STATUS_OBJECT_NAME_NOT_FOUND']);
    expect(r.registry?.[0].blocked).toEqual({ routine: 'routine', notifyClass: 'RegNtPreSetValueKey', returned: 'STATUS_ACCESS_DENIED' });
  });

  test('STATUS_CALLBACK_BYPASS from a pre-notification: the caller gets STATUS_SUCCESS and the registry does nothing', () => {
    const r = simulate(filter([], (cls) => (cls === 'RegNtPreSetValueKey' ? STATUS_CALLBACK_BYPASS : 0)), scenario('win10-x64', [P1, setUpdater, queryUpdater]));
    expect(statuses(r)).toEqual(['STATUS_SUCCESS', 'STATUS_OBJECT_NAME_NOT_FOUND']);
  });

  test('STATUS_CALLBACK_BYPASS from a post-notification: the caller gets ReturnStatus', () => {
    const r = simulate(filter([], (cls, ddi, info) => {
      if (cls !== 'RegNtPostSetValueKey') return 0;
      ddi.WRITE_ULONG(info + regLayouts(ddi.pointerSize).post.ReturnStatus, STATUS_ACCESS_DENIED);
      return STATUS_CALLBACK_BYPASS;
    }), scenario('win10-x86', [P1, setUpdater, queryUpdater]));
    // the value was written: the driver changed only what the caller was told
    expect(statuses(r)).toEqual(['STATUS_ACCESS_DENIED', 'STATUS_SUCCESS']);
  });

  test('a failed operation\'s post-notification: Object NULL from Windows 7 (callback version 1.1), the key object on Vista', () => {
    const del: Scenario['ops'] = [P1, { op: 'RegistryOp', process: 'P1', operation: 'DeleteValue', key: 'run', name: 'Updater' }];
    for (const [build, nullObject] of [['win7-x64', true], ['winvista-x86', false]] as const) {
      const seen: Seen[] = [];
      const r = simulate(filter(seen), scenario(build, del));
      const post = seen.find((s) => s.cls === 'RegNtPostDeleteValueKey');
      expect(post?.status).toBe(0xc0000034);
      expect(post?.object === 0).toBe(nullObject);
      expect(statuses(r)).toEqual(['STATUS_OBJECT_NAME_NOT_FOUND']);
    }
  });

  test('Windows XP: CmRegisterCallback, RegNtPreOpenKey/RegNtPostOpenKey, and no post-notification of a value set; Server 2003 raises them', () => {
    const xp: Seen[] = [];
    simulate(filter(xp, undefined, { legacy: true }), scenario('winxp-x86', [P1, setUpdater]));
    expect(xp.map((s) => s.cls)).toEqual(['RegNtPreOpenKey', 'RegNtPostOpenKey', 'RegNtPreSetValueKey']);
    const srv: Seen[] = [];
    simulate(filter(srv, undefined, { legacy: true }), scenario('win2003-x86', [P1, setUpdater]));
    expect(srv.map((s) => s.cls)).toEqual(['RegNtPreOpenKeyEx', 'RegNtPostOpenKeyEx', 'RegNtPreSetValueKey', 'RegNtPostSetValueKey']);
  });

  test('the registry itself: a key with subkeys is not deleted, a new key is created, a rename moves the key', () => {
    const r = simulate(filter([]), scenario('win10-x64', [P1,
      { op: 'RegistryOp', process: 'P1', operation: 'DeleteKey', key: 'service' },
      { op: 'RegistryOp', process: 'P1', operation: 'CreateKey', key: 'app' },
      { op: 'RegistryOp', process: 'System', operation: 'RenameKey', key: 'app', name: 'AppOld' },
      { op: 'RegistryOp', process: 'P1', operation: 'OpenKey', key: 'app' },
      { op: 'RegistryOp', process: 'P1', operation: 'QueryValue', key: 'service', name: 'ImagePath', upperCase: true },
    ]));
    expect(statuses(r)).toEqual(['STATUS_CANNOT_DELETE', 'STATUS_SUCCESS', 'STATUS_SUCCESS', 'STATUS_OBJECT_NAME_NOT_FOUND', 'STATUS_SUCCESS']);
    expect(r.registry?.[4].key).toBe('\\REGISTRY\\MACHINE\\SYSTEM\\CURRENTCONTROLSET\\SERVICES\\REGFILTER');
    expect(r.registry?.[4].target).toBe('\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Services\\regfilter');
  });

  test('a callback DriverUnload leaves registered is called in the freed image: 0xCE', () => {
    const r = simulate(filter([], undefined, { unregister: false }), scenario('win10-x64', [P1, { op: 'UnloadDriver' }, setUpdater]));
    expect(r.bugCheck?.code).toBe(0xce);
    expect(r.bugCheck?.reason).toMatch(/registry callback routine \(altitude 385200\) called for RegNtPreOpenKeyEx after regfilter\.sys was unloaded/);
    expect(r.phases.find((p) => p.phase === 'DriverUnload')?.residue?.registrations).toEqual(['registry callback routine at altitude 385200']);
  });
});

describe('the registration DDIs and key-object names', () => {
  function calls(build: string, body: (ddi: Ddi, cookie: { value: bigint }) => unknown[], ops: Scenario['ops'] = []): { out: unknown[]; record: RunRecord } {
    let out: unknown[] = [];
    const image: DriverImage = {
      name: 'registrar', imports: ['CmRegisterCallbackEx'],
      instantiate: () => ({
        DriverEntry(ddi) {
          const cookie = { value: 0n };
          ddi.CmRegisterCallbackEx((_c, cls, info) => {
            if (cls === REG_NOTIFY_CLASS.RegNtPreSetValueKey) out = body(ddi, cookie).concat([ddi.READ_POINTER(info)]);
            return 0;
          }, '385200', 0, 0, cookie);
          if (ops.length === 0) out = body(ddi, cookie);
          return 0;
        },
      }),
    };
    const record = simulate(image, scenario(build, ops));
    return { out, record };
  }

  test('an altitude taken is STATUS_FLT_INSTANCE_ALTITUDE_COLLISION; an unknown cookie STATUS_INVALID_PARAMETER; the version 1.1 from Windows 7', () => {
    const { out } = calls('win10-x64', (ddi, cookie) => [
      ddi.CmRegisterCallbackEx(() => 0, '385200', 0, 0, { value: 0n }) >>> 0,
      ddi.CmUnRegisterCallback(cookie.value + 1n) >>> 0,
      ddi.CmGetCallbackVersion(),
      ddi.CmUnRegisterCallback(cookie.value) >>> 0,
    ]);
    expect(out).toEqual([0xc01c0011, 0xc000000d, { major: 1, minor: 1 }, 0]);
    expect(calls('winvista-x64', (ddi) => [ddi.CmGetCallbackVersion()]).out).toEqual([{ major: 1, minor: 0 }]);
  });

  test('CmCallbackGetKeyObjectID: the configuration manager\'s own name, the same string each time; an object or a cookie it does not know, STATUS_INVALID_PARAMETER', () => {
    const ops: Scenario['ops'] = [P1, { op: 'RegistryOp', process: 'P1', operation: 'SetValue', key: 'service', name: 'Start' }];
    const seen: unknown[] = [];
    const image: DriverImage = {
      name: 'namer', imports: ['CmRegisterCallbackEx'],
      instantiate: () => ({
        DriverEntry(ddi) {
          const cookie = { value: 0n };
          ddi.CmRegisterCallbackEx((_c, cls, info) => {
            if (cls !== REG_NOTIFY_CLASS.RegNtPreSetValueKey) return 0;
            const object = ddi.READ_POINTER(info);
            const id = { value: 0 };
            const first = { value: 0 };
            const second = { value: 0 };
            seen.push(ddi.CmCallbackGetKeyObjectID(cookie.value, object, id, first) >>> 0);
            seen.push(ddi.CmCallbackGetKeyObjectID(cookie.value, object, null, second) >>> 0);
            seen.push(readString(ddi, first.value), first.value === second.value, id.value !== 0);
            seen.push(ddi.CmCallbackGetKeyObjectID(cookie.value, info, id, first) >>> 0);
            seen.push(ddi.CmCallbackGetKeyObjectID(cookie.value + 1n, object, id, first) >>> 0);
            return 0;
          }, '385200', 0, 0, cookie);
          return 0;
        },
      }),
    };
    const r = simulate(image, scenario('win7-x86', ops));
    expect(r.bugCheck).toBeNull();
    expect(seen).toEqual([0, 0, '\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Services\\namer', true, true, 0xc000000d, 0xc000000d]);
  });

  test('a fault plan that fails CmRegisterCallbackEx: DriverEntry sees the status; no registration, no callback', () => {
    const seen: Seen[] = [];
    const r = simulate(filter(seen), scenario('win10-x64', [P1, setUpdater], { faults: [{ ddi: 'CmRegisterCallbackEx', nth: 1, status: 0xc000009a }] }));
    expect(seen).toEqual([]);
    const registration = r.phases.flatMap((p) => p.ddi).find((c) => c.name === 'CmRegisterCallbackEx');
    expect(registration).toMatchObject({ status: 'STATUS_INSUFFICIENT_RESOURCES', faulted: true });
    expect(statuses(r)).toEqual(['STATUS_SUCCESS']);
  });

  test('CmCallbackGetKeyObjectIDEx: the key\'s full name in a new string, an ID stable for the key, Flags must be 0; a release of a name twice is 0xC2', () => {
    const ops: Scenario['ops'] = [P1, { op: 'RegistryOp', process: 'P1', operation: 'SetValue', key: 'service', name: 'Start' }];
    // the name, the ID, and the release: through a driver that asks in its own callback
    const seen: unknown[] = [];
    const image: DriverImage = {
      name: 'namer', imports: ['CmRegisterCallbackEx'],
      instantiate: () => ({
        DriverEntry(ddi) {
          const cookie = { value: 0n };
          ddi.CmRegisterCallbackEx((_c, cls, info) => {
            if (cls !== REG_NOTIFY_CLASS.RegNtPreSetValueKey) return 0;
            const id = { value: 0 };
            const name = { value: 0 };
            seen.push(ddi.CmCallbackGetKeyObjectIDEx(cookie.value, ddi.READ_POINTER(info), id, name, 1) >>> 0);
            seen.push(ddi.CmCallbackGetKeyObjectIDEx(cookie.value, ddi.READ_POINTER(info), id, name, 0) >>> 0);
            seen.push(readString(ddi, name.value), id.value !== 0);
            ddi.CmCallbackReleaseKeyObjectIDEx(name.value);
            ddi.CmCallbackReleaseKeyObjectIDEx(name.value);
            return 0;
          }, '385200', 0, 0, cookie);
          return 0;
        },
      }),
    };
    const r = simulate(image, scenario('win10-x64', ops));
    expect(seen).toEqual([0xc000000d, 0, '\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Services\\namer', true]);
    expect(r.bugCheck?.code).toBe(0xc2);
    expect(r.bugCheck?.parameters[0]).toBe('0x7');
  });

  test('a name the driver still holds when DriverUnload returns is in the end state; one released is not', () => {
    const holder = (release: boolean): DriverImage => ({
      name: 'holder', imports: ['CmRegisterCallbackEx'],
      instantiate: () => ({
        DriverEntry(ddi, DriverObject) {
          const cookie = { value: 0n };
          ddi.CmRegisterCallbackEx((_c, cls, info) => {
            if (cls !== REG_NOTIFY_CLASS.RegNtPreSetValueKey) return 0;
            const name = { value: 0 };
            ddi.CmCallbackGetKeyObjectIDEx(cookie.value, ddi.READ_POINTER(info), null, name, 0);
            if (release) ddi.CmCallbackReleaseKeyObjectIDEx(name.value);
            return 0;
          }, '385200', 0, 0, cookie);
          DriverObject.DriverUnload = () => { ddi.CmUnRegisterCallback(cookie.value); };
          return 0;
        },
      }),
    });
    const ops: Scenario['ops'] = [P1, setUpdater, { op: 'UnloadDriver' }];
    const leaked = simulate(holder(false), scenario('win11-x64', ops));
    expect(leaked.end?.keyObjectNames).toEqual([{ key: '\\REGISTRY\\MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run', routine: 'anonymous', op: 1, seq: expect.any(Number), unload: expect.any(Number) }]);
    expect(simulate(holder(true), scenario('win11-x64', ops)).end?.keyObjectNames).toBeUndefined();
  });
});
