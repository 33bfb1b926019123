/**
 * A small registry: the keys a sensor watches and the generated processes touch — the driver's own service key,
 * another service's, one whose name begins with the driver's, the machine's and a user's Run keys, an application's
 * key. Names are case-insensitive and keep the case they were created with ([DOC] kernel/registry-key-object-routines;
 * ZwDeleteKey: a key with subkeys is not deleted). Operations return the status the configuration manager would.
 */
import { STATUS_CANNOT_DELETE, STATUS_KEY_DELETED, STATUS_OBJECT_NAME_COLLISION, STATUS_OBJECT_NAME_NOT_FOUND, STATUS_SUCCESS, type NTSTATUS } from '../status.js';
import { REG_DWORD, REG_EXPAND_SZ, REG_SZ } from './callback-types.js';

export interface RegistryValue {
  readonly name: string;
  readonly type: number;
  readonly data: Uint8Array;
}

export interface RegistryKey {
  /** The full path as created, `\REGISTRY\MACHINE\...`. */
  path: string;
  readonly values: Map<string, RegistryValue>;
  readonly subkeys: Map<string, RegistryKey>;
  parent: RegistryKey | null;
  deleted: boolean;
}

/** The keys a scenario names (op.key), by label. `%SERVICE%` is the driver's service name. */
export const REGISTRY_KEYS = {
  service: '\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Services\\%SERVICE%',
  'service-parameters': '\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Services\\%SERVICE%\\Parameters',
  'service-sibling': '\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Services\\%SERVICE%Helper',
  'other-service': '\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters',
  run: '\\REGISTRY\\MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run',
  'user-run': '\\REGISTRY\\USER\\S-1-5-21-1004336348-1177238915-682003330-1001\\Software\\Microsoft\\Windows\\CurrentVersion\\Run',
  app: '\\REGISTRY\\MACHINE\\SOFTWARE\\Contoso\\App',
} as const;
export type RegistryKeyLabel = keyof typeof REGISTRY_KEYS;
export const REGISTRY_KEY_LABELS = Object.keys(REGISTRY_KEYS) as RegistryKeyLabel[];

/** The value names a scenario sets, queries and deletes. */
export const REGISTRY_VALUE_NAMES = ['ImagePath', 'Start', 'Updater', 'Setting'] as const;
export type RegistryValueName = (typeof REGISTRY_VALUE_NAMES)[number];

export function keyPath(label: RegistryKeyLabel, service: string): string {
  return REGISTRY_KEYS[label].replace('%SERVICE%', service);
}

function wide(text: string): Uint8Array {
  const out = new Uint8Array(2 * text.length + 2);
  for (let i = 0; i < text.length; i++) {
    out[2 * i] = text.charCodeAt(i) & 0xff;
    out[2 * i + 1] = text.charCodeAt(i) >>> 8;
  }
  return out;
}

export function dword(v: number): Uint8Array {
  return new Uint8Array([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]);
}

/** The data a scenario writes to a value: a DWORD for Start, a string for the rest. */
export function valueData(name: string, fill: string): { type: number; data: Uint8Array } {
  return name === 'Start' ? { type: REG_DWORD, data: dword(4) } : { type: REG_SZ, data: wide(fill) };
}

export class Registry {
  readonly root: RegistryKey = { path: '\\REGISTRY', values: new Map(), subkeys: new Map(), parent: null, deleted: false };

  /** The hive at boot, with `service` as the driver's service name. */
  constructor(readonly service: string) {
    const svc = this.ensure(keyPath('service', service));
    svc.values.set('IMAGEPATH', { name: 'ImagePath', type: REG_EXPAND_SZ, data: wide(`\\SystemRoot\\System32\\drivers\\${service}.sys`) });
    svc.values.set('START', { name: 'Start', type: REG_DWORD, data: dword(3) });
    svc.values.set('TYPE', { name: 'Type', type: REG_DWORD, data: dword(1) });
    this.ensure(keyPath('service-parameters', service));
    const sibling = this.ensure(keyPath('service-sibling', service));
    sibling.values.set('START', { name: 'Start', type: REG_DWORD, data: dword(3) });
    this.ensure(keyPath('other-service', service));
    const run = this.ensure(keyPath('run', service));
    run.values.set('SECURITYHEALTH', { name: 'SecurityHealth', type: REG_EXPAND_SZ, data: wide('%windir%\\system32\\SecurityHealthSystray.exe') });
    this.ensure(keyPath('user-run', service));
    // the application's vendor key; the application's own key is made by CreateKey
    this.ensure(keyPath('app', service).slice(0, keyPath('app', service).lastIndexOf('\\')));
  }

  private ensure(path: string): RegistryKey {
    let k = this.root;
    for (const part of path.split('\\').slice(2)) {
      let next = k.subkeys.get(part.toUpperCase());
      if (next === undefined) {
        next = { path: `${k.path}\\${part}`, values: new Map(), subkeys: new Map(), parent: k, deleted: false };
        k.subkeys.set(part.toUpperCase(), next);
      }
      k = next;
    }
    return k;
  }

  /** The key at a full path, in any case. */
  lookup(path: string): RegistryKey | undefined {
    const parts = path.split('\\');
    if (parts[0] !== '' || parts[1]?.toUpperCase() !== 'REGISTRY') return undefined;
    let k: RegistryKey | undefined = this.root;
    for (const part of parts.slice(2)) {
      k = k.subkeys.get(part.toUpperCase());
      if (k === undefined) return undefined;
    }
    return k;
  }

  /** NtCreateKey: opens the key, or creates it when its parent exists (the name keeps the caller's case). */
  create(path: string): { status: NTSTATUS; key?: RegistryKey; created?: boolean } {
    const existing = this.lookup(path);
    if (existing !== undefined) return { status: STATUS_SUCCESS, key: existing, created: false };
    const cut = path.lastIndexOf('\\');
    const parent = this.lookup(path.slice(0, cut));
    if (parent === undefined) return { status: STATUS_OBJECT_NAME_NOT_FOUND };
    const name = path.slice(cut + 1);
    const key: RegistryKey = { path: `${parent.path}\\${name}`, values: new Map(), subkeys: new Map(), parent, deleted: false };
    parent.subkeys.set(name.toUpperCase(), key);
    return { status: STATUS_SUCCESS, key, created: true };
  }

  setValue(key: RegistryKey, name: string, type: number, data: Uint8Array): NTSTATUS {
    if (key.deleted) return STATUS_KEY_DELETED;
    key.values.set(name.toUpperCase(), { name, type, data });
    return STATUS_SUCCESS;
  }

  deleteValue(key: RegistryKey, name: string): NTSTATUS {
    if (key.deleted) return STATUS_KEY_DELETED;
    return key.values.delete(name.toUpperCase()) ? STATUS_SUCCESS : STATUS_OBJECT_NAME_NOT_FOUND;
  }

  queryValue(key: RegistryKey, name: string): { status: NTSTATUS; value?: RegistryValue } {
    if (key.deleted) return { status: STATUS_KEY_DELETED };
    const value = key.values.get(name.toUpperCase());
    return value === undefined ? { status: STATUS_OBJECT_NAME_NOT_FOUND } : { status: STATUS_SUCCESS, value };
  }

  /** ZwDeleteKey: a key with subkeys stays ([DOC] wdm/nf-wdm-zwdeletekey). */
  deleteKey(key: RegistryKey): NTSTATUS {
    if (key.deleted) return STATUS_KEY_DELETED;
    if (key.subkeys.size > 0) return STATUS_CANNOT_DELETE;
    key.deleted = true;
    key.parent?.subkeys.delete(key.path.slice(key.path.lastIndexOf('\\') + 1).toUpperCase());
    return STATUS_SUCCESS;
  }

  /** NtRenameKey: a new last component; a sibling of that name already there is a collision. */
  renameKey(key: RegistryKey, newName: string): NTSTATUS {
    if (key.deleted) return STATUS_KEY_DELETED;
    const parent = key.parent;
    if (parent === null) return STATUS_CANNOT_DELETE;
    if (parent.subkeys.has(newName.toUpperCase())) return STATUS_OBJECT_NAME_COLLISION;
    parent.subkeys.delete(key.path.slice(key.path.lastIndexOf('\\') + 1).toUpperCase());
    parent.subkeys.set(newName.toUpperCase(), key);
    const old = key.path;
    const renamed = `${parent.path}\\${newName}`;
    const rebase = (k: RegistryKey): void => {
      k.path = renamed + k.path.slice(old.length);
      for (const s of k.subkeys.values()) rebase(s);
    };
    rebase(key);
    return STATUS_SUCCESS;
  }
}
