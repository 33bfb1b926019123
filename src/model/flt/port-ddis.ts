/**
 * The filter manager's communication-port routines a minifilter calls: FltBuildDefaultSecurityDescriptor,
 * FltFreeSecurityDescriptor, FltCreateCommunicationPort, FltCloseCommunicationPort, FltCloseClientPort and
 * FltSendMessage ([DOC] fltkernel/nf-fltkernel-fltbuilddefaultsecuritydescriptor, -fltfreesecuritydescriptor,
 * -fltcreatecommunicationport, -fltclosecommunicationport, -fltcloseclientport, -fltsendmessage). The ports and the
 * service: flt/ports.ts.
 */
import type { DdiBinding } from '../components.js';
import type { Ddi } from '../ddi.js';
import { BugCheck } from '../ke/bugcheck.js';
import { requireExport } from '../mm/sysldr.js';
import { BUGCHECK_INVALID_KERNEL_HANDLE } from '../ob/handle-ddis.js';
import { STATUS_INVALID_PARAMETER, STATUS_OBJECT_NAME_COLLISION, STATUS_SUCCESS } from '../status.js';

export type FltPortDdis = Pick<Ddi, 'FltBuildDefaultSecurityDescriptor' | 'FltFreeSecurityDescriptor' | 'FltCreateCommunicationPort' | 'FltCloseCommunicationPort'
  | 'FltCloseClientPort' | 'FltSendMessage'>;

/** OBJ_KERNEL_HANDLE: a server port's handle must be a kernel handle (ReactOS fltmgr Messaging.c refuses others). */
const OBJ_KERNEL_HANDLE = 0x200;
/** SECURITY_DESCRIPTOR_MIN_LENGTH plus one DACL with two ACEs (System, Administrators): what the block holds. */
const SECURITY_DESCRIPTOR_SIZE = 0x60;

export function fltPortDdis(b: DdiBinding): FltPortDdis {
  const hex = (v: number): string => b.k.ke.hex(v);
  const ports = () => b.k.flt.ports;
  /** Closing a port that is not open is ZwClose on a handle that is not open ([DOC] bug-check-0x93). */
  const notOpen = (ddi: string, port: number): never => {
    throw new BugCheck(BUGCHECK_INVALID_KERNEL_HANDLE, [b.mem.canonical(port), 0, 0, 0], `${ddi}(${hex(port)}): not an open communication port (closed already, or never made)`);
  };
  return {
    FltBuildDefaultSecurityDescriptor: (out, access) => {
      requireExport(b.k.ke.build, 'FltBuildDefaultSecurityDescriptor');
      // paged pool the driver frees with FltFreeSecurityDescriptor: charged to it, so a leak shows at unload
      const sd = b.mem.alloc(SECURITY_DESCRIPTOR_SIZE, 'FMsd', b.driverName, { type: 'SECURITY_DESCRIPTOR', zeroed: true, paged: true });
      b.mem.setU8(sd, 1); // SECURITY_DESCRIPTOR_REVISION
      out.value = sd;
      b.k.rec.log('FltBuildDefaultSecurityDescriptor', [`0x${access.toString(16)}`], STATUS_SUCCESS, hex(sd));
      return STATUS_SUCCESS;
    },
    FltFreeSecurityDescriptor: (sd) => {
      requireExport(b.k.ke.build, 'FltFreeSecurityDescriptor');
      b.k.rec.log('FltFreeSecurityDescriptor', [hex(sd)]);
      b.ddi.ExFreePoolWithTag(sd, 'FMsd');
    },
    FltCreateCommunicationPort: (filterAddress, out, input) => {
      requireExport(b.k.ke.build, 'FltCreateCommunicationPort');
      const filter = b.k.flt.filters.filters.find((f) => f.address === filterAddress);
      const name = input.Name ?? '';
      const refuse = (why: string, st = STATUS_INVALID_PARAMETER): number => {
        b.k.rec.log('FltCreateCommunicationPort', [name, why], st);
        return st;
      };
      if (filter === undefined) return refuse('not a registered filter');
      // ReactOS fltmgr Messaging.c: MaxConnections must be positive, and the handle a kernel handle
      if ((input.MaxConnections | 0) <= 0) return refuse(`MaxConnections ${input.MaxConnections | 0}`);
      if ((input.Attributes & OBJ_KERNEL_HANDLE) === 0) return refuse('OBJ_KERNEL_HANDLE not set');
      // a named object: the name must be a path in the object namespace, and free
      if (!name.startsWith('\\')) return refuse('ObjectName is not an object-namespace path');
      if (ports().servers.some((s) => s.open && s.name.toLowerCase() === name.toLowerCase())) return refuse('the name is taken', STATUS_OBJECT_NAME_COLLISION);
      const port = ports().create(filter, name, input);
      out.value = port.address;
      b.k.rec.log('FltCreateCommunicationPort', [name, `MaxConnections ${input.MaxConnections}`], STATUS_SUCCESS, hex(port.address));
      return STATUS_SUCCESS;
    },
    FltCloseCommunicationPort: (address) => {
      requireExport(b.k.ke.build, 'FltCloseCommunicationPort');
      const port = ports().server(address);
      if (port === undefined) return notOpen('FltCloseCommunicationPort', address);
      b.k.rec.log('FltCloseCommunicationPort', [port.name]);
      ports().closeServer(port);
      b.k.ke.cpus.syncRelease(port.filter.address);
    },
    FltCloseClientPort: (_filter, variable) => {
      requireExport(b.k.ke.build, 'FltCloseClientPort');
      const address = variable.value;
      // [DOC] "On return, the variable receives NULL"; a NULL variable is a connection closed already
      variable.value = 0;
      if (address === 0) {
        b.k.rec.log('FltCloseClientPort', ['NULL']);
        return;
      }
      const client = ports().clients.get(address);
      if (client === undefined) return notOpen('FltCloseClientPort', address);
      b.k.rec.log('FltCloseClientPort', [client.label]);
      ports().closeClient(client);
    },
    FltSendMessage: (_filter, port, sender, length, reply, replyLength, _timeout) => {
      requireExport(b.k.ke.build, 'FltSendMessage');
      // the message is read from the driver's buffer (a bad buffer faults in the driver's context)
      const n = length >>> 0;
      if (n > 0) b.mem.check(sender, n, false);
      const { status, reason } = ports().send(port, b.mem.slice(sender, Math.min(n, 64)), n);
      if (status === STATUS_SUCCESS && reply !== 0 && replyLength !== null) {
        // the service's answer: ReplyLength zero bytes (CHOICE, flt/ports.ts)
        const want = replyLength.value >>> 0;
        if (want > 0) {
          b.mem.check(reply, want, true);
          b.mem.fill(reply, want, 0);
          b.mem.markWritten(reply, want);
        }
      }
      b.k.rec.log('FltSendMessage', [port === 0 ? 'NULL' : hex(port), `${n} bytes`], status, reason);
      return status;
    },
  };
}
