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
 *
 * The mutant catalogue (mutants.ts) is this source with one annotated mutation point switched on, as QuickChick
 * annotates mutants in the code under test: `bug === '<id>'` marks each point; with `bug === null` none is active.
 */
import {
  FILE_DEVICE_UNKNOWN,
  IRP_MJ_CLEANUP,
  IRP_MJ_CLOSE,
  IRP_MJ_CREATE,
  IRP_MJ_DEVICE_CONTROL,
  type Ddi,
  type DRIVER_OBJECT,
  type HANDLE,
  type PDEVICE_OBJECT,
  type PEPROCESS,
  type PUNICODE_STRING,
  type PVOID,
} from '../model/ddi.js';
import { NT_SUCCESS, STATUS_INVALID_DEVICE_REQUEST, STATUS_SUCCESS, type NTSTATUS } from '../model/status.js';
import { hexNorm, type DriverModule, type LoggedEvent } from './types.js';

const DEVICE_NAME = '\\Device\\PsRefMon';
const LINK_NAME = '\\DosDevices\\PsRefMon';
/** Characters of path per DbgPrint call: keeps each call well under the 512-byte limit. */
export const PATH_CHUNK = 400;

export type MutationPoint =
  | 'no-deref-process-create' | 'no-deref-thread-create' | 'double-deref' | 'deref-after-failed-lookup'
  | 'unset-pointer-after-failed-lookup' | 'offset-xp' | 'offset-win7' | 'name-buffer-off-by-one'
  | 'path-as-narrow' | 'path-ws-ignores-length' | 'path-wz-on-buffer' | 'path-length-as-chars'
  | 'no-rollback-link' | 'no-rollback-process' | 'no-rollback-thread' | 'no-rollback-image'
  | 'rollback-undoes-failed-step' | 'rollback-wrong-order' | 'unload-forgets-image' | 'unload-forgets-thread'
  | 'unload-wrong-order' | 'unload-leaks-link' | 'no-unload-routine' | 'stale-name-cache'
  | 'exit-only-if-lookup' | 'skip-system-images' | 'parent-is-creator' | 'thread-exit-as-process-exit'
  | 'long-path-one-call' | 'pointer-as-ulong' | 'pool-leak-on-unload' | 'irp-read-after-complete' | 'irp-not-completed';

export function makeMonitor(bug: MutationPoint | null, name = 'psrefmon', description = 'the same monitor done right: the oracle'): DriverModule {
  return {
    name,
    description,
    imports: ['IoCreateDevice', 'IoCreateSymbolicLink', 'IoDeleteDevice', 'IoDeleteSymbolicLink', 'PsSetLoadImageNotifyRoutine',
      'PsSetCreateThreadNotifyRoutine', 'PsSetCreateProcessNotifyRoutine', 'PsLookupProcessByProcessId', 'ObDereferenceObject',
      'MmGetSystemRoutineAddress', 'PsGetCurrentProcess', 'DbgPrint', 'ExAllocatePoolWithTag', 'ExFreePoolWithTag'],
    instantiate() {
      let ddi: Ddi;
      let getImageFileName = false;
      let nameOffset = -1;
      let canRemove = false;
      let imageRegistered = false;
      let device: PDEVICE_OBJECT = 0;
      let poolBlock: PVOID = 0;
      // mutant 'stale-name-cache' only: PID → pool copy of the name, filled on create, never dropped on exit
      const nameCache = new Map<HANDLE, PVOID>();

      /** Address of the process's ImageFileName, or 0 when it cannot be found. */
      function imageFileName(process: PEPROCESS): PVOID {
        if (bug === 'offset-xp') return process + 0x174;
        if (bug === 'offset-win7') return process + (ddi.pointerSize === 8 ? 0x2e0 : 0x16c);
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

      /** Copies the name into pool (mutants that keep their own copy). */
      function copyName(process: PEPROCESS, bytes: number, terminate: boolean): PVOID {
        const src = imageFileName(process);
        const buf = ddi.ExAllocatePoolWithTag(0, bytes, 'Name');
        if (buf === 0) return 0;
        let i = 0;
        for (; i < bytes - (terminate ? 1 : 0); i++) {
          const c = ddi.READ_UCHAR(src + i);
          ddi.WRITE_UCHAR(buf + i, c);
          if (c === 0) break;
        }
        if (terminate && i < bytes) ddi.WRITE_UCHAR(buf + i, 0);
        return buf;
      }

      function nameFor(process: PEPROCESS): { p: PVOID; free: boolean } {
        if (bug === 'name-buffer-off-by-one') return { p: copyName(process, 15, false), free: true }; // char name[15]: no room for NUL
        return { p: imageFileName(process), free: false };
      }

      function ProcessNotify(ParentId: HANDLE, ProcessId: HANDLE, Create: boolean): void {
        if (!Create) {
          if (bug === 'exit-only-if-lookup') {
            const p = { value: 0 };
            if (!NT_SUCCESS(ddi.PsLookupProcessByProcessId(ProcessId, p))) return;
            ddi.ObDereferenceObject(p.value);
          }
          ddi.DbgPrint('PROCESS EXIT pid=%Iu ppid=%Iu\n', ProcessId, ParentId);
          return;
        }
        const process = bug === 'unset-pointer-after-failed-lookup' ? ddi.uninitialized() : { value: 0 };
        const status = ddi.PsLookupProcessByProcessId(ProcessId, process);
        if (!NT_SUCCESS(status) && bug !== 'unset-pointer-after-failed-lookup') {
          ddi.DbgPrint('PROCESS CREATE pid=%Iu ppid=%Iu name=? eprocess=?\n', ProcessId, ParentId);
          if (bug === 'deref-after-failed-lookup') ddi.ObDereferenceObject(process.value);
          return;
        }
        const parent = bug === 'parent-is-creator' ? ddi.PsGetCurrentProcessId() : ParentId;
        const n = nameFor(process.value);
        if (bug === 'stale-name-cache' && !nameCache.has(ProcessId)) nameCache.set(ProcessId, copyName(process.value, 16, true));
        if (bug === 'pointer-as-ulong') {
          ddi.DbgPrint('PROCESS CREATE pid=%Iu ppid=%Iu name=%.15s eprocess=%08X\n', ProcessId, parent, n.p, process.value);
        } else if (bug === 'name-buffer-off-by-one') {
          ddi.DbgPrint('PROCESS CREATE pid=%Iu ppid=%Iu name=%s eprocess=%p\n', ProcessId, parent, n.p, process.value);
        } else {
          ddi.DbgPrint('PROCESS CREATE pid=%Iu ppid=%Iu name=%.15s eprocess=%p\n', ProcessId, parent, n.p, process.value);
        }
        if (n.free && n.p !== 0) ddi.ExFreePoolWithTag(n.p, 'Name');
        if (bug !== 'no-deref-process-create') ddi.ObDereferenceObject(process.value);
      }

      function ThreadNotify(ProcessId: HANDLE, ThreadId: HANDLE, Create: boolean): void {
        if (!Create) {
          if (bug === 'thread-exit-as-process-exit') {
            ddi.DbgPrint('PROCESS EXIT pid=%Iu ppid=%Iu\n', ProcessId, 0);
            return;
          }
          ddi.DbgPrint('THREAD EXIT pid=%Iu tid=%Iu\n', ProcessId, ThreadId);
          return;
        }
        if (bug === 'stale-name-cache') {
          const cached = nameCache.get(ProcessId);
          if (cached !== undefined && cached !== 0) {
            ddi.DbgPrint('THREAD CREATE pid=%Iu tid=%Iu name=%s\n', ProcessId, ThreadId, cached);
            return;
          }
        }
        const process = { value: 0 };
        if (!NT_SUCCESS(ddi.PsLookupProcessByProcessId(ProcessId, process))) {
          ddi.DbgPrint('THREAD CREATE pid=%Iu tid=%Iu name=?\n', ProcessId, ThreadId);
          return;
        }
        ddi.DbgPrint('THREAD CREATE pid=%Iu tid=%Iu name=%.15s\n', ProcessId, ThreadId, imageFileName(process.value));
        if (bug !== 'no-deref-thread-create') ddi.ObDereferenceObject(process.value);
        if (bug === 'double-deref') ddi.ObDereferenceObject(process.value);
      }

      function ImageNotify(FullImageName: PUNICODE_STRING, ProcessId: HANDLE, ImageInfo: PVOID): void {
        if (bug === 'skip-system-images' && ProcessId === 0) return;
        const base = ddi.READ_POINTER(ImageInfo + ddi.IMAGE_INFO.ImageBase);
        const size = ddi.READ_POINTER(ImageInfo + ddi.IMAGE_INFO.ImageSize);
        if (FullImageName === 0) {
          ddi.DbgPrint('IMAGE LOAD pid=%Iu base=%p size=%Iu path=(null)\n', ProcessId, base, size);
          return;
        }
        const buffer = ddi.READ_POINTER(FullImageName + ddi.UNICODE_STRING.Buffer);
        const length = ddi.READ_USHORT(FullImageName + ddi.UNICODE_STRING.Length);
        const chars = length >>> 1;
        switch (bug) {
          case 'path-as-narrow':
            ddi.DbgPrint('IMAGE LOAD pid=%Iu base=%p size=%Iu path=%s\n', ProcessId, base, size, buffer);
            return;
          case 'path-ws-ignores-length':
            ddi.DbgPrint('IMAGE LOAD pid=%Iu base=%p size=%Iu path=%ws\n', ProcessId, base, size, buffer);
            return;
          case 'path-wz-on-buffer':
            ddi.DbgPrint('IMAGE LOAD pid=%Iu base=%p size=%Iu path=%wZ\n', ProcessId, base, size, buffer);
            return;
          case 'path-length-as-chars':
            ddi.DbgPrint('IMAGE LOAD pid=%Iu base=%p size=%Iu path=%.*ws\n', ProcessId, base, size, Math.min(length, PATH_CHUNK), buffer);
            return;
          case 'long-path-one-call':
            ddi.DbgPrint('IMAGE LOAD pid=%Iu base=%p size=%Iu path=%wZ\n', ProcessId, base, size, FullImageName);
            return;
          case 'pointer-as-ulong':
            break;
          default:
        }
        const baseFmt = bug === 'pointer-as-ulong' ? '%08X' : '%p';
        if (chars <= PATH_CHUNK) {
          ddi.DbgPrint(`IMAGE LOAD pid=%Iu base=${baseFmt} size=%Iu path=%wZ\n`, ProcessId, base, size, FullImageName);
          return;
        }
        ddi.DbgPrint(`IMAGE LOAD pid=%Iu base=${baseFmt} size=%Iu path=%.*ws\n`, ProcessId, base, size, PATH_CHUNK, buffer);
        for (let at = PATH_CHUNK; at < chars; at += PATH_CHUNK) {
          ddi.DbgPrint('IMAGE PATH+ %.*ws\n', Math.min(PATH_CHUNK, chars - at), buffer + 2 * at);
        }
      }

      /** Opening and closing the device succeed; other requests are refused. Returns the status it completed with. */
      function Dispatch(_DeviceObject: PDEVICE_OBJECT, Irp: PVOID): NTSTATUS {
        const stack = ddi.IoGetCurrentIrpStackLocation(Irp);
        const major = ddi.READ_UCHAR(stack + ddi.IO_STACK_LOCATION.MajorFunction);
        const status = major === IRP_MJ_CREATE || major === IRP_MJ_CLOSE || major === IRP_MJ_CLEANUP ? STATUS_SUCCESS : STATUS_INVALID_DEVICE_REQUEST;
        ddi.WRITE_ULONG(Irp + ddi.IRP.IoStatus, status);
        ddi.WRITE_POINTER(Irp + ddi.IRP.Information, 0);
        if (bug === 'irp-not-completed' && major === IRP_MJ_DEVICE_CONTROL) return status;
        ddi.IoCompleteRequest(Irp, 0);
        if (bug === 'irp-read-after-complete') return ddi.READ_ULONG(Irp + ddi.IRP.IoStatus);
        return status;
      }

      function removeRoutines(): void {
        if (imageRegistered && bug !== 'unload-forgets-image') ddi.PsRemoveLoadImageNotifyRoutine(ImageNotify);
        if (bug !== 'unload-forgets-thread') ddi.PsRemoveCreateThreadNotifyRoutine(ThreadNotify);
        ddi.PsSetCreateProcessNotifyRoutine(ProcessNotify, true);
      }

      function Unload(_DriverObject: DRIVER_OBJECT): void {
        if (bug === 'unload-wrong-order') {
          ddi.IoDeleteSymbolicLink(LINK_NAME);
          ddi.IoDeleteDevice(device);
          removeRoutines();
          return;
        }
        removeRoutines();
        if (bug !== 'unload-leaks-link') ddi.IoDeleteSymbolicLink(LINK_NAME);
        ddi.IoDeleteDevice(device);
        if (poolBlock !== 0 && bug !== 'pool-leak-on-unload') ddi.ExFreePoolWithTag(poolBlock, 'Mon ');
        for (const p of nameCache.values()) if (p !== 0) ddi.ExFreePoolWithTag(p, 'Name');
      }

      return {
        DriverEntry(d: Ddi, DriverObject: DRIVER_OBJECT): NTSTATUS {
          ddi = d;
          getImageFileName = d.MmGetSystemRoutineAddress('PsGetProcessImageFileName') !== 0;
          canRemove = d.MmGetSystemRoutineAddress('PsRemoveCreateThreadNotifyRoutine') !== 0
            && d.MmGetSystemRoutineAddress('PsRemoveLoadImageNotifyRoutine') !== 0;
          if (!getImageFileName) nameOffset = findNameOffset();
          if (bug === 'pool-leak-on-unload') poolBlock = d.ExAllocatePoolWithTag(0, 64, 'Mon ');
          // dispatch routines before the device exists: the Windows 2000 path below returns early
          for (const major of [IRP_MJ_CREATE, IRP_MJ_CLOSE, IRP_MJ_CLEANUP, IRP_MJ_DEVICE_CONTROL]) DriverObject.MajorFunction[major] = Dispatch;
          const out = { value: 0 };
          let status = d.IoCreateDevice(DriverObject, 0, DEVICE_NAME, FILE_DEVICE_UNKNOWN, 0, true, out);
          if (!NT_SUCCESS(status)) {
            if (poolBlock !== 0) d.ExFreePoolWithTag(poolBlock, 'Mon ');
            return status;
          }
          device = out.value;
          const undo = (steps: ('process' | 'thread' | 'link' | 'device')[]): void => {
            for (const s of steps) {
              if (s === 'process') d.PsSetCreateProcessNotifyRoutine(ProcessNotify, true);
              if (s === 'thread') d.PsRemoveCreateThreadNotifyRoutine(ThreadNotify);
              if (s === 'link') d.IoDeleteSymbolicLink(LINK_NAME);
              if (s === 'device') d.IoDeleteDevice(device);
            }
            if (poolBlock !== 0) d.ExFreePoolWithTag(poolBlock, 'Mon ');
          };
          status = d.IoCreateSymbolicLink(LINK_NAME, DEVICE_NAME);
          if (!NT_SUCCESS(status)) {
            undo(bug === 'no-rollback-link' ? [] : ['device']);
            return status;
          }
          status = d.PsSetCreateProcessNotifyRoutine(ProcessNotify, false);
          if (!NT_SUCCESS(status)) {
            undo(bug === 'no-rollback-process' ? [] : ['link', 'device']);
            return status;
          }
          status = d.PsSetCreateThreadNotifyRoutine(ThreadNotify);
          if (!NT_SUCCESS(status)) {
            if (bug === 'rollback-undoes-failed-step') {
              // undoes the step that failed instead of the ones that succeeded, and gives up when that fails
              if (!canRemove || !NT_SUCCESS(d.PsRemoveCreateThreadNotifyRoutine(ThreadNotify))) return status;
            }
            undo(bug === 'no-rollback-thread' ? [] : ['process', 'link', 'device']);
            return status;
          }
          status = d.PsSetLoadImageNotifyRoutine(ImageNotify);
          if (!NT_SUCCESS(status)) {
            if (!canRemove) {
              // Windows 2000: the thread routine is registered for good; run without image notifications.
              d.DbgPrint('psrefmon: PsSetLoadImageNotifyRoutine failed 0x%08X; image loads are not monitored\n', status);
              return STATUS_SUCCESS;
            }
            if (bug === 'no-rollback-image') return status;
            undo(bug === 'rollback-wrong-order' ? ['link', 'device', 'thread', 'process'] : ['thread', 'process', 'link', 'device']);
            return status;
          }
          imageRegistered = true;
          if (canRemove && bug !== 'no-unload-routine') DriverObject.DriverUnload = Unload;
          return STATUS_SUCCESS;
        },
      };
    },
    parse: parseReference,
    monitors: ['process-create', 'process-exit', 'thread-create', 'thread-exit', 'image-load'],
    notMonitoring: [{ kind: 'image-load', pattern: /image loads are not monitored/ }],
    device: { name: DEVICE_NAME, link: LINK_NAME, exclusive: true },
    sourceUrl: import.meta.url,
  };
}

export const reference: DriverModule = makeMonitor(null);

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
    // each line's first letter rules out the other kinds' patterns (this runs on every line of every run)
    const c = line.charCodeAt(0);
    if (c !== 0x50 /* P */ && c !== 0x54 /* T */ && c !== 0x49 /* I */) continue;
    if (c === 0x50 && (m = RE_PCREATE.exec(line)) !== null) {
      const unknown = m[4] === '?';
      out.push({
        kind: 'process-create', pid: Number(m[1]), ppid: Number(m[2]), line,
        ...(unknown ? {} : { name: m[3], address: hexNorm(m[4]) }),
      });
    } else if (c === 0x50 && (m = RE_PEXIT.exec(line)) !== null) {
      out.push({ kind: 'process-exit', pid: Number(m[1]), ...(m[2] === '0' ? {} : { ppid: Number(m[2]) }), line });
    } else if (c === 0x54 && (m = RE_TCREATE.exec(line)) !== null) {
      out.push({ kind: 'thread-create', pid: Number(m[1]), tid: Number(m[2]), line, ...(m[3] === '?' ? {} : { name: m[3] }) });
    } else if (c === 0x54 && (m = RE_TEXIT.exec(line)) !== null) {
      out.push({ kind: 'thread-exit', pid: Number(m[1]), tid: Number(m[2]), line });
    } else if (c === 0x49 && (m = RE_IMAGE.exec(line)) !== null) {
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
