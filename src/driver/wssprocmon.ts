/**
 * wssprocmon: a faithful port of the seed (`shared/seed/`, sinister / whitecell.org, 2000-era), every bug kept:
 *  1. no ObDereferenceObject after a successful PsLookupProcessByProcessId;
 *  2. an early return that drops the event when the lookup fails;
 *  3. the name read at the hard-coded EPROCESS + 0x1fc (right only on Windows 2000 x86);
 *  4. the UTF-16 image path printed with %s (one character comes out); FullImageName dereferenced without a NULL check;
 *  5. no rollback in DriverEntry (device, link and earlier registrations leak);
 *  6. no DriverUnload;
 *  7. handles and pointers printed with %d / %x (truncation on x64);
 *  and, noticed while reconstructing it: the dispatch routine returns Irp->IoStatus.Status read after
 *  IoCompleteRequest, and its loop stops short of IRP_MJ_MAXIMUM_FUNCTION.
 * Output formats are the original article's (upper case), with the seed's punctuation.
 */
import {
  FILE_DEVICE_UNKNOWN,
  IRP_MJ_MAXIMUM_FUNCTION,
  type Ddi,
  type DRIVER_OBJECT,
  type HANDLE,
  type PDEVICE_OBJECT,
  type PVOID,
  type PUNICODE_STRING,
} from '../model/ddi.js';
import { NT_SUCCESS, STATUS_SUCCESS, type NTSTATUS } from '../model/status.js';
import { hexNorm, type DriverModule, type LoggedEvent } from './types.js';

const ProcessNameOffset = 0x1fc;

export const wssprocmon: DriverModule = {
  name: 'wssprocmon',
  description: 'the seed driver, ported faithfully with its bugs',
  imports: ['IoCreateDevice', 'IoCreateSymbolicLink', 'IoDeleteDevice', 'PsSetLoadImageNotifyRoutine',
    'PsSetCreateThreadNotifyRoutine', 'PsSetCreateProcessNotifyRoutine', 'PsLookupProcessByProcessId', 'DbgPrint'],
  instantiate() {
    let ddi: Ddi;

    function MydrvDispatch(_DeviceObject: PDEVICE_OBJECT, Irp: PVOID): NTSTATUS {
      ddi.WRITE_ULONG(Irp + ddi.IRP.IoStatus, STATUS_SUCCESS);
      ddi.WRITE_POINTER(Irp + ddi.IRP.Information, 0);
      ddi.IoCompleteRequest(Irp, 0);
      return ddi.READ_ULONG(Irp + ddi.IRP.IoStatus); // the seed reads the IRP after completing it
    }

    function ProcessCreateMon(hParentId: HANDLE, PId: HANDLE, bCreate: boolean): void {
      const EProcess = ddi.uninitialized();
      const status = ddi.PsLookupProcessByProcessId(PId >>> 0, EProcess);
      if (!NT_SUCCESS(status)) {
        ddi.DbgPrint('PsLookupProcessByProcessId()\n');
        return;
      }
      if (bCreate) {
        const lpCurProc = EProcess.value + ProcessNameOffset;
        ddi.DbgPrint('CREATE PROCESS = PROCESS NAME: %s , PROCESS PARENTID: %d, PROCESS ID: %d, PROCESS ADDRESS %x:\n',
          lpCurProc, hParentId, PId, EProcess.value);
      } else {
        ddi.DbgPrint('TERMINATED = PROCESS ID: %d\n', PId);
      }
    }

    function ThreadCreateMon(PId: HANDLE, TId: HANDLE, bCreate: boolean): void {
      const EProcess = ddi.uninitialized();
      const status = ddi.PsLookupProcessByProcessId(PId >>> 0, EProcess);
      if (!NT_SUCCESS(status)) {
        ddi.DbgPrint('PsLookupProcessByProcessId()\n');
        return;
      }
      if (bCreate) {
        const lpCurProc = EProcess.value + ProcessNameOffset;
        ddi.DbgPrint('CREATE THREAD = PROCESS NAME: %s PROCESS ID: %d, THREAD ID: %d\n', lpCurProc, PId, TId);
      } else {
        ddi.DbgPrint('TERMINATED = THREAD ID: %d\n', TId);
      }
    }

    function ImageCreateMon(FullImageName: PUNICODE_STRING, ProcessId: HANDLE, ImageInfo: PVOID): void {
      ddi.DbgPrint('FullImageName: %s,Process ID: %d\n', ddi.READ_POINTER(FullImageName + ddi.UNICODE_STRING.Buffer), ProcessId);
      ddi.DbgPrint('ImageBase: %x,ImageSize: %d\n',
        ddi.READ_POINTER(ImageInfo + ddi.IMAGE_INFO.ImageBase), ddi.READ_POINTER(ImageInfo + ddi.IMAGE_INFO.ImageSize));
    }

    return {
      DriverEntry(d: Ddi, DriverObject: DRIVER_OBJECT): NTSTATUS {
        ddi = d;
        const DeviceObject = d.uninitialized();
        let status = d.IoCreateDevice(DriverObject, 0, '\\Device\\WssProcMon', FILE_DEVICE_UNKNOWN, 0, true, DeviceObject);
        if (!NT_SUCCESS(status)) return status;
        status = d.IoCreateSymbolicLink('\\DosDevices\\WssProcMon', '\\Device\\WssProcMon');
        if (!NT_SUCCESS(status)) {
          d.IoDeleteDevice(DriverObject.DeviceObject);
          return status;
        }
        status = d.PsSetLoadImageNotifyRoutine(ImageCreateMon);
        if (!NT_SUCCESS(status)) {
          d.DbgPrint('PsSetLoadImageNotifyRoutine()\n');
          return status;
        }
        status = d.PsSetCreateThreadNotifyRoutine(ThreadCreateMon);
        if (!NT_SUCCESS(status)) {
          d.DbgPrint('PsSetCreateThreadNotifyRoutine()\n');
          return status;
        }
        status = d.PsSetCreateProcessNotifyRoutine(ProcessCreateMon, false);
        if (!NT_SUCCESS(status)) {
          d.DbgPrint('PsSetCreateProcessNotifyRoutine()\n');
          return status;
        }
        for (let i = 0; i < IRP_MJ_MAXIMUM_FUNCTION; i++) DriverObject.MajorFunction[i] = MydrvDispatch;
        return STATUS_SUCCESS;
      },
    };
  },
  parse: parseWssprocmon,
  monitors: ['process-create', 'process-exit', 'thread-create', 'thread-exit', 'image-load'],
  device: { name: '\\Device\\WssProcMon', link: '\\DosDevices\\WssProcMon', exclusive: true },
  sourceUrl: import.meta.url,
};

const RE_PROCESS = /^CREATE PROCESS = PROCESS NAME: (.*) , PROCESS PARENTID: (-?\d+), PROCESS ID: (-?\d+), PROCESS ADDRESS ([0-9a-fA-F]+):$/s;
const RE_PEXIT = /^TERMINATED = PROCESS ID: (-?\d+)$/;
const RE_THREAD = /^CREATE THREAD = PROCESS NAME: (.*) PROCESS ID: (-?\d+), THREAD ID: (-?\d+)$/s;
const RE_TEXIT = /^TERMINATED = THREAD ID: (-?\d+)$/;
const RE_IMAGE = /^FullImageName: (.*),Process ID: (-?\d+)$/s;
const RE_IMAGE2 = /^ImageBase: ([0-9a-fA-F]+),ImageSize: (-?\d+)$/;

/** Reads the seed's lines; the image event spans two lines (two DbgPrint calls). */
export function parseWssprocmon(lines: readonly string[]): LoggedEvent[] {
  const out: LoggedEvent[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    let m: RegExpExecArray | null;
    if ((m = RE_PROCESS.exec(line)) !== null) {
      out.push({ kind: 'process-create', name: m[1], ppid: Number(m[2]), pid: Number(m[3]), address: hexNorm(m[4]), line });
    } else if ((m = RE_PEXIT.exec(line)) !== null) {
      out.push({ kind: 'process-exit', pid: Number(m[1]), line });
    } else if ((m = RE_THREAD.exec(line)) !== null) {
      out.push({ kind: 'thread-create', name: m[1], pid: Number(m[2]), tid: Number(m[3]), line });
    } else if ((m = RE_TEXIT.exec(line)) !== null) {
      out.push({ kind: 'thread-exit', tid: Number(m[1]), line });
    } else if ((m = RE_IMAGE.exec(line)) !== null) {
      const next = lines[i + 1];
      const m2 = next === undefined ? null : RE_IMAGE2.exec(next);
      if (m2 !== null) i++;
      out.push({
        kind: 'image-load', imagePath: m[1], pid: Number(m[2]),
        ...(m2 !== null ? { base: hexNorm(m2[1]), size: Number(m2[2]) } : {}),
        line: m2 !== null ? `${line}\n${next}` : line,
      });
    }
  }
  return out;
}
