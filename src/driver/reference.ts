/**
 * reference: the seed's monitor done right — the oracle every invariant must accept.
 *  - the name comes from PsGetProcessImageFileName where exported (5.1+), else from the offset found at
 *    DriverEntry by scanning the System process's EPROCESS for "System" (the 2000-era idiom; DriverEntry runs in
 *    the System process), and is printed bounded with %.15s;
 *  - every successful lookup is balanced by ObDereferenceObject before the callback returns; exits need no lookup;
 *    a failed lookup still logs the event, with the name unknown;
 *  - handles with %Iu, pointers with %p, the image path with %wZ (chunked with %.*ws when it would pass the
 *    512-byte DbgPrint limit), a NULL FullImageName handled;
 *  - DriverEntry rolls back in reverse on any failure; DriverUnload removes routines first, then link, then device
 *    (Microsoft sample order, general/obcallback);
 *  - on Windows 2000 thread and image routines can never be removed: the removable process routine goes first, and
 *    the driver sets no DriverUnload ("must remain loaded until the system itself is shut down", 2000 DDK). If the
 *    image routine then cannot be registered the driver keeps running without it rather than orphan the thread routine.
 */
import {
  FILE_DEVICE_UNKNOWN,
  type Ddi,
  type DRIVER_OBJECT,
  type HANDLE,
  type PDEVICE_OBJECT,
  type PEPROCESS,
  type PUNICODE_STRING,
  type PVOID,
} from '../model/ddi.js';
import { NT_SUCCESS, STATUS_SUCCESS, type NTSTATUS } from '../model/status.js';
import { hexNorm, type DriverModule, type LoggedEvent } from './types.js';

const DEVICE_NAME = '\\Device\\PsRefMon';
const LINK_NAME = '\\DosDevices\\PsRefMon';
/** Characters of path per DbgPrint call: keeps each call well under the 512-byte limit. */
export const PATH_CHUNK = 400;

export const reference: DriverModule = {
  name: 'psrefmon',
  description: 'the same monitor done right: the oracle',
  imports: ['IoCreateDevice', 'IoCreateSymbolicLink', 'IoDeleteDevice', 'IoDeleteSymbolicLink', 'PsSetLoadImageNotifyRoutine',
    'PsSetCreateThreadNotifyRoutine', 'PsSetCreateProcessNotifyRoutine', 'PsLookupProcessByProcessId', 'ObDereferenceObject',
    'MmGetSystemRoutineAddress', 'PsGetCurrentProcess', 'DbgPrint'],
  instantiate() {
    let ddi: Ddi;
    let getImageFileName = false;
    let nameOffset = -1;
    let canRemove = false;
    let imageRegistered = false;

    /** Address of the process's ImageFileName, or 0 when it cannot be found. */
    function imageFileName(process: PEPROCESS): PVOID {
      if (getImageFileName) return ddi.PsGetProcessImageFileName(process);
      return nameOffset < 0 ? 0 : process + nameOffset;
    }

    function findNameOffset(): number {
      const system = ddi.PsGetCurrentProcess();
      const want = [0x53, 0x79, 0x73, 0x74, 0x65, 0x6d, 0]; // "System\0"
      for (let off = 0; off < 0x1000; off++) {
        let k = 0;
        while (k < want.length && ddi.READ_UCHAR(system + off + k) === want[k]) k++;
        if (k === want.length) return off;
      }
      return -1;
    }

    function ProcessNotify(ParentId: HANDLE, ProcessId: HANDLE, Create: boolean): void {
      if (!Create) {
        ddi.DbgPrint('PROCESS EXIT pid=%Iu ppid=%Iu\n', ProcessId, ParentId);
        return;
      }
      const process = { value: 0 };
      if (!NT_SUCCESS(ddi.PsLookupProcessByProcessId(ProcessId, process))) {
        ddi.DbgPrint('PROCESS CREATE pid=%Iu ppid=%Iu name=? eprocess=?\n', ProcessId, ParentId);
        return;
      }
      const name = imageFileName(process.value);
      ddi.DbgPrint('PROCESS CREATE pid=%Iu ppid=%Iu name=%.15s eprocess=%p\n', ProcessId, ParentId, name, process.value);
      ddi.ObDereferenceObject(process.value);
    }

    function ThreadNotify(ProcessId: HANDLE, ThreadId: HANDLE, Create: boolean): void {
      if (!Create) {
        ddi.DbgPrint('THREAD EXIT pid=%Iu tid=%Iu\n', ProcessId, ThreadId);
        return;
      }
      const process = { value: 0 };
      if (!NT_SUCCESS(ddi.PsLookupProcessByProcessId(ProcessId, process))) {
        ddi.DbgPrint('THREAD CREATE pid=%Iu tid=%Iu name=?\n', ProcessId, ThreadId);
        return;
      }
      ddi.DbgPrint('THREAD CREATE pid=%Iu tid=%Iu name=%.15s\n', ProcessId, ThreadId, imageFileName(process.value));
      ddi.ObDereferenceObject(process.value);
    }

    function ImageNotify(FullImageName: PUNICODE_STRING, ProcessId: HANDLE, ImageInfo: PVOID): void {
      const base = ddi.READ_POINTER(ImageInfo + ddi.IMAGE_INFO.ImageBase);
      const size = ddi.READ_POINTER(ImageInfo + ddi.IMAGE_INFO.ImageSize);
      if (FullImageName === 0) {
        ddi.DbgPrint('IMAGE LOAD pid=%Iu base=%p size=%Iu path=(null)\n', ProcessId, base, size);
        return;
      }
      const chars = ddi.READ_USHORT(FullImageName + ddi.UNICODE_STRING.Length) >>> 1;
      if (chars <= PATH_CHUNK) {
        ddi.DbgPrint('IMAGE LOAD pid=%Iu base=%p size=%Iu path=%wZ\n', ProcessId, base, size, FullImageName);
        return;
      }
      const buffer = ddi.READ_POINTER(FullImageName + ddi.UNICODE_STRING.Buffer);
      ddi.DbgPrint('IMAGE LOAD pid=%Iu base=%p size=%Iu path=%.*ws\n', ProcessId, base, size, PATH_CHUNK, buffer);
      for (let at = PATH_CHUNK; at < chars; at += PATH_CHUNK) {
        ddi.DbgPrint('IMAGE PATH+ %.*ws\n', Math.min(PATH_CHUNK, chars - at), buffer + 2 * at);
      }
    }

    function Unload(_DriverObject: DRIVER_OBJECT): void {
      if (imageRegistered) ddi.PsRemoveLoadImageNotifyRoutine(ImageNotify);
      ddi.PsRemoveCreateThreadNotifyRoutine(ThreadNotify);
      ddi.PsSetCreateProcessNotifyRoutine(ProcessNotify, true);
      ddi.IoDeleteSymbolicLink(LINK_NAME);
      ddi.IoDeleteDevice(device);
    }

    let device: PDEVICE_OBJECT = 0;

    return {
      DriverEntry(d: Ddi, DriverObject: DRIVER_OBJECT): NTSTATUS {
        ddi = d;
        getImageFileName = d.MmGetSystemRoutineAddress('PsGetProcessImageFileName') !== 0;
        canRemove = d.MmGetSystemRoutineAddress('PsRemoveCreateThreadNotifyRoutine') !== 0
          && d.MmGetSystemRoutineAddress('PsRemoveLoadImageNotifyRoutine') !== 0;
        if (!getImageFileName) nameOffset = findNameOffset();
        const out = { value: 0 };
        let status = d.IoCreateDevice(DriverObject, 0, DEVICE_NAME, FILE_DEVICE_UNKNOWN, 0, true, out);
        if (!NT_SUCCESS(status)) return status;
        device = out.value;
        status = d.IoCreateSymbolicLink(LINK_NAME, DEVICE_NAME);
        if (!NT_SUCCESS(status)) {
          d.IoDeleteDevice(device);
          return status;
        }
        status = d.PsSetCreateProcessNotifyRoutine(ProcessNotify, false);
        if (!NT_SUCCESS(status)) {
          d.IoDeleteSymbolicLink(LINK_NAME);
          d.IoDeleteDevice(device);
          return status;
        }
        status = d.PsSetCreateThreadNotifyRoutine(ThreadNotify);
        if (!NT_SUCCESS(status)) {
          d.PsSetCreateProcessNotifyRoutine(ProcessNotify, true);
          d.IoDeleteSymbolicLink(LINK_NAME);
          d.IoDeleteDevice(device);
          return status;
        }
        status = d.PsSetLoadImageNotifyRoutine(ImageNotify);
        if (!NT_SUCCESS(status)) {
          if (!canRemove) {
            // Windows 2000: the thread routine is registered for good; run without image notifications.
            d.DbgPrint('psrefmon: PsSetLoadImageNotifyRoutine failed 0x%08X; image loads are not monitored\n', status);
            return STATUS_SUCCESS;
          }
          d.PsRemoveCreateThreadNotifyRoutine(ThreadNotify);
          d.PsSetCreateProcessNotifyRoutine(ProcessNotify, true);
          d.IoDeleteSymbolicLink(LINK_NAME);
          d.IoDeleteDevice(device);
          return status;
        }
        imageRegistered = true;
        if (canRemove) DriverObject.DriverUnload = Unload;
        return STATUS_SUCCESS;
      },
    };
  },
  parse: parseReference,
};

const RE_PCREATE = /^PROCESS CREATE pid=(\d+) ppid=(\d+) name=(.*) eprocess=([0-9A-F]+|\?)$/s;
const RE_PEXIT = /^PROCESS EXIT pid=(\d+) ppid=(\d+)$/;
const RE_TCREATE = /^THREAD CREATE pid=(\d+) tid=(\d+) name=(.*)$/s;
const RE_TEXIT = /^THREAD EXIT pid=(\d+) tid=(\d+)$/;
const RE_IMAGE = /^IMAGE LOAD pid=(\d+) base=([0-9A-F]+) size=(\d+) path=(.*)$/s;
const RE_MORE = /^IMAGE PATH\+ (.*)$/s;

export function parseReference(lines: readonly string[]): LoggedEvent[] {
  const out: LoggedEvent[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    let m: RegExpExecArray | null;
    if ((m = RE_PCREATE.exec(line)) !== null) {
      const unknown = m[4] === '?';
      out.push({
        kind: 'process-create', pid: Number(m[1]), ppid: Number(m[2]), line,
        ...(unknown ? {} : { name: m[3], address: hexNorm(m[4]) }),
      });
    } else if ((m = RE_PEXIT.exec(line)) !== null) {
      out.push({ kind: 'process-exit', pid: Number(m[1]), ppid: Number(m[2]), line });
    } else if ((m = RE_TCREATE.exec(line)) !== null) {
      out.push({ kind: 'thread-create', pid: Number(m[1]), tid: Number(m[2]), line, ...(m[3] === '?' ? {} : { name: m[3] }) });
    } else if ((m = RE_TEXIT.exec(line)) !== null) {
      out.push({ kind: 'thread-exit', pid: Number(m[1]), tid: Number(m[2]), line });
    } else if ((m = RE_IMAGE.exec(line)) !== null) {
      let path = m[4];
      let text = line;
      while (i + 1 < lines.length) {
        const more = RE_MORE.exec(lines[i + 1]);
        if (more === null) break;
        path += more[1];
        text += '\n' + lines[i + 1];
        i++;
      }
      out.push({
        kind: 'image-load', pid: Number(m[1]), base: hexNorm(m[2]), size: Number(m[3]),
        imagePath: path === '(null)' ? null : path, line: text,
      });
    }
  }
  return out;
}
