/**
 * The process manager's objects: processes and threads, their EPROCESS/ETHREAD bodies in kernel memory, their client
 * IDs in the CID table, and their deletion when the object manager drops the last reference (PspProcessDelete,
 * PspThreadDelete). The System process and its first thread exist from boot ([WRK] ps/psinit.c).
 */
import { imageFileNameChars } from '../builds.js';
import { BOOT_FILETIME, type KernelCore } from '../ke/core.js';
import { KernelMemory } from '../mm/memory.js';
import type { DeleteProcedures, ObjectManager } from '../ob/objects.js';
import { fnv1a, mulberry32 } from '../rtl/prng.js';
import { CidTable, type CidReusePolicy } from './cid-table.js';
import type { CidObject, KProcess, KThread } from './objects.js';

const ETHREAD_SIZE = { 4: 0x258, 8: 0x4c0 } as const;
/** Filler templates (pure functions of their key, so sharing them across kernels keeps runs deterministic). */
const TEMPLATES = new Map<string, Uint8Array>();

export class Processes implements DeleteProcedures {
  readonly cids: CidTable<CidObject>;
  readonly system: KProcess;
  readonly processes: KProcess[] = [];
  readonly threads: KThread[] = [];
  /** Each PID's earlier owners' names (distinct), for the record's ground truth of PID reuse. */
  private readonly pidOwners = new Map<number, readonly string[]>();
  private serial = 0;

  constructor(private readonly ke: KernelCore, private readonly ob: ObjectManager, reusePolicy: CidReusePolicy) {
    this.cids = new CidTable<CidObject>(reusePolicy, 4);
    ob.deleteProcedures = this;
    // The System process and one system thread exist before anything else ([WRK] ps/psinit.c).
    this.system = this.newProcess(ke.build.systemPid, 0, 'System', null);
    ke.current = this.newThread(this.system);
  }

  /**
   * A long-running machine: the processes and threads created from now on get client IDs from `first` up (the CID
   * table has grown that far; [WRK] ex/handle.c: IDs are handle-table indices × 4, with no 16-bit limit).
   */
  advanceClientIds(first: number): void {
    this.cids.skipTo(first);
  }

  private nextSerial(): number {
    return ++this.serial;
  }

  /**
   * Unmodelled fields hold plausible data (zeros, pool pointers, counters), so a read at a wrong offset returns
   * wrong bytes, not zeros. One deterministic template per build and object size, copied in: cheap and stable.
   */
  private fillPlausible(va: number, size: number): void {
    const build = this.ke.build;
    const key = `${build.id}/${size}`;
    let t = TEMPLATES.get(key);
    if (t === undefined) {
      const scratch = new KernelMemory(build.kernelVaBase, build.pointerSize, 1);
      const at = scratch.alloc(size, 'tmpl', 'kernel');
      const rnd = mulberry32(fnv1a(key));
      const ps = build.pointerSize;
      for (let off = 0; off + ps <= size; off += ps) {
        const r = rnd() % 10;
        if (r < 4) continue;
        if (r < 7) scratch.setPtr(at + off, build.kernelVaBase + 0x10000 + (rnd() % 0x400000) * 8);
        else if (r < 9) scratch.setU32(at + off, rnd() % 0x400);
        else scratch.setU32(at + off, rnd());
      }
      t = scratch.slice(at, size).slice();
      TEMPLATES.set(key, t);
    }
    this.ke.mem.setBytes(va, t);
  }

  /**
   * @internal a process object and its EPROCESS. Its PID comes from a fresh CID entry (`null`), a fixed one (the
   * System process), or is borrowed without an entry (the adversarial profile's interloper, which never runs threads).
   */
  newProcess(pid: number | null | { borrowed: number }, ppid: number, name: string, imagePath: string | null): KProcess {
    const { build, mem } = this.ke;
    const layout = build.eprocess;
    const serial = this.nextSerial();
    const eprocess = mem.alloc(layout.size, 'Proc', 'kernel', { type: 'EPROCESS' });
    this.fillPlausible(eprocess, layout.size);
    const system = this.system === undefined;
    const proc: KProcess = {
      serial, pid: 0, ppid, name: '', imagePath, eprocess, threads: [], activeThreads: 0,
      state: 'active', pointerCount: 1, driverRefs: 0, userImages: 0, creationStatus: 0,
      createTime: system ? BOOT_FILETIME : this.ke.systemTime(), sessionId: system ? 0 : 1,
      // a PEB near the top of the user address space (x86: below 0x7FFE0000; x64: in the low 2^40), one page each
      peb: system ? 0 : build.pointerSize === 4 ? 0x7ffdf000 - 0x1000 * (serial % 0x40) : 0x3e_0000_0000 + 0x1000 * serial,
    };
    const entry: CidObject = { kind: 'process', p: proc };
    let id: number;
    if (pid === null) id = this.cids.create(entry);
    else if (typeof pid === 'object') id = pid.borrowed;
    else {
      this.cids.createAt(pid, entry);
      id = pid;
    }
    // ImageFileName: the last path component, each WCHAR narrowed by truncation, at most sizeof-1 chars, then NUL
    // ([WRK] mm/procsup.c).
    const base = name.slice(name.lastIndexOf('\\') + 1);
    const stored = Array.from(base.slice(0, imageFileNameChars(build)), (c) => String.fromCharCode(c.charCodeAt(0) & 0xff)).join('');
    const p = proc as { -readonly [K in keyof KProcess]: KProcess[K] };
    p.pid = id;
    p.name = stored;
    mem.fill(eprocess + layout.ImageFileName, layout.ImageFileNameSize, 0);
    for (let i = 0; i < stored.length; i++) mem.setU8(eprocess + layout.ImageFileName + i, stored.charCodeAt(i));
    mem.setPtr(eprocess + layout.UniqueProcessId, id);
    mem.setPtr(eprocess + layout.InheritedFromUniqueProcessId, ppid);
    const links = (this.system ?? proc).eprocess + layout.ActiveProcessLinks;
    mem.setPtr(eprocess + layout.ActiveProcessLinks, links);
    mem.setPtr(eprocess + layout.ActiveProcessLinks + build.pointerSize, links);
    this.ob.insert(eprocess, entry);
    this.processes.push(proc);
    return proc;
  }

  /** @internal a thread object of `process` and its ETHREAD, with a fresh client ID. */
  newThread(process: KProcess): KThread {
    const ps = this.ke.build.pointerSize;
    const serial = this.nextSerial();
    // ETHREAD contents are not modelled (no driver here reads them): zero-filled, unlike EPROCESS
    const ethread = this.ke.mem.alloc(ETHREAD_SIZE[ps], 'Thre', 'kernel', { type: 'ETHREAD' });
    const t: KThread = { serial, tid: 0, process, ethread, state: 'active', pointerCount: 1, driverRefs: 0 };
    const entry: CidObject = { kind: 'thread', t };
    (t as { tid: number }).tid = this.cids.create(entry);
    this.ob.insert(ethread, entry);
    process.threads.push(t);
    process.activeThreads++;
    process.pointerCount++; // a thread references its process until the thread object is deleted
    this.threads.push(t);
    return t;
  }

  /** @internal PspProcessDelete: the last reference went. */
  deleteProcess(p: KProcess): void {
    p.state = 'deleted';
    this.cids.destroy(p.pid);
    // distinct earlier owners' names; a new array when it changes, so records keep their snapshot without copies
    const owners = this.pidOwners.get(p.pid) ?? [];
    if (!owners.includes(p.name)) this.pidOwners.set(p.pid, [...owners, p.name]);
    this.ob.remove(p.eprocess);
    this.ke.mem.free(p.eprocess);
  }

  /** @internal PspThreadDelete: the last reference went; the thread's reference on its process goes with it. */
  deleteThread(t: KThread): void {
    t.state = 'deleted';
    this.cids.destroy(t.tid);
    this.ob.remove(t.ethread);
    this.ke.mem.free(t.ethread);
    this.ob.dereferenceProcess(t.process);
  }

  /** The thread a process's own activity runs in: its oldest running thread (the System thread when it has none). */
  creatorThread(p: KProcess): KThread {
    return p.threads.find((t) => t.state === 'active' && t.process.state === 'active') ?? this.systemThread();
  }

  systemThread(): KThread {
    return this.system.threads[0];
  }

  /** The names of a PID's earlier owners, if it had any. */
  previousOwners(pid: number): readonly string[] | undefined {
    const o = this.pidOwners.get(pid);
    return o === undefined || o.length === 0 ? undefined : o;
  }

  /** Adversarial profile: the PID is gone from, or reused in, the CID table while the exit notifies run. */
  *withRace<T>(p: KProcess, race: 'gone' | 'reused', body: () => Generator<void, T, void>): Generator<void, T, void> {
    const saved = this.cids.lookup(p.pid);
    let interloper: KProcess | null = null;
    if (race === 'gone') this.cids.destroyEntryOnly(p.pid);
    else {
      interloper = this.newProcess({ borrowed: p.pid }, this.system.pid, 'interloper.exe', null);
      this.cids.replace(p.pid, { kind: 'process', p: interloper });
    }
    try {
      return yield* body();
    } finally {
      if (saved !== undefined) this.cids.replace(p.pid, saved);
      if (interloper !== null) {
        interloper.state = 'exited';
        interloper.pointerCount--;
        if (interloper.pointerCount === 0) {
          interloper.state = 'deleted';
          this.ob.remove(interloper.eprocess);
          this.ke.mem.free(interloper.eprocess);
        }
      }
    }
  }
}
