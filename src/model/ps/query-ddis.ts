/**
 * What a monitor asks about processes and threads beyond the notify routines: the Ps queries, ZwQueryInformationProcess
 * (ProcessBasicInformation, ProcessImageFileName), PsLookupProcessThreadByCid, and the exported PsProcessType and
 * PsThreadType variables. Sources: [DOC] the ntddk/ntifs/wdm page of each name; the undocumented exports
 * (PsGetProcessPeb, PsGetProcessInheritedFromUniqueProcessId, PsIsProtectedProcess) as ntoskrnl exports them ([GC]
 * names lists).
 */
import type { DdiBinding } from '../components.js';
import type { Ddi } from '../ddi.js';
import { requireExport } from '../mm/sysldr.js';
import { objectOfHandle, processAt, referenceOf, threadAt, writeOut } from '../ob/object-args.js';
import { writeStringWithText } from '../rtl/unicode-string.js';
import {
  STATUS_INFO_LENGTH_MISMATCH, STATUS_INVALID_CID, STATUS_INVALID_HANDLE, STATUS_INVALID_INFO_CLASS, STATUS_OBJECT_TYPE_MISMATCH, STATUS_SUCCESS,
  type NTSTATUS,
} from '../status.js';
import type { CidObject } from './objects.js';

/** PROCESSINFOCLASS values ([DOC] ntifs ZwQueryInformationProcess). */
export const ProcessBasicInformation = 0;
export const ProcessImageFileName = 27;

export type PsQueryDdis = Pick<Ddi, 'PsGetCurrentThread' | 'PsGetThreadId' | 'PsGetThreadProcessId' | 'PsIsSystemThread' | 'PsGetProcessCreateTimeQuadPart' | 'PsGetProcessInheritedFromUniqueProcessId' | 'PsGetCurrentProcessSessionId' | 'PsGetProcessSessionId' | 'PsGetProcessPeb' | 'PsIsProtectedProcess' | 'PsLookupProcessThreadByCid' | 'ZwQueryInformationProcess' | 'PSH_OBJECT_TYPE_VARIABLE'>;

export function psQueryDdis(b: DdiBinding): PsQueryDdis {
  return {
    PsGetCurrentThread: () => b.k.ke.current.ethread,
    PsGetThreadId: (t) => {
      requireExport(b.k.ke.build, 'PsGetThreadId');
      return threadAt(b, t).tid;
    },
    PsGetThreadProcessId: (t) => {
      requireExport(b.k.ke.build, 'PsGetThreadProcessId');
      return threadAt(b, t).process.pid;
    },
    PsIsSystemThread: (t) => {
      requireExport(b.k.ke.build, 'PsIsSystemThread');
      return threadAt(b, t).process === b.k.ps.processes.system;
    },
    PsGetProcessCreateTimeQuadPart: (p) => {
      requireExport(b.k.ke.build, 'PsGetProcessCreateTimeQuadPart');
      return processAt(b, p).createTime;
    },
    // read from the EPROCESS as the export does: the field at the build's offset
    PsGetProcessInheritedFromUniqueProcessId: (p) => {
      requireExport(b.k.ke.build, 'PsGetProcessInheritedFromUniqueProcessId');
      processAt(b, p);
      return b.mem.ptr(p + b.k.ke.build.eprocess.InheritedFromUniqueProcessId);
    },
    PsGetCurrentProcessSessionId: () => {
      requireExport(b.k.ke.build, 'PsGetCurrentProcessSessionId');
      return b.k.ke.current.process.sessionId;
    },
    PsGetProcessSessionId: (p) => {
      requireExport(b.k.ke.build, 'PsGetProcessSessionId');
      return processAt(b, p).sessionId;
    },
    PsGetProcessPeb: (p) => {
      requireExport(b.k.ke.build, 'PsGetProcessPeb');
      return processAt(b, p).peb;
    },
    // no process in the simulated machine is protected (CHOICE: PPL is not modelled)
    PsIsProtectedProcess: (p) => {
      requireExport(b.k.ke.build, 'PsIsProtectedProcess');
      processAt(b, p);
      return false;
    },
    PsLookupProcessThreadByCid: (cid, outProcess, outThread) => {
      b.mem.check(cid, 2 * b.ps, false);
      const pid = b.mem.ptr(cid);
      const tid = b.mem.ptr(cid + b.ps);
      const e = b.k.ps.processes.cids.lookup(tid);
      if (e === undefined || e.kind !== 'thread' || e.t.state === 'deleted' || e.t.process.pid !== pid) {
        b.k.rec.log('PsLookupProcessThreadByCid', [String(pid), String(tid)], STATUS_INVALID_CID);
        return STATUS_INVALID_CID;
      }
      const t: CidObject = e;
      const p: CidObject = { kind: 'process', p: e.t.process };
      if (outProcess !== 0) {
        referenceOf(b, p);
        writeOut(b, outProcess, e.t.process.eprocess);
      }
      referenceOf(b, t);
      writeOut(b, outThread, e.t.ethread);
      b.k.rec.log('PsLookupProcessThreadByCid', [String(pid), String(tid)], STATUS_SUCCESS, b.k.ke.hex(e.t.ethread));
      return STATUS_SUCCESS;
    },
    ZwQueryInformationProcess: (h, cls, info, length, returnLength) => {
      requireExport(b.k.ke.build, 'ZwQueryInformationProcess');
      const o = objectOfHandle(b, h);
      if (o === undefined || o.kind !== 'process') {
        const st = o === undefined ? STATUS_INVALID_HANDLE : STATUS_OBJECT_TYPE_MISMATCH;
        b.k.rec.log('ZwQueryInformationProcess', [b.k.ke.hex(h), String(cls)], st);
        return st;
      }
      const proc = o.p;
      const setReturn = (n: number): void => {
        if (returnLength !== 0) {
          b.mem.check(returnLength, 4, true);
          b.mem.setU32(returnLength, n);
        }
      };
      let st: NTSTATUS;
      if (cls === ProcessBasicInformation) {
        // PROCESS_BASIC_INFORMATION: ExitStatus, PebBaseAddress, AffinityMask, BasePriority, UniqueProcessId,
        // InheritedFromUniqueProcessId — 24 bytes on x86, 48 on x64; any other length is a mismatch
        const size = 6 * b.ps;
        if (length !== size) st = STATUS_INFO_LENGTH_MISMATCH;
        else {
          b.mem.check(info, size, true);
          b.mem.setPtr(info, proc.state === 'active' ? 0x103 : 0); // STATUS_PENDING while it runs
          b.mem.setPtr(info + b.ps, proc.peb);
          b.mem.setPtr(info + 2 * b.ps, 1);
          b.mem.setPtr(info + 3 * b.ps, 8); // NORMAL_PRIORITY_CLASS's base priority
          b.mem.setPtr(info + 4 * b.ps, proc.pid);
          b.mem.setPtr(info + 5 * b.ps, proc.ppid);
          st = STATUS_SUCCESS;
        }
        setReturn(size);
      } else if (cls === ProcessImageFileName) {
        // a UNICODE_STRING followed by the NT path; too small a buffer: the size it needs in ReturnLength
        const name = proc.imagePath ?? '';
        const header = b.ps === 4 ? 8 : 16;
        const size = header + 2 * name.length + 2;
        if (length < size) st = STATUS_INFO_LENGTH_MISMATCH;
        else {
          b.mem.check(info, size, true);
          writeStringWithText(b.mem, info, name);
          st = STATUS_SUCCESS;
        }
        setReturn(size);
      } else st = STATUS_INVALID_INFO_CLASS;
      b.k.rec.log('ZwQueryInformationProcess', [b.k.ke.hex(h), String(cls), String(length)], st);
      return st;
    },
    PSH_OBJECT_TYPE_VARIABLE: (index) => b.k.ob.objects.objectType(index === 1 ? 1 : 0).cell,

  };
}
