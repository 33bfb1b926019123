/**
 * Device objects and symbolic links: IoCreateDevice (the first device becomes DriverObject->DeviceObject),
 * IoDeleteDevice, IoCreateSymbolicLink, IoDeleteSymbolicLink, in the object-manager namespace ([DOC]
 * wdm/nf-wdm-iocreatedevice.md, nf-wdm-iocreatesymboliclink.md).
 */
import type { DdiBinding } from '../components.js';
import type { Ddi } from '../ddi.js';
import { BugCheck, BUGCHECK_REFERENCE_BY_POINTER } from '../ke/bugcheck.js';
import { STATUS_OBJECT_NAME_COLLISION, STATUS_OBJECT_NAME_NOT_FOUND, STATUS_SUCCESS } from '../status.js';

const DEVICE_OBJECT_SIZE = { 4: 0xb8, 8: 0x150 } as const;

export type IoDeviceDdis = Pick<Ddi, 'IoCreateDevice' | 'IoDeleteDevice' | 'IoCreateSymbolicLink' | 'IoDeleteSymbolicLink'>;

export function ioDeviceDdis(b: DdiBinding): IoDeviceDdis {
  return {
    IoCreateDevice: (dobj, ext, name, _type, _chars, exclusive, out) => {
      const f = b.k.ke.faults.fault('IoCreateDevice');
      if (f !== undefined) {
        b.k.rec.log('IoCreateDevice', [String(name)], f, undefined, true);
        return f;
      }
      if (name !== null && b.k.ob.namespace.has(name)) {
        b.k.rec.log('IoCreateDevice', [name], STATUS_OBJECT_NAME_COLLISION);
        return STATUS_OBJECT_NAME_COLLISION;
      }
      const va = b.mem.alloc(DEVICE_OBJECT_SIZE[b.ps] + ext, 'Devi', 'kernel', { type: 'DEVICE_OBJECT', driverWritable: true });
      b.mem.setU16(va, 3);
      b.mem.setU16(va + 2, DEVICE_OBJECT_SIZE[b.ps] + ext);
      b.mem.setPtr(va + (b.ps === 4 ? 8 : 0x10), dobj.address); // DriverObject
      if (ext > 0) b.mem.setPtr(va + (b.ps === 4 ? 0x28 : 0x40), va + DEVICE_OBJECT_SIZE[b.ps]); // DeviceExtension
      b.k.ob.namespace.addDevice({ name, owner: b.driverName, va, exclusive, opens: 0 });
      if (dobj.DeviceObject === 0) {
        (dobj as { DeviceObject: number }).DeviceObject = va;
        b.mem.setPtr(dobj.address + b.ps, va);
      }
      out.value = va;
      b.k.rec.log('IoCreateDevice', [String(name)], STATUS_SUCCESS, b.k.ke.hex(va));
      return STATUS_SUCCESS;
    },
    IoDeleteDevice: (va) => {
      const d = b.k.ob.namespace.removeDevice(va);
      if (d === undefined) {
        b.mem.check(va, 1, true);
        throw new BugCheck(BUGCHECK_REFERENCE_BY_POINTER, [0, b.mem.canonical(va), 0, 0], `IoDeleteDevice(${b.k.ke.hex(va)}): not a device object`);
      }
      b.mem.free(va);
      const dobj = b.k.io.loader.driverObject;
      if (dobj !== null && dobj.DeviceObject === va) {
        const next = b.k.ob.namespace.devices.find((x) => x.owner === b.driverName);
        dobj.DeviceObject = next?.va ?? 0;
        b.mem.setPtr(dobj.address + b.ps, dobj.DeviceObject);
      }
      b.k.rec.log('IoDeleteDevice', [b.k.ke.hex(va)]);
    },
    IoCreateSymbolicLink: (link, target) => {
      const f = b.k.ke.faults.fault('IoCreateSymbolicLink');
      if (f !== undefined) {
        b.k.rec.log('IoCreateSymbolicLink', [link, target], f, undefined, true);
        return f;
      }
      if (b.k.ob.namespace.has(link)) {
        b.k.rec.log('IoCreateSymbolicLink', [link, target], STATUS_OBJECT_NAME_COLLISION);
        return STATUS_OBJECT_NAME_COLLISION;
      }
      b.k.ob.namespace.addLink({ name: link, target, owner: b.driverName });
      b.k.rec.log('IoCreateSymbolicLink', [link, target], STATUS_SUCCESS);
      return STATUS_SUCCESS;
    },
    IoDeleteSymbolicLink: (link) => {
      const f = b.k.ke.faults.fault('IoDeleteSymbolicLink');
      if (f !== undefined) {
        b.k.rec.log('IoDeleteSymbolicLink', [link], f, undefined, true);
        return f;
      }
      const status = b.k.ob.namespace.removeLink(link) !== undefined ? STATUS_SUCCESS : STATUS_OBJECT_NAME_NOT_FOUND;
      b.k.rec.log('IoDeleteSymbolicLink', [link], status);
      return status;
    },
  };
}
