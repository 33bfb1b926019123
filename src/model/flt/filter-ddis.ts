/**
 * The filter manager's routines a minifilter calls: FltRegisterFilter, FltStartFiltering, FltUnregisterFilter, the
 * file-name information routines, FltGetRequestorProcessId and FltDoCompletionProcessingWhenSafe
 * ([DOC] fltkernel/nf-fltkernel-fltregisterfilter, -fltstartfiltering, -fltunregisterfilter,
 * -fltgetfilenameinformation, -fltparsefilenameinformation, -fltreleasefilenameinformation,
 * -fltreferencefilenameinformation, -fltgetrequestorprocessid, -fltdocompletionprocessingwhensafe).
 * flt/filters.ts calls the registered routines.
 */
import type { DdiBinding } from '../components.js';
import type { Ddi } from '../ddi.js';
import { BugCheck, BUGCHECK_BAD_POOL_CALLER, BUGCHECK_PAGE_FAULT_IN_NONPAGED_AREA } from '../ke/bugcheck.js';
import { waitsForever } from '../ke/dispatcher-ddis.js';
import { APC_LEVEL } from '../ke/irql.js';
import { requireExport, routineName } from '../mm/sysldr.js';
import { STATUS_INVALID_PARAMETER, STATUS_SUCCESS, statusName, type NTSTATUS } from '../status.js';
import {
  FILE_DEVICE_DISK_FILE_SYSTEM, FLT_FILE_NAME_FORMATS, FLT_FSTYPE_NTFS, FLT_POSTOP_MORE_PROCESSING_REQUIRED, FLTFL_FILE_NAME_PARSED_ALL,
  FLTFL_INSTANCE_SETUP_AUTOMATIC_ATTACHMENT, FLTFL_INSTANCE_TEARDOWN_FILTER_UNLOAD, fltLayouts, type FltInstanceTeardown,
} from './filter-types.js';
import { FILTER_ALTITUDE, type FltFilter } from './filters.js';
import { VOLUME_NAME } from './volume.js';

export type FltDdis = Pick<Ddi, 'FltRegisterFilter' | 'FltStartFiltering' | 'FltUnregisterFilter' | 'FltGetFileNameInformation' | 'FltParseFileNameInformation'
  | 'FltReferenceFileNameInformation' | 'FltReleaseFileNameInformation' | 'FltGetRequestorProcessId' | 'FltDoCompletionProcessingWhenSafe'>;

export function fltDdis(b: DdiBinding): FltDdis {
  // the surface outlives a run: the layouts are the running build's
  const layouts = (): ReturnType<typeof fltLayouts> => fltLayouts(b.k.ke.build.pointerSize);
  const hex = (v: number): string => b.k.ke.hex(v);
  const filterAt = (address: number): FltFilter | undefined => b.k.flt.filters.filters.find((f) => f.address === address);
  /** FLT_RELATED_OBJECTS for an instance routine (Filter, Volume, Instance), for the length of `fn`. */
  const withObjects = <T>(filter: FltFilter, instance: number, fn: (objects: number) => T): T => {
    const L = layouts();
    const objects = b.mem.alloc(L.objects.size, 'FMro', 'kernel', { type: 'FLT_RELATED_OBJECTS', zeroed: true });
    b.mem.setU16(objects, L.objects.size);
    b.mem.setPtr(objects + L.objects.Filter, filter.address);
    b.mem.setPtr(objects + L.objects.Volume, b.k.flt.filters.volumeAddress());
    b.mem.setPtr(objects + L.objects.Instance, instance);
    try {
      return fn(objects);
    } finally {
      b.mem.free(objects);
    }
  };
  /** An instance teardown routine of an attached filter, in the unregistering thread at its IRQL (PASSIVE_LEVEL). */
  const teardown = (filter: FltFilter, routine: FltInstanceTeardown | null | undefined): void => {
    if (routine === null || routine === undefined || filter.instance === 0) return;
    withObjects(filter, filter.instance, (objects) => routine(objects, FLTFL_INSTANCE_TEARDOWN_FILTER_UNLOAD));
  };
  /** A UNICODE_STRING member of the name block: `chars` characters from `start` in its Name buffer. */
  const setString = (us: number, buffer: number, start: number, chars: number): void => {
    b.mem.setU16(us, 2 * chars);
    b.mem.setU16(us + 2, 2 * chars);
    b.mem.setPtr(us + b.k.ke.build.pointerSize, chars === 0 ? 0 : buffer + 2 * start);
  };
  const nameInfo = (address: number, ddi: string) => {
    const n = b.k.flt.filters.names.get(address);
    if (n === undefined || n.refs <= 0) {
      // the block goes back to pool at its last release: one never handed out (or freed already) is a bad free
      throw new BugCheck(BUGCHECK_BAD_POOL_CALLER, [7, 0, b.mem.canonical(address), 0],
        `${ddi}(${hex(address)}): not a name FltGetFileNameInformation returned, or one already released`);
    }
    return n;
  };

  return {
    FltRegisterFilter: (_driver, registration, retFilter) => {
      requireExport(b.k.ke.build, 'FltRegisterFilter');
      const flt = b.k.flt.filters;
      // [DOC] STATUS_INVALID_PARAMETER: "The Version member of the Registration structure was not set correctly"
      if ((registration.Version >> 8) !== 2) {
        b.k.rec.log('FltRegisterFilter', [`Version 0x${registration.Version.toString(16)}`], STATUS_INVALID_PARAMETER);
        return STATUS_INVALID_PARAMETER;
      }
      const f = b.k.ke.faults.fault('FltRegisterFilter');
      if (f !== undefined) {
        b.k.rec.log('FltRegisterFilter', [], f, undefined, true);
        return f;
      }
      const address = b.mem.alloc(0x100, 'FMfl', 'kernel', { type: 'FLT_FILTER' });
      flt.filters.push({ address, owner: b.driverName, load: b.k.loaded.loads, altitude: FILTER_ALTITUDE, registration, started: false, instance: 0 });
      retFilter.value = address;
      b.k.ke.cpus.syncRelease(address); // published to the filter list: happens before every callback
      b.k.rec.log('FltRegisterFilter', [`${registration.OperationRegistration.length} operation(s)`], STATUS_SUCCESS, `filter ${hex(address)} at altitude ${FILTER_ALTITUDE}`);
      return STATUS_SUCCESS;
    },
    FltStartFiltering: (address) => {
      requireExport(b.k.ke.build, 'FltStartFiltering');
      const filter = filterAt(address);
      if (filter === undefined) {
        b.k.rec.log('FltStartFiltering', [hex(address)], STATUS_INVALID_PARAMETER);
        return STATUS_INVALID_PARAMETER;
      }
      if (!filter.started) {
        filter.started = true;
        // the volume already mounted gets an instance now: InstanceSetupCallback may decline it
        const instance = b.mem.alloc(0x80, 'FMin', 'kernel', { type: 'FLT_INSTANCE' });
        const setup = filter.registration.InstanceSetupCallback;
        const st: NTSTATUS = setup === null ? STATUS_SUCCESS
          : withObjects(filter, instance, (objects) => setup(objects, FLTFL_INSTANCE_SETUP_AUTOMATIC_ATTACHMENT, FILE_DEVICE_DISK_FILE_SYSTEM, FLT_FSTYPE_NTFS) >>> 0);
        // [DOC] PFLT_INSTANCE_SETUP_CALLBACK: STATUS_SUCCESS attaches; STATUS_FLT_DO_NOT_ATTACH (any error) does not
        if ((st >>> 30) !== 3) filter.instance = instance;
        else b.mem.free(instance);
        b.k.rec.log('FltStartFiltering', [hex(address)], STATUS_SUCCESS, filter.instance !== 0 ? `instance on ${VOLUME_NAME}` : `${routineName(setup)} declined ${VOLUME_NAME} (${statusName(st)})`);
      } else {
        b.k.rec.log('FltStartFiltering', [hex(address)], STATUS_SUCCESS);
      }
      return STATUS_SUCCESS;
    },
    FltUnregisterFilter: (address) => {
      requireExport(b.k.ke.build, 'FltUnregisterFilter');
      const flt = b.k.flt.filters;
      const cpus = b.k.ke.cpus;
      // a call made again once its wait ended (several CPUs): the teardown's second half
      const resumed = flt.unregistering.find((f) => f.address === address);
      const filter = resumed ?? filterAt(address);
      if (filter === undefined) {
        // the first FltUnregisterFilter freed the filter object: a second one touches freed memory (CHOICE: 0x50)
        throw new BugCheck(BUGCHECK_PAGE_FAULT_IN_NONPAGED_AREA, [b.mem.canonical(address), 0, 0, 0],
          `FltUnregisterFilter(${hex(address)}): not a registered filter (unregistered already, or never returned by FltRegisterFilter)`);
      }
      if (resumed === undefined) {
        // a server port still open holds the filter's rundown: FltUnregisterFilter waits for it ([DOC]
        // ifs/closing-the-communication-server-port: close it "before calling FltUnregisterFilter" to avoid a hang)
        // (CHOICE: on every CPU count — only the unregistering thread itself closes the port, in its unload or its failed DriverEntry)
        const open = b.k.flt.ports.servers.find((s) => s.open && s.filter === filter);
        if (open !== undefined) {
          waitsForever(b, `FltUnregisterFilter(${hex(address)}) with its communication server port ${open.name} still open (FltCloseCommunicationPort was not called before it)`);
        }
        flt.filters.splice(flt.filters.indexOf(filter), 1);
        b.k.rec.log('FltUnregisterFilter', [hex(address)]);
        // the connections still open: DisconnectNotifyCallback for each, then the filter manager closes the client ports
        b.k.flt.ports.unregistered(filter);
        // every context attached for the filter is deleted (the references the driver holds stay its own)
        b.k.flt.contexts.unregistered(filter);
        // the instance's teardown begins: InstanceTeardownStartCallback, before the operations drain ([DOC]
        // nc-fltkernel-pflt_instance_teardown_callback; FLTFL_INSTANCE_TEARDOWN_FILTER_UNLOAD)
        teardown(filter, filter.registration.InstanceTeardownStartCallback);
        flt.unregistering.push(filter);
      }
      // [DOC] it returns once the filter's outstanding operations have drained (rundown of the filter): its routines
      // running on other CPUs return, and the post-operations still owed are called with FLTFL_POST_OPERATION_DRAINING.
      // The thread waits, then makes this call again (`resumed`)
      if (cpus.rundownHeld(filter)) cpus.block({ what: 'the minifilter operations still running on other CPUs', ready: () => !cpus.rundownHeld(filter), sync: filter.address });
      cpus.syncAcquire(filter.address);
      flt.unregistering.splice(flt.unregistering.indexOf(filter), 1);
      // every operation has drained: InstanceTeardownCompleteCallback, then the instance goes
      teardown(filter, filter.registration.InstanceTeardownCompleteCallback);
      if (filter.instance !== 0) b.mem.free(filter.instance);
      b.mem.free(filter.address);
    },
    FltGetFileNameInformation: (data, options, out) => {
      const L = layouts();
      requireExport(b.k.ke.build, 'FltGetFileNameInformation');
      const flt = b.k.flt.filters;
      const file = flt.fileOf(data);
      if (file === undefined || !FLT_FILE_NAME_FORMATS.includes(options & 0xff)) {
        b.k.rec.log('FltGetFileNameInformation', [hex(data), `0x${options.toString(16)}`], STATUS_INVALID_PARAMETER);
        return STATUS_INVALID_PARAMETER;
      }
      const f = b.k.ke.faults.fault('FltGetFileNameInformation');
      if (f !== undefined) {
        b.k.rec.log('FltGetFileNameInformation', [hex(data)], f, undefined, true);
        return f;
      }
      // one paged block: the structure, then the name's characters ([DOC] the routine runs at IRQL <= APC_LEVEL)
      const name = `${VOLUME_NAME}${file}`;
      const block = b.mem.alloc(L.name.size + 2 * name.length + 2, 'FMfn', 'kernel', { type: 'FLT_FILE_NAME_INFORMATION', zeroed: true, paged: true });
      const buffer = block + L.name.size;
      b.mem.setWide(buffer, name);
      b.mem.setU16(block, L.name.size);
      b.mem.setU32(block + L.name.Format, options & 0xff);
      setString(block + L.name.Name, buffer, 0, name.length);
      setString(block + L.name.Volume, buffer, 0, VOLUME_NAME.length);
      const phase = b.k.rec.frame?.phase;
      flt.names.set(block, { file: name, routine: phase?.flt?.routine ?? phase?.phase ?? 'driver', op: b.k.rec.opIndex, refs: 1, ...(phase !== undefined ? { seq: phase.seq } : {}) });
      out.value = block;
      b.k.rec.log('FltGetFileNameInformation', [hex(data), `0x${options.toString(16)}`], STATUS_SUCCESS, name);
      return STATUS_SUCCESS;
    },
    FltParseFileNameInformation: (address) => {
      const L = layouts();
      requireExport(b.k.ke.build, 'FltParseFileNameInformation');
      const n = nameInfo(address, 'FltParseFileNameInformation');
      const buffer = address + L.name.size;
      const name = n.file;
      const last = name.lastIndexOf('\\');
      const dot = name.lastIndexOf('.');
      setString(address + L.name.FinalComponent, buffer, last + 1, name.length - last - 1);
      setString(address + L.name.ParentDir, buffer, VOLUME_NAME.length, last + 1 - VOLUME_NAME.length);
      setString(address + L.name.Extension, buffer, dot > last ? dot + 1 : name.length, dot > last ? name.length - dot - 1 : 0);
      b.mem.setU16(address + L.name.NamesParsed, FLTFL_FILE_NAME_PARSED_ALL);
      b.k.rec.log('FltParseFileNameInformation', [hex(address)], STATUS_SUCCESS);
      return STATUS_SUCCESS;
    },
    FltReferenceFileNameInformation: (address) => {
      requireExport(b.k.ke.build, 'FltReferenceFileNameInformation');
      nameInfo(address, 'FltReferenceFileNameInformation').refs++;
      b.k.rec.log('FltReferenceFileNameInformation', [hex(address)]);
    },
    FltReleaseFileNameInformation: (address) => {
      requireExport(b.k.ke.build, 'FltReleaseFileNameInformation');
      const n = nameInfo(address, 'FltReleaseFileNameInformation');
      b.k.rec.log('FltReleaseFileNameInformation', [hex(address)]);
      if (--n.refs === 0) {
        b.k.flt.filters.names.delete(address);
        b.mem.free(address);
      }
    },
    FltGetRequestorProcessId: (data) => {
      requireExport(b.k.ke.build, 'FltGetRequestorProcessId');
      return b.k.flt.filters.callbackData.get(data)?.requester.pid ?? 0;
    },
    FltDoCompletionProcessingWhenSafe: (data, objects, context, flags, safe, ret) => {
      requireExport(b.k.ke.build, 'FltDoCompletionProcessingWhenSafe');
      if (b.v.irql <= APC_LEVEL) {
        // safe already: the routine runs now, in this thread
        b.k.rec.log('FltDoCompletionProcessingWhenSafe', [routineName(safe)], undefined, 'called now');
        ret.value = safe(data, objects, context, flags) >>> 0;
        return true;
      }
      const posts = b.k.flt.filters.safePosts;
      let queued = posts.get(data);
      if (queued === undefined) posts.set(data, (queued = []));
      queued.push({ routine: safe, data, objects, context, flags });
      ret.value = FLT_POSTOP_MORE_PROCESSING_REQUIRED;
      b.k.rec.log('FltDoCompletionProcessingWhenSafe', [routineName(safe)], undefined, 'queued to a worker at PASSIVE_LEVEL');
      return true;
    },
  };
}
