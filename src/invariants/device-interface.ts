import { normalizeObjectName } from '../model/ob/namespace.js';
import type { Invariant, Violation } from './types.js';

/**
 * A successful DriverEntry leaves the device its clients open: the declared device object, exclusive if the design
 * says so (IoCreateDevice's Exclusive: one handle at a time), and the symbolic link user mode opens, pointing at it
 * ([DOC] IoCreateDevice, IoCreateSymbolicLink). A driver that returns STATUS_SUCCESS without them loads, and no
 * client can ever reach it.
 */
export const deviceInterface: Invariant = {
  id: 'device-interface',
  needsOutput: false,
  statement: 'after a successful DriverEntry the declared device exists (exclusive as declared), its symbolic link points at it, and it opens',
  source: 'WDK: IoCreateDevice (Exclusive), IoCreateSymbolicLink',
  check({ record, device }) {
    if (device === undefined) return [];
    const out: Violation[] = [];
    const same = (a: string | null, b: string): boolean => a !== null && normalizeObjectName(a) === normalizeObjectName(b);
    for (const ph of record.phases) {
      const made = ph.interface;
      if (ph.phase !== 'DriverEntry' || made === undefined) continue;
      const wrong: string[] = [];
      const dev = device.name === undefined ? made.devices[0] : made.devices.find((d) => same(d.name, device.name as string));
      if (device.name !== undefined && dev === undefined) wrong.push(`no device ${device.name}`);
      if (dev !== undefined && device.exclusive !== undefined && dev.exclusive !== device.exclusive) {
        wrong.push(`device ${dev.name ?? '(unnamed)'} created with Exclusive=${dev.exclusive ? 'TRUE' : 'FALSE'}, the design needs ${device.exclusive ? 'TRUE' : 'FALSE'}`);
      }
      if (device.link !== undefined) {
        const link = made.links.find((l) => same(l.name, device.link as string));
        if (link === undefined) wrong.push(`no symbolic link ${device.link}`);
        else if (device.name !== undefined && !same(link.target, device.name)) wrong.push(`${device.link} points at ${link.target}, not ${device.name}`);
      }
      if (wrong.length > 0) out.push({ invariant: this.id, message: `DriverEntry succeeded with ${wrong.join('; ')}`, evidence: { op: ph.op, seq: ph.seq, event: 'DriverEntry returned STATUS_SUCCESS' } });
    }
    // the declared device is there to be opened: an IRP_MJ_CREATE the I/O manager lets through (not refused by
    // exclusivity) must succeed, or no client can ever reach the driver (a missing MajorFunction[IRP_MJ_CREATE]
    // completes it with STATUS_INVALID_DEVICE_REQUEST)
    for (const ph of record.phases) {
      if (ph.phase !== 'Dispatch' || ph.outcome !== 'returned' || ph.irp?.major !== 'IRP_MJ_CREATE') continue;
      const status = ph.irp.returned ?? ph.status;
      if (status === undefined || status === 'STATUS_SUCCESS' || status === 'STATUS_PENDING') continue;
      out.push({ invariant: this.id, message: `opening the driver's device failed with ${status}: no client can reach it`, evidence: { op: ph.op, seq: ph.seq, event: 'IRP_MJ_CREATE sent to the driver\'s device', actual: status } });
    }
    return out;
  },
};
