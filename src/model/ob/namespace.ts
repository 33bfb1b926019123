/**
 * The object-manager namespace for devices and symbolic links. Names are case-insensitive (OBJ_CASE_INSENSITIVE,
 * as the I/O manager opens them) and `\DosDevices\` is the same directory as `\??\`.
 * A named device and a symbolic link made by IoCreateSymbolicLink are permanent objects: they live until deleted
 * ([WRK] io/iomgr/iosubs.c, ob/obinsert.c); a second object of the same name gets STATUS_OBJECT_NAME_COLLISION
 * ([DOC] wdm/nf-wdm-iocreatedevice.md).
 */
export interface DeviceEntry {
  readonly name: string | null;
  readonly owner: string;
  readonly va: number;
  /** IoCreateDevice's Exclusive: one open handle at a time. */
  readonly exclusive?: boolean;
  /** Handles open on it (IRP_MJ_CREATE that succeeded, not yet closed). */
  opens?: number;
}

export interface LinkEntry {
  readonly name: string;
  readonly target: string;
  readonly owner: string;
}

export function normalizeObjectName(name: string): string {
  let n = name.toUpperCase();
  if (n.startsWith('\\DOSDEVICES\\')) n = '\\??\\' + n.slice('\\DOSDEVICES\\'.length);
  return n;
}

export class ObjectNamespace {
  readonly devices: DeviceEntry[] = [];
  private readonly names = new Map<string, 'device' | 'link'>();
  readonly links = new Map<string, LinkEntry>();

  has(name: string): boolean {
    return this.names.has(normalizeObjectName(name));
  }

  addDevice(entry: DeviceEntry): void {
    this.devices.push(entry);
    if (entry.name !== null) this.names.set(normalizeObjectName(entry.name), 'device');
  }

  removeDevice(va: number): DeviceEntry | undefined {
    const i = this.devices.findIndex((d) => d.va === va);
    if (i < 0) return undefined;
    const [d] = this.devices.splice(i, 1);
    if (d.name !== null) this.names.delete(normalizeObjectName(d.name));
    return d;
  }

  addLink(entry: LinkEntry): void {
    const key = normalizeObjectName(entry.name);
    this.links.set(key, entry);
    this.names.set(key, 'link');
  }

  removeLink(name: string): LinkEntry | undefined {
    const key = normalizeObjectName(name);
    const l = this.links.get(key);
    if (l === undefined) return undefined;
    this.links.delete(key);
    this.names.delete(key);
    return l;
  }
}
