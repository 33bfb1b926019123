/**
 * The process manager's notify routines: the three tables (PspCreateProcessNotifyRoutine,
 * PspCreateThreadNotifyRoutine, PspLoadImageNotifyRoutine) and the delivery of each notification to the routines
 * in them, in slot order ([WRK] ps/psnotify.c, ps/create.c; [DOC] PsSetCreateProcessNotifyRoutine(Ex),
 * PsSetCreateThreadNotifyRoutine(Ex), PsSetLoadImageNotifyRoutine(Ex)). Every notification the kernel raises is
 * recorded, delivered or not: the completeness invariant's ground truth.
 */
import type { ImageInfoLayout, PCREATE_PROCESS_NOTIFY_ROUTINE, PCREATE_PROCESS_NOTIFY_ROUTINE_EX, PCREATE_THREAD_NOTIFY_ROUTINE, PLOAD_IMAGE_NOTIFY_ROUTINE, PsCreateNotifyInfoLayout } from '../ddi.js';
import { BugCheck, BUGCHECK_DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS } from '../ke/bugcheck.js';
import type { KernelCore } from '../ke/core.js';
import type { Scheduler } from '../ke/scheduler.js';
import { Shadow } from '../mm/memory.js';
import type { CallbackRecord, CallbackTruth, KernelEventRecord, NotificationKind } from '../record.js';
import { allocUnicodeString, freeUnicodeString } from '../rtl/unicode-string.js';
import { NotifyTable, type NotifyKind, type NotifySlot } from './notify-tables.js';
import type { KProcess, KThread } from './objects.js';
import type { Processes } from './processes.js';

export type ProcessRoutine = PCREATE_PROCESS_NOTIFY_ROUTINE | PCREATE_PROCESS_NOTIFY_ROUTINE_EX;
export type ThreadRoutine = PCREATE_THREAD_NOTIFY_ROUTINE;
export type ImageRoutine = PLOAD_IMAGE_NOTIFY_ROUTINE;

/** Other drivers' routines already in the notify tables before the driver loads. */
export interface Crowding {
  readonly process: number;
  readonly thread: number;
  readonly image: number;
}

/** One notification to deliver: the table whose routines are called, what they are told, and how each is called. */
interface Notification<F> {
  readonly table: NotifyTable<F>;
  readonly kind: NotifyKind;
  readonly create: boolean;
  readonly truth: CallbackTruth;
  /** The arguments as the record shows them; `argsFor` when they differ by routine (the Ex process routines). */
  readonly args: Record<string, string | number | boolean | null>;
  readonly argsFor?: (routine: F) => Record<string, string | number | boolean | null>;
  readonly call: (routine: F) => void;
  /** The kernel event it delivers (several CPUs: no one's to miss if a load or unload overlapped it). */
  readonly event: { whileLoaded: boolean; load?: number };
  /** Runs when the delivery is over, however it ended (frees what the routines were passed). */
  readonly after?: () => void;
}

export class NotifyRoutines {
  readonly processTable: NotifyTable<ProcessRoutine>;
  readonly threadTable: NotifyTable<ThreadRoutine>;
  readonly imageTable: NotifyTable<ImageRoutine>;
  /** @internal process routines registered through the Ex/Ex2 calls (called with EPROCESS, PID, CreateInfo) */
  readonly exProcessRoutines = new Set<unknown>();
  /** @internal thread routines registered with PsCreateThreadNotifyNonSystem (create notify on the new thread) */
  readonly newThreadContextRoutines = new Set<unknown>();
  readonly imageInfo: ImageInfoLayout;
  readonly createInfo: PsCreateNotifyInfoLayout;

  constructor(private readonly ke: KernelCore, private readonly processes: Processes) {
    const { capacity, pointerSize: ps } = ke.build;
    this.processTable = new NotifyTable('process', capacity.process);
    this.threadTable = new NotifyTable('thread', capacity.thread);
    this.imageTable = new NotifyTable('image', capacity.image);
    this.imageInfo = ps === 4
      ? { Properties: 0, ImageBase: 4, ImageSelector: 8, ImageSize: 12, ImageSectionNumber: 16 }
      : { Properties: 0, ImageBase: 8, ImageSelector: 16, ImageSize: 24, ImageSectionNumber: 32 };
    this.createInfo = ps === 4
      ? { Size: 0, Flags: 4, ParentProcessId: 8, CreatingThreadId: 12, FileObject: 20, ImageFileName: 24, CommandLine: 28, CreationStatus: 32, size: 36 }
      : { Size: 0, Flags: 8, ParentProcessId: 16, CreatingThreadId: 24, FileObject: 40, ImageFileName: 48, CommandLine: 56, CreationStatus: 64, size: 72 };
  }

  /** The tables, for what walks all three (the residue of an unload, the end state). */
  get tables(): readonly NotifyTable<unknown>[] {
    return [this.processTable, this.threadTable, this.imageTable] as NotifyTable<unknown>[];
  }

  /** Boot: other drivers' routines in the tables (they do nothing observable). */
  crowd(crowd: Crowding): void {
    for (let i = 0; i < crowd.process; i++) this.processTable.register(() => {}, `OtherDriver${i}`, 'OtherDriverProcessNotify');
    for (let i = 0; i < crowd.thread; i++) this.threadTable.register(() => {}, `OtherDriver${i}`, 'OtherDriverThreadNotify');
    for (let i = 0; i < crowd.image; i++) this.imageTable.register(() => {}, `OtherDriver${i}`, 'OtherDriverImageNotify');
  }

  /**
   * Boot: the kernel's own structures a driver could reach by scanning memory (it has no symbol for them): the three
   * notify-routine arrays (EX_CALLBACK slots, [WRK] ps/psnotify.c), the CID handle table, and a pool block of each
   * other driver in the tables. They are never the driver's to write: a store into one is `kernel-memory-owned`,
   * naming it.
   */
  kernelStructures(crowd: Crowding): void {
    const { mem, build } = this.ke;
    const ps = build.pointerSize;
    const arrays: [string, NotifyTable<unknown>][] = [
      ['PspCreateProcessNotifyRoutine', this.processTable], ['PspCreateThreadNotifyRoutine', this.threadTable], ['PspLoadImageNotifyRoutine', this.imageTable],
    ] as [string, NotifyTable<unknown>][];
    for (const [type, table] of arrays) {
      const va = mem.alloc(table.slots.length * ps, 'Ps  ', 'kernel', { type });
      table.slots.forEach((s, i) => {
        // an EX_FAST_REF to the callback block, reference bits set: plausible, never dereferenced here
        if (s !== null) mem.setPtr(va + i * ps, build.kernelVaBase + 0x8000 + 0x40 * i + 0xf);
      });
    }
    mem.alloc(0x400, 'PsCd', 'kernel', { type: 'PspCidTable (handle table)' });
    const others = Math.max(crowd.process, crowd.thread, crowd.image);
    for (let i = 0; i < others; i++) mem.alloc(64, 'Othr', `OtherDriver${i}`, { type: 'pool', foreign: true });
  }

  /** Records a notification the kernel raises, delivered or not (the completeness invariant's ground truth). */
  private raised(kind: NotificationKind, pid: number, tid?: number): KernelEventRecord {
    const { loaded, rec } = this.ke;
    const isLoaded = loaded.state === 'loaded' && loaded.lifecycle === 0;
    // built field by field in the record's key order (spreads of conditional literals allocated twice per event)
    const e: { -readonly [K in keyof KernelEventRecord]: KernelEventRecord[K] } = tid !== undefined
      ? { op: rec.opIndex, kind, pid, tid, whileLoaded: isLoaded }
      : { op: rec.opIndex, kind, pid, whileLoaded: isLoaded };
    if (isLoaded) e.load = loaded.entrySeq;
    rec.record.events?.push(e);
    return e;
  }

  /**
   * The process notify routines for one process creation or exit. One CPU: called now (null comes back); several:
   * the generator that calls them (so are notifyThread and notifyImage).
   */
  notifyProcess(p: KProcess, create: boolean, race?: 'gone' | 'reused', creatorOf?: KThread): Generator<void, void, void> | null {
    const event = this.raised(create ? 'process-create' : 'process-exit', p.pid);
    const truth: CallbackTruth = {
      pid: p.pid, ppid: p.ppid, name: p.name, eprocess: this.ke.hex(p.eprocess),
      previousOwners: this.processes.previousOwners(p.pid), race: race !== undefined && this.ke.profile.exitLookupRaces ? race : undefined,
    };
    const args = { ParentId: p.ppid, ProcessId: p.pid, Create: create };
    let info = 0;
    const exArgs = (): Record<string, string | number | boolean | null> => {
      if (create && info === 0) info = this.allocCreateInfo(p, creatorOf);
      return { Process: this.ke.hex(p.eprocess), ProcessId: p.pid, CreateInfo: info === 0 ? null : this.ke.hex(info) };
    };
    const freeInfo = (): void => {
      if (info === 0 || this.ke.halted) return;
      // what the Ex routines left in CreationStatus decides the creation (ps/lifecycle.ts)
      p.creationStatus = this.ke.mem.u32(info + this.createInfo.CreationStatus) >>> 0;
      this.freeCreateInfo(info);
    };
    return this.deliver({
      table: this.processTable, kind: 'process', create, event, truth, args,
      call: (r) => {
        if (this.exProcessRoutines.has(r)) (r as PCREATE_PROCESS_NOTIFY_ROUTINE_EX)(p.eprocess, p.pid, info);
        else (r as PCREATE_PROCESS_NOTIFY_ROUTINE)(p.ppid, p.pid, create);
      },
      argsFor: (r) => (this.exProcessRoutines.has(r) ? exArgs() : args),
      after: freeInfo,
    });
  }

  /** PS_CREATE_NOTIFY_INFO for the Ex callbacks: parent, creating thread, image name; freed after delivery. */
  private allocCreateInfo(p: KProcess, creator: KThread | undefined): number {
    const { mem, build } = this.ke;
    const L = this.createInfo;
    const va = mem.alloc(L.size, 'PsCi', 'kernel', { type: 'PS_CREATE_NOTIFY_INFO' });
    mem.mark(va + L.CreationStatus, 4, Shadow.Owned); // the one field a routine may set ([DOC] PS_CREATE_NOTIFY_INFO)
    mem.setPtr(va + L.Size, L.size);
    mem.setU32(va + L.Flags, p.imagePath === null ? 0 : 1); // FileOpenNameAvailable
    mem.setPtr(va + L.ParentProcessId, p.ppid);
    mem.setPtr(va + L.CreatingThreadId, creator?.process.pid ?? this.processes.system.pid);
    mem.setPtr(va + L.CreatingThreadId + build.pointerSize, creator?.tid ?? this.processes.systemThread().tid);
    if (p.imagePath !== null) {
      mem.setPtr(va + L.ImageFileName, allocUnicodeString(mem, p.imagePath, 'kernel'));
      mem.setPtr(va + L.CommandLine, allocUnicodeString(mem, `"${p.imagePath}"`, 'kernel'));
    }
    return va;
  }

  private freeCreateInfo(va: number): void {
    const mem = this.ke.mem;
    const L = this.createInfo;
    for (const field of [L.ImageFileName, L.CommandLine]) {
      const us = mem.ptr(va + field);
      if (us === 0) continue;
      freeUnicodeString(mem, us);
    }
    mem.free(va);
  }

  notifyThread(t: KThread, create: boolean, race?: 'gone' | 'reused'): Generator<void, void, void> | null {
    const event = this.raised(create ? 'thread-create' : 'thread-exit', t.process.pid, t.tid);
    const p = t.process;
    const truth: CallbackTruth = {
      pid: p.pid, tid: t.tid, name: p.name, eprocess: this.ke.hex(p.eprocess),
      previousOwners: this.processes.previousOwners(p.pid), race: race !== undefined && this.ke.profile.exitLookupRaces ? race : undefined,
    };
    const args = { ProcessId: p.pid, ThreadId: t.tid, Create: create };
    return this.deliver({
      table: this.threadTable, kind: 'thread', create, event, truth, args,
      call: (r) => {
        if (create && this.newThreadContextRoutines.has(r)) this.ke.withContext(t, () => r(p.pid, t.tid, create));
        else r(p.pid, t.tid, create);
      },
    });
  }

  notifyImage(p: KProcess | null, path: string | null, base: number, size: number): Generator<void, void, void> | null {
    const event = this.raised('image-load', p === null ? 0 : p.pid);
    const pid = p === null ? 0 : p.pid;
    const table = this.imageTable;
    const { mem, loaded } = this.ke;
    if (!table.slots.some((s) => s !== null && s.owner === loaded.name)) {
      return null; // nothing of the driver under test to call; other drivers' routines are no-ops
    }
    // FullImageName (not NUL-terminated: MaximumLength covers stale characters after Length) and IMAGE_INFO,
    // freed when the notification is over.
    const us = path === null ? 0 : allocUnicodeString(mem, path, 'kernel', true);
    const ii = mem.alloc(this.ke.build.pointerSize === 4 ? 20 : 40, 'ImgI', 'kernel', { type: 'IMAGE_INFO' });
    const props = (p === null ? 1 : 0) << 8; // ImageAddressingMode 0 (IMAGE_ADDRESSING_MODE_32BIT), SystemModeImage bit 8
    mem.setU32(ii + this.imageInfo.Properties, props);
    mem.setPtr(ii + this.imageInfo.ImageBase, base);
    mem.setPtr(ii + this.imageInfo.ImageSize, size);
    const truth: CallbackTruth = {
      pid, name: p?.name, imagePath: path, imageBase: this.ke.hex(base), imageSize: size, systemImage: p === null,
    };
    const args = { FullImageName: us === 0 ? null : this.ke.hex(us), ProcessId: pid, ImageInfo: this.ke.hex(ii) };
    const freeInfo = (): void => {
      if (this.ke.halted) return;
      if (us !== 0) freeUnicodeString(mem, us);
      mem.free(ii);
    };
    return this.deliver({ table, kind: 'image', create: true, event, truth, args, call: (r) => r(us, pid, ii), after: freeInfo });
  }

  /**
   * Calls the driver under test's routines in the notification's table. On one CPU nothing can switch, so they are
   * called now, without a generator (null comes back); on several, the generator that calls them is returned.
   */
  private deliver<F>(n: Notification<F>): Generator<void, void, void> | null {
    if (this.ke.cpus.sched !== null) return this.deliverConcurrently(n);
    const rec = this.ke.rec;
    const mine = this.ke.loaded.name;
    const slots = n.table.slots;
    try {
      for (let slot = 0; slot < slots.length; slot++) {
        const s = slots[slot];
        if (s === null || s.owner !== mine) continue; // other drivers' routines do nothing observable
        const cb = this.callbackRecord(n, s, slot);
        rec.frame = { ddi: cb.ddi, prints: cb.prints, cb };
        try {
          this.ke.runCallbackNow(cb, s.routine, n.call);
        } finally {
          rec.frame = null;
        }
      }
    } finally {
      n.after?.();
    }
    return null;
  }

  private *deliverConcurrently<F>(n: Notification<F>): Generator<void, void, void> {
    const { rec, loaded, cpus } = this.ke;
    const mine = loaded.name;
    const slots = n.table.slots;
    const sched = cpus.sched as Scheduler;
    try {
      const delivery = loaded.lifecycleChanges;
      for (let slot = 0; slot < slots.length; slot++) {
        if (slots[slot] === null || slots[slot]?.owner !== mine) continue; // other drivers' routines do nothing observable
        // a scheduling point before the kernel takes the routine (the slot may be emptied meanwhile)
        if (sched.point((slots[slot] as NotifySlot<F>).starts)) yield;
        const s = slots[slot];
        if (s === null || s.owner !== mine) continue;
        const cb = this.callbackRecord(n, s, slot);
        rec.frame = { ddi: cb.ddi, prints: cb.prints, cb };
        const epoch = loaded.lifecycleChanges;
        // the notify routine's callback block is referenced while it runs: its removal waits for this call to end
        // ([WRK] ps/psnotify.c: ExReferenceCallBackBlock / ExWaitForCallBacks → the block's rundown protection)
        cpus.acquireRundown(s.routine);
        cb.cpu = sched.running?.cpu;
        cpus.syncAcquire(loaded.addressOf(s.routine));
        try {
          // only a driver with fibers can be switched out inside its routine; any other runs it to the end now
          if (cpus.fibers) yield* this.ke.runDriverCode(null, cb, () => n.call(s.routine));
          else this.ke.runCallbackNow(cb, s.routine, n.call, sched.running);
        } finally {
          rec.frame = null;
          cpus.releaseRundown(s.routine);
          cpus.syncRelease(loaded.addressOf(s.routine));
          if (loaded.lifecycleChanges !== epoch || loaded.lifecycle > 0) cb.lifecycle = true;
        }
      }
      // an event the driver's load or unload overlapped while it was delivered is no one's to miss
      if (n.event.whileLoaded && (loaded.lifecycleChanges !== delivery || loaded.lifecycle > 0)) {
        n.event.whileLoaded = false;
        delete n.event.load;
      }
    } finally {
      n.after?.();
    }
  }

  /** The record of one call of a notify routine; after the driver's unload, the fault of calling it. */
  private callbackRecord<F>(n: Notification<F>, s: NotifySlot<F>, slot: number): CallbackRecord {
    const { rec, loaded } = this.ke;
    const cb: CallbackRecord = {
      seq: rec.nextSeq(), op: rec.opIndex, kind: n.kind, create: n.create, routine: s.name, slot,
      args: n.argsFor === undefined ? n.args : n.argsFor(s.routine),
      context: { pid: this.ke.current.process.pid, tid: this.ke.current.tid }, truth: n.truth,
      ddi: [], prints: [], refsTaken: 0, refsDropped: 0, outcome: 'returned',
    };
    rec.record.callbacks.push(cb);
    if (loaded.state === 'unloaded' || loaded.state === 'failed-load') {
      // The routine's code is gone: the CPU faults in freed driver space ([DOC] bug-check-0xce).
      const addr = loaded.knownAddress(s.routine);
      cb.outcome = 'bugcheck';
      this.ke.crash(new BugCheck(BUGCHECK_DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS,
        [this.ke.mem.canonical(addr), 0, this.ke.mem.canonical(addr), 0],
        `${n.kind} notify routine ${s.name} (slot ${slot}) called after ${loaded.name}.sys was unloaded`), 'callback', cb.seq);
    }
    return cb;
  }
}
