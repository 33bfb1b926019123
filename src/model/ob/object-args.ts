/**
 * How a routine takes the objects a driver passes it: a process or thread by its body's address (the wrong kind of
 * object is bug check 0x18), a HANDLE (a kernel handle, or NtCurrentProcess()'s pseudo-handle), and an OUT pointer
 * it writes. Shared by the Ps, Ob and Se routines.
 */
import type { DdiBinding } from '../components.js';
import { BugCheck } from '../ke/bugcheck.js';
import type { CidObject, KProcess, KThread } from '../ps/objects.js';

/** NtCurrentProcess() / ZwCurrentProcess(): the pseudo-handle -1. */
const CURRENT_PROCESS = -1;

/** The object at `va` (as ObReferenceObject of a bad pointer: a bug check if none). */
export function objectAt(b: DdiBinding, va: number): CidObject {
  return b.k.ob.objects.objectAt(va, false);
}

export function processAt(b: DdiBinding, va: number): KProcess {
  const o = objectAt(b, va);
  if (o.kind !== 'process') throw new BugCheck(0x18, [0, b.mem.canonical(va), 0, 0], `${b.k.ke.hex(va)} is a thread, passed as a process`);
  return o.p;
}

export function threadAt(b: DdiBinding, va: number): KThread {
  const o = objectAt(b, va);
  if (o.kind !== 'thread') throw new BugCheck(0x18, [0, b.mem.canonical(va), 0, 0], `${b.k.ke.hex(va)} is a process, passed as a thread`);
  return o.t;
}

/** The OBJECT_TYPE of an object (what `*PsProcessType` / `*PsThreadType` read). */
export function objectTypeOf(b: DdiBinding, o: CidObject): number {
  return b.k.ob.objects.objectType(o.kind === 'process' ? 0 : 1).type;
}

/** A reference the driver takes on an object it named. */
export function referenceOf(b: DdiBinding, o: CidObject): void {
  b.k.ob.objects.referenceByDriver(o.kind === 'process' ? o.p : o.t);
}

/** A HANDLE as the kernel keys it: x86 values unsigned (a 32-bit driver passes 0x8000_0004 as a negative int). */
export function handleValue(b: DdiBinding, h: number): number {
  return b.ps === 4 ? h >>> 0 : h;
}

export function isCurrentProcessHandle(b: DdiBinding, h: number): boolean {
  return h === CURRENT_PROCESS || handleValue(b, h) === (b.ps === 4 ? 0xffffffff : 0xffff_ffff_ffff);
}

/** The object a handle refers to: the current process for the pseudo-handle, else a kernel handle's object. */
export function objectOfHandle(b: DdiBinding, h: number): CidObject | undefined {
  if (isCurrentProcessHandle(b, h)) return { kind: 'process', p: b.k.ke.current.process };
  return b.k.ob.handles.table.get(handleValue(b, h));
}

/** An OUT pointer the routine writes. */
export function writeOut(b: DdiBinding, va: number, value: number): void {
  b.mem.check(va, b.ps, true);
  b.mem.setPtr(va, value);
}
