/**
 * Scenario operations: the kernel activity a run consists of, as plain records. Objects are named by stable
 * symbolic labels (like PropEr's symbolic variables or Hypothesis bundles): an op whose target is gone is a
 * recorded no-op, so any subsequence of a legal scenario is legal — which is what shrinking needs.
 */
import { IRP_MAJOR } from './ddi.js';
import type { RegistryOperation } from './cm/callbacks.js';
import type { RegistryKeyLabel } from './cm/registry.js';
import type { FileOperation } from './flt/filters.js';
import type { FileLabel } from './flt/volume.js';
import type { KFileObject } from './io/files.js';
import { KernelHalted } from './ke/bugcheck.js';
import { drive, type ThreadState } from './ke/core.js';
import type { Kernel } from './kernel.js';
import type { KProcess, KThread } from './ps/objects.js';
import type { Schedule } from './ke/schedule.js';
import type { Task } from './ke/scheduler.js';
import { PoolExhausted } from './mm/memory.js';

export type ExitRace = 'gone' | 'reused';

export type Op =
  | {
    readonly op: 'CreateProcess'; readonly id: string; readonly thread: string; readonly parent: string; readonly path: string;
    readonly pathUnavailable?: boolean;
    /** A process other than the parent that creates it (parent-process spoofing, e.g. by a broker). */
    readonly creator?: string;
  }
  | { readonly op: 'CreateThread'; readonly id: string; readonly process: string }
  | { readonly op: 'ExitThread'; readonly thread: string; readonly race?: ExitRace }
  | { readonly op: 'ExitProcess'; readonly process: string; readonly race?: ExitRace }
  | { readonly op: 'LoadImage'; readonly process: string; readonly path: string; readonly pathUnavailable?: boolean }
  | { readonly op: 'DeviceRequest'; readonly major: string; readonly ioctl?: number }
  /**
   * A process opens a handle to a process or thread (OpenProcess / OpenThread), or duplicates one; `kernelHandle`:
   * a kernel-mode open (OBJ_KERNEL_HANDLE) in the System process. Object callbacks see it.
   */
  | {
    readonly op: 'OpenHandle'; readonly requester: string; readonly target: string; readonly access: number;
    readonly duplicate?: boolean; readonly kernelHandle?: boolean;
  }
  /** A user-mode client: CreateFile on the driver's symbolic link; `id` labels the open file (F1, F2, ...). */
  | {
    readonly op: 'OpenDevice'; readonly id: string; readonly process: string;
    /** A listening client: it keeps one request with this code outstanding (sending the next when one returns events). */
    readonly listen?: { readonly ioctl: number; readonly outputLength: number };
  }
  /**
   * DeviceIoControl on an open file: the lengths the caller passes (above 64 KB: a caller whose buffer is smaller than
   * it claims), its input bytes all `fill`.
   */
  | { readonly op: 'DeviceIoControl'; readonly file: string; readonly ioctl: number; readonly inputLength: number; readonly outputLength: number; readonly fill: number }
  | { readonly op: 'ReadFile'; readonly file: string; readonly length: number }
  /** CloseHandle: IRP_MJ_CLEANUP, then IRP_MJ_CLOSE once no IRP holds the file. */
  | { readonly op: 'CloseHandle'; readonly file: string }
  /**
   * A process (or, as System, a kernel-mode caller) works on a registry key: creates or opens it, sets, queries or
   * deletes a value (`name`), deletes it, or renames it (`name`: the new name). Registry callbacks see it.
   */
  | {
    readonly op: 'RegistryOp'; readonly process: string; readonly operation: RegistryOperation; readonly key: RegistryKeyLabel;
    readonly name?: string; readonly upperCase?: boolean;
  }
  /**
   * A process opens a file on the volume, creates, writes, reads, renames (to its name + `.locked`) or deletes it, and
   * closes its handle. Minifilters see each step.
   */
  | { readonly op: 'FileOp'; readonly process: string; readonly operation: FileOperation; readonly file: FileLabel }
  /**
   * A user-mode service connects to the minifilter's communication port (FilterConnectCommunicationPort); `id` labels
   * the connection (C1, C2, ...). It then takes every message the filter sends, and answers those that ask.
   */
  | { readonly op: 'PortConnect'; readonly id: string; readonly process: string }
  /** The service closes its connection's handle (DisconnectNotifyCallback follows). */
  | { readonly op: 'PortDisconnect'; readonly connection: string }
  | { readonly op: 'LoadDriver' }
  | { readonly op: 'UnloadDriver' };

export const SYSTEM_LABEL = 'System';

/** Labels an op creates or uses (for the shrinker's whole-lifetime removal). */
export function labelsOf(op: Op): { creates: string[]; uses: string[] } {
  switch (op.op) {
    case 'CreateProcess': return { creates: [op.id, op.thread], uses: [op.parent, ...(op.creator !== undefined ? [op.creator] : [])].filter((l) => l !== SYSTEM_LABEL) };
    case 'CreateThread': return { creates: [op.id], uses: [op.process] };
    case 'ExitThread': return { creates: [], uses: [op.thread] };
    case 'ExitProcess': return { creates: [], uses: [op.process] };
    case 'LoadImage': return { creates: [], uses: op.process === SYSTEM_LABEL ? [] : [op.process] };
    case 'OpenHandle': return { creates: [], uses: [op.requester, op.target].filter((l) => l !== SYSTEM_LABEL) };
    case 'OpenDevice': return { creates: [op.id], uses: [op.process] };
    case 'RegistryOp': return { creates: [], uses: op.process === SYSTEM_LABEL ? [] : [op.process] };
    case 'FileOp': return { creates: [], uses: op.process === SYSTEM_LABEL ? [] : [op.process] };
    case 'PortConnect': return { creates: [op.id], uses: [op.process] };
    case 'PortDisconnect': return { creates: [], uses: [op.connection] };
    case 'DeviceIoControl':
    case 'ReadFile':
    case 'CloseHandle': return { creates: [], uses: [op.file] };
    default: return { creates: [], uses: [] };
  }
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('\\') + 1);
}

/** Applies ops to a kernel; stops at a bug check. Returns the index of the op that halted, or -1. */
/** Thrown between operations when the caller's `interrupt` says stop (a campaign's time limit): not a finding. */
export class RunInterrupted extends Error {
  constructor() {
    super('run interrupted between operations');
    this.name = 'RunInterrupted';
  }
}

/** The labels of a scenario's objects, as the operations so far made them. */
class Labels {
  readonly processes = new Map<string, KProcess>();
  readonly threads = new Map<string, KThread>();
  readonly files = new Map<string, KFileObject>();
  constructor(readonly kernel: Kernel) {
    this.processes.set(SYSTEM_LABEL, kernel.system);
  }

  /** A process still running: not exited, nor exiting (its last thread gone; several CPUs can see that between). */
  live(l: string): KProcess | undefined {
    const p = this.processes.get(l);
    return p !== undefined && p.state === 'active' && (p.activeThreads > 0 || p === this.kernel.system) ? p : undefined;
  }
}

/** One operation as a thread of execution: the kernel's work and the driver routines it calls. Returns a skip note. */
function* opSteps(kernel: Kernel, op: Op, labels: Labels): Generator<void, string | undefined, void> {
  const skipped = yield* opBody(kernel, op, labels);
  // a routine completed a client's request: what the I/O manager does after (a listening client's next request, a
  // close that waited for it)
  if (kernel.io.client.ioPending) yield* kernel.io.client.ioWorkG();
  return skipped;
}

function* opBody(kernel: Kernel, op: Op, labels: Labels): Generator<void, string | undefined, void> {
  switch (op.op) {
    case 'CreateProcess': {
      const parent = labels.live(op.parent) ?? kernel.system;
      const creator = op.creator === undefined ? undefined : labels.live(op.creator);
      const { process, thread } = yield* kernel.ps.lifecycle.createProcessG(parent, op.pathUnavailable === true ? null : op.path, baseName(op.path), creator);
      labels.processes.set(op.id, process);
      labels.threads.set(op.thread, thread);
      return undefined;
    }
    case 'CreateThread': {
      const p = labels.live(op.process);
      if (p === undefined) return `${op.process} is not running`;
      labels.threads.set(op.id, yield* kernel.ps.lifecycle.createThreadG(p));
      return undefined;
    }
    case 'ExitThread': {
      const t = labels.threads.get(op.thread);
      if (t === undefined || t.state !== 'active') return `${op.thread} is not running`;
      yield* kernel.ps.lifecycle.exitThreadG(t, op.race);
      return undefined;
    }
    case 'ExitProcess': {
      const p = labels.live(op.process);
      if (p === undefined || p === kernel.system) return `${op.process} is not running`;
      yield* kernel.ps.lifecycle.exitProcessG(p, op.race);
      return undefined;
    }
    case 'LoadImage': {
      if (op.process === SYSTEM_LABEL) {
        yield* kernel.ps.lifecycle.loadImageG(null, op.pathUnavailable === true ? null : op.path, baseName(op.path));
        return undefined;
      }
      const p = labels.live(op.process);
      if (p === undefined) return `${op.process} is not running`;
      yield* kernel.ps.lifecycle.loadImageG(p, op.pathUnavailable === true ? null : op.path, baseName(op.path));
      return undefined;
    }
    case 'OpenHandle': {
      const requester = op.requester === SYSTEM_LABEL ? kernel.system : labels.live(op.requester);
      const process = labels.live(op.target);
      const thread = labels.threads.get(op.target);
      const target = process !== undefined ? { kind: 'process' as const, p: process }
        : thread !== undefined && thread.state === 'active' ? { kind: 'thread' as const, t: thread } : undefined;
      if (requester === undefined || target === undefined) return `${requester === undefined ? op.requester : op.target} is not running`;
      yield* kernel.ob.callbacks.openHandleG(requester, target, op.access, { duplicate: op.duplicate === true, kernelHandle: op.kernelHandle === true });
      return undefined;
    }
    case 'RegistryOp': {
      const p = op.process === SYSTEM_LABEL ? kernel.system : labels.live(op.process);
      if (p === undefined) return `${op.process} is not running`;
      yield* kernel.cm.callbacks.operationG(p, { operation: op.operation, key: op.key, ...(op.name !== undefined ? { name: op.name } : {}), ...(op.upperCase === true ? { upperCase: true } : {}) });
      return undefined;
    }
    case 'FileOp': {
      const p = op.process === SYSTEM_LABEL ? kernel.system : labels.live(op.process);
      if (p === undefined) return `${op.process} is not running`;
      yield* kernel.flt.filters.operationG(p, { operation: op.operation, file: op.file });
      return undefined;
    }
    case 'PortConnect': {
      const p = labels.live(op.process);
      if (p === undefined || p === kernel.system) return `${op.process} is not running`;
      return yield* kernel.flt.ports.connectG(p, op.id);
    }
    case 'PortDisconnect': {
      const c = kernel.flt.ports.byLabel(op.connection);
      if (c === undefined) return `${op.connection} is not connected`;
      return yield* kernel.flt.ports.disconnectG(c, kernel.ps.processes.creatorThread(c.process));
    }
    case 'DeviceRequest': {
      const major = IRP_MAJOR[op.major];
      if (major === undefined) throw new Error(`unknown IRP major function ${op.major}`);
      if (!(yield* kernel.io.irps.sendIrpG(major, op.major, op.ioctl ?? 0))) return 'the driver has no device';
      return undefined;
    }
    case 'OpenDevice': {
      const p = labels.live(op.process);
      if (p === undefined || p === kernel.system) return `${op.process} is not running`;
      const file = yield* kernel.io.client.openDeviceG(p, op.listen);
      if (typeof file === 'string') return file;
      labels.files.set(op.id, file);
      return undefined;
    }
    case 'DeviceIoControl':
    case 'ReadFile': {
      const file = labels.files.get(op.file);
      if (file === undefined) return `${op.file} was never opened`;
      return op.op === 'ReadFile'
        ? yield* kernel.io.client.deviceRequestG(file, 'IRP_MJ_READ', 0, 0, op.length, 0)
        : yield* kernel.io.client.deviceRequestG(file, 'IRP_MJ_DEVICE_CONTROL', op.ioctl, op.inputLength, op.outputLength, op.fill);
    }
    case 'CloseHandle': {
      const file = labels.files.get(op.file);
      if (file === undefined) return `${op.file} was never opened`;
      return yield* kernel.io.client.closeHandleG(file);
    }
    case 'LoadDriver':
      if (kernel.driverState === 'loaded' || kernel.driverState === 'pinned') return 'driver already loaded';
      yield* kernel.io.loader.loadDriverG();
      return undefined;
    case 'UnloadDriver':
      if (kernel.driverState !== 'loaded') return 'driver not loaded';
      if (kernel.io.loader.unloadPending) return 'an unload is already pending';
      yield* kernel.io.loader.unloadDriverG();
      return undefined;
  }
}

/** Applies ops to a kernel, one after the other (one CPU); stops at a bug check. Returns the index of the op that halted, or -1. */
export function executeOps(kernel: Kernel, ops: readonly Op[], interrupt?: () => boolean): number {
  const labels = new Labels(kernel);
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    if (interrupt !== undefined && interrupt()) throw new RunInterrupted();
    kernel.beginOp(i, op);
    try {
      const skipped = drive(opSteps(kernel, op, labels));
      kernel.endOp(skipped === undefined ? 'done' : 'skipped', skipped);
    } catch (e) {
      if (e instanceof KernelHalted) return i;
      if (e instanceof PoolExhausted) {
        kernel.ke.exhausted(e);
        return i;
      }
      throw e;
    }
  }
  return -1;
}

/**
 * What an operation touches, for the kernel's ordering guarantees: `x` exclusively, `s` shared. Two operations
 * overlap only when neither holds exclusively what the other touches (docs/concurrency.md): a process's creation
 * and its exit are ordered with everything else on that process (its create routine runs before its threads',
 * their exit routines before its exit routine: [DOC] PsSetCreateProcessNotifyRoutineEx, PsSetCreateThreadNotifyRoutine);
 * threads of one process overlap; the driver's load and unload are ordered with its I/O (the I/O manager sends no
 * IRP before DriverEntry returns, and calls DriverUnload only once no handle is open: [DOC] DRIVER_UNLOAD) but not
 * with notify routines, which run on other CPUs while DriverEntry or DriverUnload does.
 */
export function opFootprints(ops: readonly Op[]): { readonly x: readonly string[]; readonly s: readonly string[] }[] {
  const processOf = new Map<string, string>();
  const clientOf = new Map<string, string>();
  /** Each process's running threads, oldest first: the kernel runs a process's own requests in the oldest. */
  const threadsOf = new Map<string, string[]>();
  const proc = (l: string): string[] => (l === SYSTEM_LABEL ? [] : [`p:${l}`]);
  /** A process, and the thread its image loads and I/O requests run in (which cannot be exiting meanwhile). */
  const inProcess = (l: string): string[] => {
    const t = threadsOf.get(l)?.[0];
    return [...proc(l), ...(t !== undefined ? [`t:${t}`] : [])];
  };
  return ops.map((op) => {
    switch (op.op) {
      case 'CreateProcess':
        processOf.set(op.thread, op.id);
        threadsOf.set(op.id, [op.thread]);
        return { x: [`p:${op.id}`, `t:${op.thread}`], s: [...proc(op.parent), ...(op.creator !== undefined ? proc(op.creator) : [])] };
      case 'CreateThread':
        processOf.set(op.id, op.process);
        threadsOf.get(op.process)?.push(op.id);
        return { x: [`t:${op.id}`], s: proc(op.process) };
      case 'ExitThread': {
        const list = threadsOf.get(processOf.get(op.thread) ?? '');
        if (list !== undefined && list.includes(op.thread)) list.splice(list.indexOf(op.thread), 1);
        // the adversarial profile's lookup race (the PID gone or reused while the exit routines run) is a state of
        // the whole process: nothing else on it overlaps
        return op.race !== undefined ? { x: [`t:${op.thread}`, ...proc(processOf.get(op.thread) ?? op.thread)], s: [] }
          : { x: [`t:${op.thread}`], s: proc(processOf.get(op.thread) ?? op.thread) };
      }
      case 'ExitProcess':
        threadsOf.set(op.process, []);
        return { x: proc(op.process), s: [] };
      case 'LoadImage':
        return { x: [], s: inProcess(op.process) };
      case 'OpenHandle': {
        const target = processOf.has(op.target) ? [`t:${op.target}`, ...proc(processOf.get(op.target) as string)] : proc(op.target);
        return { x: [], s: [...proc(op.requester), ...target] };
      }
      case 'DeviceRequest':
        return { x: [], s: ['driver'] };
      // registry callbacks run in the caller's thread, beside anything else (the driver's unload included, as notify
      // routines do); the registry keeps each key consistent itself
      case 'RegistryOp':
        return { x: [], s: inProcess(op.process) };
      // file I/O runs in the caller's thread; the volume keeps each file consistent itself
      case 'FileOp':
        return { x: [], s: inProcess(op.process) };
      // the service's connect and close run in its thread; the filter's load and unload are ordered with them (the
      // port is the driver's)
      case 'PortConnect':
        clientOf.set(op.id, op.process);
        return { x: [`c:${op.id}`], s: ['driver', ...inProcess(op.process)] };
      case 'PortDisconnect':
        return { x: [`c:${op.connection}`], s: ['driver', ...inProcess(clientOf.get(op.connection) ?? SYSTEM_LABEL)] };
      // a client's requests on one file are issued one after the other (synchronous I/O by its thread)
      case 'OpenDevice':
        clientOf.set(op.id, op.process);
        return { x: [`f:${op.id}`], s: ['driver', ...inProcess(op.process)] };
      case 'DeviceIoControl':
      case 'ReadFile':
      case 'CloseHandle':
        return { x: [`f:${op.file}`], s: ['driver', ...inProcess(clientOf.get(op.file) ?? SYSTEM_LABEL)] };
      case 'LoadDriver':
      case 'UnloadDriver':
        return { x: ['driver'], s: [] };
    }
  });
}

function overlaps(a: { readonly x: readonly string[]; readonly s: readonly string[] }, b: { readonly x: readonly string[]; readonly s: readonly string[] }): boolean {
  const clash = (x: readonly string[], other: { readonly x: readonly string[]; readonly s: readonly string[] }): boolean => x.some((k) => other.x.includes(k) || other.s.includes(k));
  return clash(a.x, b) || clash(b.x, a);
}

function interrupted(frame: ThreadState['frame']): void {
  if (frame?.cb != null && frame.cb.outcome === 'returned') frame.cb.outcome = 'interrupted';
  if (frame?.phase != null && frame.phase.outcome === 'returned') frame.phase.outcome = 'interrupted';
}

/** One operation as a thread of execution (module level, not made per operation: test/model/heap.test.ts says why). */
function* opTask(kernel: Kernel, i: number, op: Op, labels: Labels): Generator<void, void, void> {
  kernel.beginOp(i, op);
  const skipped = yield* opSteps(kernel, op, labels);
  kernel.endOp(skipped === undefined ? 'done' : 'skipped', skipped);
}

/**
 * Applies ops on several CPUs (docs/concurrency.md): operations start in order, at most `schedule.cpus` in flight,
 * each one's kernel work and driver routines a thread of execution the scheduler switches between at their
 * scheduling points. Returns the index of the op that halted, or -1.
 */
export function executeOpsConcurrent(kernel: Kernel, ops: readonly Op[], schedule: Schedule, interrupt?: () => boolean): number {
  const sched = kernel.beginConcurrency(schedule);
  const labels = new Labels(kernel);
  const footprints = opFootprints(ops);
  let next = 0;
  /** The next operation may start now: a CPU is free and it overlaps nothing in flight that it must follow. */
  const offer = (): void => {
    const startable = next < ops.length && sched.tasks.length < schedule.cpus && !sched.tasks.some((t) => overlaps(footprints[t.op], footprints[next]));
    sched.offer(startable ? next : -1);
  };
  for (;;) {
    offer();
    const choice = sched.next();
    if (choice === null) {
      if (sched.tasks.length === 0) return -1;
      try {
        kernel.ke.deadlock();
      } catch (e) {
        if (!(e instanceof KernelHalted)) throw e;
        // every routine that was waiting never returns
        for (const t of sched.tasks) interrupted((t.saved as ThreadState).frame);
        return sched.tasks[0].op;
      }
    }
    let task: Task;
    if (choice === 'start') {
      if (interrupt !== undefined && interrupt()) throw new RunInterrupted();
      const i = next++;
      const op = ops[i];
      task = sched.start(i, opTask(kernel, i, op, labels));
      kernel.ke.threadBegins(task, kernel.ps.processes.systemThread());
      offer();
    } else task = choice as Task;
    kernel.ke.restoreThread(task.saved as ThreadState);
    sched.running = task;
    let done: boolean | undefined;
    try {
      done = task.run.next().done;
    } catch (e) {
      if (e instanceof PoolExhausted) kernel.ke.exhausted(e);
      else if (!(e instanceof KernelHalted)) throw e;
      // the routines other CPUs were running never returned
      for (const t of sched.tasks) if (t !== task) interrupted((t.saved as ThreadState).frame);
      return task.op;
    } finally {
      task.saved = kernel.ke.saveThread();
      sched.running = null;
    }
    if (done === true) {
      sched.end(task);
      kernel.ke.threadEnds(task);
    }
  }
}
