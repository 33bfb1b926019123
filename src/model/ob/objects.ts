/**
 * The object manager's objects: processes and threads by their body's address, their reference counts, and their
 * object types (PsProcessType, PsThreadType). An object is deleted when its last reference goes: the object type's
 * delete procedure (PspProcessDelete, PspThreadDelete — the process manager's) runs then ([DOC] ObDereferenceObject;
 * [WRK] ob/obref.c). A reference dropped from an object already spent is bug check 0x18.
 */
import { BugCheck, BUGCHECK_REFERENCE_BY_POINTER } from '../ke/bugcheck.js';
import type { KernelCore } from '../ke/core.js';
import type { CidObject, KProcess, KThread } from '../ps/objects.js';

/**
 * What deletes an object whose last reference went: the process manager's routines (an object, not closures made
 * per kernel: a closure of one run called from code every run shares kept earlier runs' objects alive across
 * scavenges — 3.7x the bytes promoted in the reference pipeline, measured).
 */
export interface DeleteProcedures {
  deleteProcess(p: KProcess): void;
  deleteThread(t: KThread): void;
}

export class ObjectManager {
  private readonly objectsByVa = new Map<number, CidObject>();
  private objectTypes: { readonly type: number; readonly cell: number }[] | null = null;
  /** Set by the process manager at boot. */
  deleteProcedures: DeleteProcedures = null as unknown as DeleteProcedures;

  constructor(private readonly ke: KernelCore) {}

  /** An object's body is now at `va` (ObCreateObject / ObInsertObject). */
  insert(va: number, o: CidObject): void {
    this.objectsByVa.set(va, o);
  }

  /** The object at `va` is gone. */
  remove(va: number): void {
    this.objectsByVa.delete(va);
  }

  /** @internal the process or thread object at `va`, or a bug check */
  objectAt(va: number, write: boolean): CidObject {
    const o = this.objectsByVa.get(va);
    if (o !== undefined) return o;
    this.ke.mem.check(va, 1, write);
    throw new BugCheck(BUGCHECK_REFERENCE_BY_POINTER, [0, this.ke.mem.canonical(va), 0, 0], `${this.ke.hex(va)} is not a live object`);
  }

  /**
   * @internal the OBJECT_TYPEs of processes (0) and threads (1), and the exported variables PsProcessType and
   * PsThreadType that point at them: made on first use, so drivers that never ask see the same addresses as before
   */
  objectType(index: 0 | 1): { readonly type: number; readonly cell: number } {
    if (this.objectTypes === null) {
      const mem = this.ke.mem;
      const ps = this.ke.build.pointerSize;
      const cells = mem.alloc(2 * ps, 'ObjT', 'kernel', { type: 'PsProcessType/PsThreadType' });
      this.objectTypes = [0, 1].map((i) => {
        const type = mem.alloc(ps === 4 ? 0x90 : 0xd8, 'ObjT', 'kernel', { type: i === 0 ? 'OBJECT_TYPE Process' : 'OBJECT_TYPE Thread' });
        mem.setPtr(cells + i * ps, type);
        return { type, cell: cells + i * ps };
      });
    }
    return this.objectTypes[index];
  }

  /** A reference dropped from an object whose count is already spent: the object is gone ([DOC] bug check 0x18). */
  private overDereferenced(kind: string, id: number, va: number): never {
    const cb = this.ke.rec.frame?.cb ?? null;
    return this.ke.crash(new BugCheck(BUGCHECK_REFERENCE_BY_POINTER, [0, this.ke.mem.canonical(va), 0, 0],
      `reference count of ${kind} ${id} went below zero (an extra ObDereferenceObject freed it early)`), cb !== null ? 'callback' : 'kernel', cb?.seq ?? null);
  }

  /** @internal */
  dereferenceProcess(p: KProcess): void {
    if (p.pointerCount <= 0 || p.state === 'deleted') this.overDereferenced('process', p.pid, p.eprocess);
    p.pointerCount--;
    if (p.pointerCount === 0) this.deleteProcedures.deleteProcess(p);
  }

  /** @internal */
  dereferenceThread(t: KThread): void {
    if (t.pointerCount <= 0 || t.state === 'deleted') this.overDereferenced('thread', t.tid, t.ethread);
    t.pointerCount--;
    if (t.pointerCount === 0) this.deleteProcedures.deleteThread(t);
  }

  /** A reference the driver takes (a lookup, ObReferenceObject, a kernel handle): counted on the object and in the callback. */
  referenceByDriver(obj: KProcess | KThread): void {
    obj.pointerCount++;
    obj.driverRefs++;
    const f = this.ke.rec.frame;
    if (f?.cb) f.cb.refsTaken++;
  }

  /** A reference the driver held, dropped (ObDereferenceObject, ZwClose of its handle). */
  dereferenceByDriver(o: CidObject, routine: string): void {
    const obj = o.kind === 'process' ? o.p : o.t;
    const va = o.kind === 'process' ? o.p.eprocess : o.t.ethread;
    const f = this.ke.rec.frame;
    if (f?.cb) f.cb.refsDropped++;
    obj.driverRefs--;
    if (obj.pointerCount - 1 === 0 && obj.state === 'active') {
      // The count would reach zero under a live process/thread: illegal for its state ([DOC] bug-check-0x18).
      throw new BugCheck(BUGCHECK_REFERENCE_BY_POINTER, [0, this.ke.mem.canonical(va), 1, 0],
        `${routine} would delete live ${o.kind} ${o.kind === 'process' ? o.p.pid : o.t.tid}`);
    }
    if (o.kind === 'process') this.dereferenceProcess(o.p);
    else this.dereferenceThread(o.t);
  }
}
