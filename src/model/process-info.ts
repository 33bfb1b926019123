/**
 * What a monitor asks about processes and threads beyond the notify routines: the Ps queries, the image name
 * (SeLocateProcessImageName, ZwQueryInformationProcess), kernel handles (ObOpenObjectByPointer, ZwClose) and
 * references by pointer. Sources per routine: [DOC] ntddk/ntifs/wdm pages of each name; the undocumented
 * exports (PsGetProcessPeb, PsGetProcessInheritedFromUniqueProcessId, PsIsProtectedProcess) as ntoskrnl exports
 * them ([GC] names lists). Kernel handles take a reference on their object: a handle never closed is a reference
 * never released, which `references-released` reports.
 */
import { BugCheck } from './ke/bugcheck.js';
import type { CidObject, KProcess, KThread } from './ps/objects.js';
import type { KernelMemory } from './mm/memory.js';
import {
  STATUS_INFO_LENGTH_MISMATCH,
  STATUS_INSUFFICIENT_RESOURCES,
  STATUS_INVALID_CID,
  STATUS_INVALID_HANDLE,
  STATUS_INVALID_INFO_CLASS,
  STATUS_OBJECT_TYPE_MISMATCH,
  STATUS_SUCCESS,
  type NTSTATUS,
} from './status.js';

/** INVALID_KERNEL_HANDLE: closing a kernel handle that is not open ([DOC] bug-check-0x93). */
export const BUGCHECK_INVALID_KERNEL_HANDLE = 0x93;
/** PROCESSINFOCLASS values ([DOC] ntifs ZwQueryInformationProcess). */
export const ProcessBasicInformation = 0;
export const ProcessImageFileName = 27;
/** The two object types a monitor passes: index 0 `*PsProcessType`, 1 `*PsThreadType`. */
export type ObjectTypeIndex = 0 | 1;

export interface ProcessInfoContext {
  readonly mem: KernelMemory;
  readonly pointerSize: 4 | 8;
  readonly current: () => KThread;
  readonly system: KProcess;
  lookupCid(id: number): CidObject | undefined;
  /** The object at `va`, or a bug check (as ObReferenceObject of a bad pointer). */
  objectAt(va: number): CidObject;
  takeReference(o: CidObject): void;
  dropReference(o: CidObject): void;
  /** The OBJECT_TYPE a `*PsProcessType` / `*PsThreadType` reads, and the cells holding them. */
  objectType(index: ObjectTypeIndex): { readonly type: number; readonly cell: number };
  readonly kernelHandles: Map<number, CidObject>;
  nextKernelHandle(): number;
  /** Paged pool for the driver (0 when exhausted). */
  allocate(bytes: number, tag: string): number;
  log(name: string, args: string[], status?: NTSTATUS, result?: string): void;
  hex(va: number): string;
  /** A TypeScript driver calling a routine its build does not export: an error naming it. */
  requireExport(name: string): void;
  /** EPROCESS.InheritedFromUniqueProcessId's offset on this build. */
  readonly inheritedFromUniqueProcessId: number;
}

export interface ProcessInfoRoutines {
  PsGetCurrentThread(): number;
  PsGetThreadId(Thread: number): number;
  PsGetThreadProcessId(Thread: number): number;
  PsIsSystemThread(Thread: number): boolean;
  /** LONGLONG: the process's creation time. */
  PsGetProcessCreateTimeQuadPart(Process: number): bigint;
  PsGetProcessInheritedFromUniqueProcessId(Process: number): number;
  PsGetCurrentProcessSessionId(): number;
  PsGetProcessSessionId(Process: number): number;
  PsGetProcessPeb(Process: number): number;
  PsIsProtectedProcess(Process: number): boolean;
  /** Cid: a CLIENT_ID in memory; Process may be 0 (not wanted). */
  PsLookupProcessThreadByCid(Cid: number, Process: number, Thread: number): NTSTATUS;
  /** Writes a pointer to a pool UNICODE_STRING (header and characters in one block the caller frees). */
  SeLocateProcessImageName(Process: number, pImageFileName: number): NTSTATUS;
  ZwQueryInformationProcess(ProcessHandle: number, InfoClass: number, Information: number, Length: number, ReturnLength: number): NTSTATUS;
  ObOpenObjectByPointer(Object: number, HandleAttributes: number, AccessState: number, DesiredAccess: number, ObjectType: number, AccessMode: number, Handle: number): NTSTATUS;
  ZwClose(Handle: number): NTSTATUS;
  ObReferenceObjectByPointer(Object: number, DesiredAccess: number, ObjectType: number, AccessMode: number): NTSTATUS;
  /** The address of the exported variable PsProcessType (0) or PsThreadType (1): POBJECT_TYPE *. */
  PSH_OBJECT_TYPE_VARIABLE(Index: number): number;
}

/** NtCurrentProcess() / ZwCurrentProcess(): the pseudo-handle -1. */
const CURRENT_PROCESS = -1;

export function processInfoRoutines(c: ProcessInfoContext): ProcessInfoRoutines {
  const { mem } = c;
  const ps = c.pointerSize;
  const process = (va: number): KProcess => {
    const o = c.objectAt(va);
    if (o.kind !== 'process') throw new BugCheck(0x18, [0, mem.canonical(va), 0, 0], `${c.hex(va)} is a thread, passed as a process`);
    return o.p;
  };
  const thread = (va: number): KThread => {
    const o = c.objectAt(va);
    if (o.kind !== 'thread') throw new BugCheck(0x18, [0, mem.canonical(va), 0, 0], `${c.hex(va)} is a process, passed as a thread`);
    return o.t;
  };
  const typeOf = (o: CidObject): number => c.objectType(o.kind === 'process' ? 0 : 1).type;
  /** A HANDLE as the kernel keys it: x86 values unsigned (a 32-bit driver passes 0x8000_0004 as a negative int). */
  const handle = (h: number): number => (ps === 4 ? h >>> 0 : h);
  const isCurrentProcess = (h: number): boolean => h === CURRENT_PROCESS || handle(h) === (ps === 4 ? 0xffffffff : 0xffff_ffff_ffff);
  const handleObject = (h: number): CidObject | undefined => {
    if (isCurrentProcess(h)) return { kind: 'process', p: c.current().process };
    return c.kernelHandles.get(handle(h));
  };
  /** A UNICODE_STRING at `at` whose characters (and a NUL) follow it: SeLocateProcessImageName's and ProcessImageFileName's form. */
  const writeStringWithText = (at: number, text: string): void => {
    const header = ps === 4 ? 8 : 16;
    mem.setU16(at, 2 * text.length);
    mem.setU16(at + 2, 2 * text.length + 2);
    mem.setPtr(at + (ps === 4 ? 4 : 8), at + header);
    for (let i = 0; i < text.length; i++) mem.setU16(at + header + 2 * i, text.charCodeAt(i));
    mem.setU16(at + header + 2 * text.length, 0);
  };
  const writeOut = (va: number, value: number): void => {
    mem.check(va, ps, true);
    mem.setPtr(va, value);
  };
  return {
    PsGetCurrentThread: () => c.current().ethread,
    PsGetThreadId: (t) => {
      c.requireExport('PsGetThreadId');
      return thread(t).tid;
    },
    PsGetThreadProcessId: (t) => {
      c.requireExport('PsGetThreadProcessId');
      return thread(t).process.pid;
    },
    PsIsSystemThread: (t) => {
      c.requireExport('PsIsSystemThread');
      return thread(t).process === c.system;
    },
    PsGetProcessCreateTimeQuadPart: (p) => {
      c.requireExport('PsGetProcessCreateTimeQuadPart');
      return process(p).createTime;
    },
    // read from the EPROCESS as the export does: the field at the build's offset
    PsGetProcessInheritedFromUniqueProcessId: (p) => {
      c.requireExport('PsGetProcessInheritedFromUniqueProcessId');
      process(p);
      return mem.ptr(p + c.inheritedFromUniqueProcessId);
    },
    PsGetCurrentProcessSessionId: () => {
      c.requireExport('PsGetCurrentProcessSessionId');
      return c.current().process.sessionId;
    },
    PsGetProcessSessionId: (p) => {
      c.requireExport('PsGetProcessSessionId');
      return process(p).sessionId;
    },
    PsGetProcessPeb: (p) => {
      c.requireExport('PsGetProcessPeb');
      return process(p).peb;
    },
    // no process in the simulated machine is protected (CHOICE: PPL is not modelled)
    PsIsProtectedProcess: (p) => {
      c.requireExport('PsIsProtectedProcess');
      process(p);
      return false;
    },
    PsLookupProcessThreadByCid: (cid, outProcess, outThread) => {
      mem.check(cid, 2 * ps, false);
      const pid = mem.ptr(cid);
      const tid = mem.ptr(cid + ps);
      const e = c.lookupCid(tid);
      if (e === undefined || e.kind !== 'thread' || e.t.state === 'deleted' || e.t.process.pid !== pid) {
        c.log('PsLookupProcessThreadByCid', [String(pid), String(tid)], STATUS_INVALID_CID);
        return STATUS_INVALID_CID;
      }
      const t: CidObject = e;
      const p: CidObject = { kind: 'process', p: e.t.process };
      if (outProcess !== 0) {
        c.takeReference(p);
        writeOut(outProcess, e.t.process.eprocess);
      }
      c.takeReference(t);
      writeOut(outThread, e.t.ethread);
      c.log('PsLookupProcessThreadByCid', [String(pid), String(tid)], STATUS_SUCCESS, c.hex(e.t.ethread));
      return STATUS_SUCCESS;
    },
    SeLocateProcessImageName: (p, out) => {
      c.requireExport('SeLocateProcessImageName');
      const proc = process(p);
      const name = proc.imagePath ?? '';
      const header = ps === 4 ? 8 : 16;
      const block = c.allocate(header + 2 * name.length + 2, 'SeLP');
      if (block === 0) {
        c.log('SeLocateProcessImageName', [c.hex(p)], STATUS_INSUFFICIENT_RESOURCES);
        return STATUS_INSUFFICIENT_RESOURCES;
      }
      writeStringWithText(block, name);
      mem.markWritten(block, header + 2 * name.length + 2);
      writeOut(out, block);
      c.log('SeLocateProcessImageName', [c.hex(p)], STATUS_SUCCESS, c.hex(block));
      return STATUS_SUCCESS;
    },
    ZwQueryInformationProcess: (h, cls, info, length, returnLength) => {
      c.requireExport('ZwQueryInformationProcess');
      const o = handleObject(h);
      if (o === undefined || o.kind !== 'process') {
        const st = o === undefined ? STATUS_INVALID_HANDLE : STATUS_OBJECT_TYPE_MISMATCH;
        c.log('ZwQueryInformationProcess', [c.hex(h), String(cls)], st);
        return st;
      }
      const proc = o.p;
      const setReturn = (n: number): void => {
        if (returnLength !== 0) {
          mem.check(returnLength, 4, true);
          mem.setU32(returnLength, n);
        }
      };
      let st: NTSTATUS;
      if (cls === ProcessBasicInformation) {
        // PROCESS_BASIC_INFORMATION: ExitStatus, PebBaseAddress, AffinityMask, BasePriority, UniqueProcessId,
        // InheritedFromUniqueProcessId — 24 bytes on x86, 48 on x64; any other length is a mismatch
        const size = 6 * ps;
        if (length !== size) st = STATUS_INFO_LENGTH_MISMATCH;
        else {
          mem.check(info, size, true);
          mem.setPtr(info, proc.state === 'active' ? 0x103 : 0); // STATUS_PENDING while it runs
          mem.setPtr(info + ps, proc.peb);
          mem.setPtr(info + 2 * ps, 1);
          mem.setPtr(info + 3 * ps, 8); // NORMAL_PRIORITY_CLASS's base priority
          mem.setPtr(info + 4 * ps, proc.pid);
          mem.setPtr(info + 5 * ps, proc.ppid);
          st = STATUS_SUCCESS;
        }
        setReturn(size);
      } else if (cls === ProcessImageFileName) {
        // a UNICODE_STRING followed by the NT path; too small a buffer: the size it needs in ReturnLength
        const name = proc.imagePath ?? '';
        const header = ps === 4 ? 8 : 16;
        const size = header + 2 * name.length + 2;
        if (length < size) st = STATUS_INFO_LENGTH_MISMATCH;
        else {
          mem.check(info, size, true);
          writeStringWithText(info, name);
          st = STATUS_SUCCESS;
        }
        setReturn(size);
      } else st = STATUS_INVALID_INFO_CLASS;
      c.log('ZwQueryInformationProcess', [c.hex(h), String(cls), String(length)], st);
      return st;
    },
    ObOpenObjectByPointer: (obj, _attributes, _accessState, _access, type, _mode, out) => {
      const o = c.objectAt(obj);
      if (type !== 0 && type !== typeOf(o)) {
        c.log('ObOpenObjectByPointer', [c.hex(obj)], STATUS_OBJECT_TYPE_MISMATCH);
        return STATUS_OBJECT_TYPE_MISMATCH;
      }
      // a kernel handle (OBJ_KERNEL_HANDLE): the top bit set; x64 values kept in 48-bit form (0xFFFFFFFF8…)
      const h = (ps === 4 ? 0x8000_0000 : 0xffff_8000_0000) + 4 * c.nextKernelHandle();
      c.kernelHandles.set(h, o);
      c.takeReference(o);
      writeOut(out, h);
      c.log('ObOpenObjectByPointer', [c.hex(obj)], STATUS_SUCCESS, c.hex(h));
      return STATUS_SUCCESS;
    },
    ZwClose: (raw) => {
      const h = handle(raw);
      const o = c.kernelHandles.get(h);
      if (o === undefined) {
        if (isCurrentProcess(h)) return STATUS_SUCCESS; // the current-process pseudo-handle: nothing to close
        throw new BugCheck(BUGCHECK_INVALID_KERNEL_HANDLE, [mem.canonical(h), 0, 0, 0], `ZwClose(${c.hex(h)}): not an open kernel handle`);
      }
      c.kernelHandles.delete(h);
      c.log('ZwClose', [c.hex(h)], STATUS_SUCCESS);
      c.dropReference(o);
      return STATUS_SUCCESS;
    },
    ObReferenceObjectByPointer: (obj, _access, type, _mode) => {
      const o = c.objectAt(obj);
      if (type !== 0 && type !== typeOf(o)) {
        c.log('ObReferenceObjectByPointer', [c.hex(obj)], STATUS_OBJECT_TYPE_MISMATCH);
        return STATUS_OBJECT_TYPE_MISMATCH;
      }
      c.takeReference(o);
      c.log('ObReferenceObjectByPointer', [c.hex(obj)], STATUS_SUCCESS);
      return STATUS_SUCCESS;
    },
    PSH_OBJECT_TYPE_VARIABLE: (index) => c.objectType(index === 1 ? 1 : 0).cell,
  };
}
