/**
 * Processes and threads created and exiting, and images mapped into them, with the notifications each raises in
 * the order and context Windows raises them ([WRK] ps/create.c, ps/psdelete.c, dbgk/dbgkproc.c; [DOC]
 * nc-ntddk-pload_image_notify_routine.md). Each operation is a thread of execution that may be switched out at its
 * scheduling points (several CPUs); on one CPU it runs to its end.
 */
import type { OsBuild } from '../builds.js';
import { NOTHING, type KernelCore } from '../ke/core.js';
import type { DeviceClient } from '../io/client.js';
import type { FltPorts } from '../flt/ports.js';
import type { FileObjects } from '../io/files.js';
import type { Irps } from '../io/irps.js';
import type { ObjectManager } from '../ob/objects.js';
import { fnv1a } from '../rtl/prng.js';
import { NT_SUCCESS } from '../status.js';
import type { NotifyRoutines } from './notify.js';
import type { KProcess, KThread } from './objects.js';
import type { Processes } from './processes.js';

function imageSize(name: string): number {
  return 0x1000 * (1 + (fnv1a(name) % 0x200));
}

function ntdllBase(build: OsBuild): number {
  return build.pointerSize === 4 ? 0x7c900000 : 0x7ffd_0000_0000;
}

function dllBase(build: OsBuild, n: number): number {
  return build.pointerSize === 4 ? 0x10000000 + 0x100000 * n : 0x7ff8_0000_0000 + 0x1000000 * n;
}

export class ProcessLifecycle {
  constructor(
    private readonly ke: KernelCore,
    private readonly processes: Processes,
    private readonly notify: NotifyRoutines,
    private readonly objects: ObjectManager,
    private readonly irps: Irps,
    private readonly client: DeviceClient,
    private readonly files: FileObjects,
    private readonly ports: FltPorts,
  ) {}

  /**
   * @internal NtCreateUserProcess / PspCreateProcess + PspCreateThread: the process and its initial thread are
   * created, then (creator's context) the process notify and the initial thread's thread notify; when the initial
   * thread first runs (new process's context) the image notify for the main EXE, then for ntdll.dll.
   * `imagePath === null`: the EXE's name could not be obtained, so FullImageName is NULL ([WRK] DbgkCreateThread).
   */
  *createProcessG(parent: KProcess, imagePath: string | null, name: string, creatorProcess?: KProcess): Generator<void, { process: KProcess; thread: KThread }, void> {
    const { ke, processes, notify } = this;
    ke.assertRunning();
    // The parent (InheritedFromUniqueProcessId) need not be the creator: PROC_THREAD_ATTRIBUTE_PARENT_PROCESS
    // ([DOC] ns-ntddk-_ps_create_notify_info.md: ParentProcessId vs CreatingThreadId).
    const creator = processes.creatorThread(creatorProcess ?? parent);
    const proc = processes.newProcess(null, parent.pid, name, imagePath);
    const thread = processes.newThread(proc);
    // the context switches are inline (not inContext): the hot path of every run
    const saved = ke.current;
    try {
      ke.current = creator;
      if (ke.profile.initialThreadNotify === 'process-first') {
        yield* notify.notifyProcess(proc, true, undefined, creator) ?? NOTHING;
        if (!NT_SUCCESS(proc.creationStatus)) {
          yield* this.deniedG(thread, false);
          return { process: proc, thread };
        }
        yield* notify.notifyThread(thread, true) ?? NOTHING;
      } else {
        yield* notify.notifyThread(thread, true) ?? NOTHING;
        yield* notify.notifyProcess(proc, true, undefined, creator) ?? NOTHING;
        if (!NT_SUCCESS(proc.creationStatus)) {
          yield* this.deniedG(thread, true);
          return { process: proc, thread };
        }
      }
      ke.current = thread;
      yield* notify.notifyImage(proc, imagePath, ke.build.userImageBase, imageSize(name)) ?? NOTHING;
      yield* notify.notifyImage(proc, '\\SystemRoot\\System32\\ntdll.dll', ntdllBase(ke.build), 0x1a0000) ?? NOTHING;
    } finally {
      ke.current = saved;
    }
    return { process: proc, thread };
  }

  /**
   * A create routine set PS_CREATE_NOTIFY_INFO.CreationStatus to an error: the creation fails with that status for
   * its creator, and the process never runs — its initial thread is destroyed before it starts, so no image is
   * mapped into it ([DOC] PS_CREATE_NOTIFY_INFO: "Drivers can change this value to an error code to prevent the
   * process from being created"). CHOICE where the WDK is silent (research nt-semantics §8 item 10): the
   * notifications that follow are those of a last thread destroyed — its thread-exit routine if its create routine
   * had run, then the process-exit routine, "called just before the last thread to exit the process is destroyed"
   * ([DOC] PCREATE_PROCESS_NOTIFY_ROUTINE_EX).
   */
  private *deniedG(thread: KThread, threadNotified: boolean): Generator<void, void, void> {
    const p = thread.process;
    yield* this.exitThreadNotified(thread, undefined, !threadNotified);
    this.objects.dereferenceProcess(p);
    this.objects.dereferenceThread(thread);
  }

  /** @internal PspCreateThread for a further thread, notified in the creator's context (a thread of the same process). */
  *createThreadG(process: KProcess): Generator<void, KThread, void> {
    const { ke } = this;
    ke.assertRunning();
    const creator = this.processes.creatorThread(process);
    const t = this.processes.newThread(process);
    const saved = ke.current;
    try {
      ke.current = creator;
      yield* this.notify.notifyThread(t, true) ?? NOTHING;
    } finally {
      ke.current = saved;
    }
    return t;
  }

  /**
   * @internal PspExitThread: the thread notify (exiting thread's context); the last thread then sends the process
   * notify in its own context ([WRK] ps/psdelete.c). The kernel then drops its own references; an object and its CID
   * entry go when the last reference does.
   */
  *exitThreadG(t: KThread, race?: 'gone' | 'reused'): Generator<void, void, void> {
    this.ke.assertRunning();
    if (t.state !== 'active') return;
    const p = t.process;
    const processExited = race === undefined || !this.ke.profile.exitLookupRaces
      ? yield* this.exitThreadNotified(t, race)
      : yield* this.processes.withRace(p, race, () => this.exitThreadNotified(t, race));
    if (processExited) this.objects.dereferenceProcess(p); // the kernel's own reference: handles are closed at exit
    this.objects.dereferenceThread(t);
  }

  /**
   * PspExitThread's notifications and I/O cleanup, in the exiting thread's context; whether the process exited
   * with it (a method, not a closure made per exit: test/model/heap.test.ts says why).
   */
  private *exitThreadNotified(t: KThread, race: 'gone' | 'reused' | undefined, unannounced = false): Generator<void, boolean, void> {
    const { ke, notify } = this;
    const p = t.process;
    let processExited = false;
    const saved = ke.current;
    try {
      ke.current = t;
      // a thread whose creation no routine was told of is not announced leaving
      if (!unannounced) yield* notify.notifyThread(t, false, race) ?? NOTHING;
      t.state = 'exited';
      p.activeThreads--;
      const last = p.activeThreads === 0;
      if (last) {
        yield* notify.notifyProcess(p, false, race) ?? NOTHING;
        p.state = 'exited';
        processExited = true;
      }
      // PspExitThread: the exit notifications, then IoCancelThreadIo, then (last thread) ObKillProcess closes the
      // handle table ([WRK] ps/psdelete.c; our reading of its order)
      if (this.irps.anyOpen) yield* this.irps.cancelThreadIo(t);
      if (last && this.files.opened > 0) yield* this.client.closeProcessHandles(p, t);
      if (last && this.ports.clients.size > 0) yield* this.ports.closeProcessPortsG(p, t);
    } finally {
      ke.current = saved;
    }
    return processExited;
  }

  /** @internal NtTerminateProcess: every thread exits (creation order); the last one sends the process notify. */
  *exitProcessG(p: KProcess, race?: 'gone' | 'reused'): Generator<void, void, void> {
    for (const t of [...p.threads]) {
      if (this.ke.halted) return;
      if (t.state === 'active') yield* this.exitThreadG(t, race);
    }
  }

  /**
   * @internal an image mapped into a user process (a DLL; notified in that process's context) or a driver image
   * (process === null: ProcessId 0, SystemModeImage 1; [WRK] mm/sysload.c).
   */
  *loadImageG(process: KProcess | null, path: string | null, name: string): Generator<void, void, void> {
    const { ke, notify } = this;
    ke.assertRunning();
    if (process === null) {
      const base = ke.loaded.nextSystemImageBase();
      yield* ke.inContext(this.processes.systemThread(), () => notify.notifyImage(null, path, base, imageSize(name)) ?? NOTHING);
      return;
    }
    const base = dllBase(ke.build, ++process.userImages);
    const saved = ke.current;
    try {
      ke.current = this.processes.creatorThread(process);
      yield* notify.notifyImage(process, path, base, imageSize(name)) ?? NOTHING;
    } finally {
      ke.current = saved;
    }
  }
}
