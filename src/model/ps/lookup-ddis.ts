/**
 * The process manager's lookups and the current process and thread: PsLookupProcessByProcessId and
 * PsLookupThreadByThreadId (each takes a reference the driver must drop), PsGetCurrentProcess(Id), PsGetCurrentThreadId,
 * PsGetProcessId, PsGetProcessImageFileName (nothing but Process + the build's offset: OSR NT Insider 2006).
 */
import type { DdiBinding } from '../components.js';
import type { Ddi } from '../ddi.js';
import type { Out } from '../ddi.js';
import { requireExport } from '../mm/sysldr.js';
import { STATUS_SUCCESS } from '../status.js';

export type PsLookupDdis = Pick<Ddi, 'PsLookupThreadByThreadId' | 'PsLookupProcessByProcessId' | 'PsGetCurrentProcessId' | 'PsGetCurrentThreadId' | 'PsGetCurrentProcess' | 'PsGetProcessId' | 'PsGetProcessImageFileName'>;

export function psLookupDdis(b: DdiBinding): PsLookupDdis {
  return {
    PsLookupThreadByThreadId: (tid, out: Out<number>) => {
      const e = b.k.ps.processes.cids.lookup(tid);
      if (e === undefined || e.kind !== 'thread' || e.t.state === 'deleted') {
        b.k.rec.log('PsLookupThreadByThreadId', [String(tid)], b.k.ke.build.lookupNotFound);
        return b.k.ke.build.lookupNotFound;
      }
      const t = e.t;
      b.k.ob.objects.referenceByDriver(t);
      out.value = t.ethread;
      b.k.rec.log('PsLookupThreadByThreadId', [String(tid)], STATUS_SUCCESS, `${b.k.ke.hex(t.ethread)} PointerCount=${t.pointerCount}`);
      return STATUS_SUCCESS;
    },
    PsLookupProcessByProcessId: (pid, out: Out<number>) => {
      const f = b.k.ke.faults.fault('PsLookupProcessByProcessId');
      if (f !== undefined) {
        b.k.rec.log('PsLookupProcessByProcessId', [String(pid)], f, undefined, true);
        return f;
      }
      const e = b.k.ps.processes.cids.lookup(pid);
      if (e === undefined || e.kind !== 'process' || e.p.state === 'deleted') {
        b.k.rec.log('PsLookupProcessByProcessId', [String(pid)], b.k.ke.build.lookupNotFound);
        return b.k.ke.build.lookupNotFound;
      }
      const p = e.p;
      b.k.ob.objects.referenceByDriver(p);
      out.value = p.eprocess;
      b.k.rec.log('PsLookupProcessByProcessId', [String(pid)], STATUS_SUCCESS, `${b.k.ke.hex(p.eprocess)} (${p.name}) PointerCount=${p.pointerCount}`);
      return STATUS_SUCCESS;
    },
    PsGetCurrentProcessId: () => b.k.ke.current.process.pid,
    PsGetCurrentThreadId: () => b.k.ke.current.tid,
    PsGetCurrentProcess: () => b.k.ke.current.process.eprocess,
    PsGetProcessId: (p) => {
      requireExport(b.k.ke.build, 'PsGetProcessId');
      b.k.ob.objects.objectAt(p, false);
      return b.mem.ptr(p + b.k.ke.build.eprocess.UniqueProcessId);
    },
    PsGetProcessImageFileName: (p) => {
      requireExport(b.k.ke.build, 'PsGetProcessImageFileName');
      b.mem.check(p, 1, false);
      return p + b.k.ke.build.eprocess.ImageFileName; // nothing but Process + offset (OSR NT Insider 2006)
    },
  };
}
