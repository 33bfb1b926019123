/**
 * Scenario operations: the kernel activity a run consists of, as plain records. Objects are named by stable
 * symbolic labels (like PropEr's symbolic variables or Hypothesis bundles): an op whose target is gone is a
 * recorded no-op, so any subsequence of a legal scenario is legal — which is what shrinking needs.
 */
import { IRP_MAJOR } from './ddi.js';
import { Kernel, KernelHalted, type KProcess, type KThread } from './kernel.js';
import { PoolExhausted } from './memory.js';

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

export function executeOps(kernel: Kernel, ops: readonly Op[], interrupt?: () => boolean): number {
  const processes = new Map<string, KProcess>([[SYSTEM_LABEL, kernel.system]]);
  const threads = new Map<string, KThread>();
  const liveProcess = (l: string): KProcess | undefined => {
    const p = processes.get(l);
    return p !== undefined && p.state === 'active' ? p : undefined;
  };
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    if (interrupt !== undefined && interrupt()) throw new RunInterrupted();
    kernel.beginOp(i, op);
    try {
      let skipped: string | undefined;
      switch (op.op) {
        case 'CreateProcess': {
          const parent = liveProcess(op.parent) ?? kernel.system;
          const creator = op.creator === undefined ? undefined : liveProcess(op.creator);
          const { process, thread } = kernel.createProcess(parent, op.pathUnavailable === true ? null : op.path, baseName(op.path), creator);
          processes.set(op.id, process);
          threads.set(op.thread, thread);
          break;
        }
        case 'CreateThread': {
          const p = liveProcess(op.process);
          if (p === undefined) skipped = `${op.process} is not running`;
          else threads.set(op.id, kernel.createThread(p));
          break;
        }
        case 'ExitThread': {
          const t = threads.get(op.thread);
          if (t === undefined || t.state !== 'active') skipped = `${op.thread} is not running`;
          else kernel.exitThread(t, op.race);
          break;
        }
        case 'ExitProcess': {
          const p = liveProcess(op.process);
          if (p === undefined || p === kernel.system) skipped = `${op.process} is not running`;
          else kernel.exitProcess(p, op.race);
          break;
        }
        case 'LoadImage': {
          if (op.process === SYSTEM_LABEL) kernel.loadImage(null, op.pathUnavailable === true ? null : op.path, baseName(op.path));
          else {
            const p = liveProcess(op.process);
            if (p === undefined) skipped = `${op.process} is not running`;
            else kernel.loadImage(p, op.pathUnavailable === true ? null : op.path, baseName(op.path));
          }
          break;
        }
        case 'OpenHandle': {
          const requester = op.requester === SYSTEM_LABEL ? kernel.system : liveProcess(op.requester);
          const process = liveProcess(op.target);
          const thread = threads.get(op.target);
          const target = process !== undefined ? { kind: 'process' as const, p: process }
            : thread !== undefined && thread.state === 'active' ? { kind: 'thread' as const, t: thread } : undefined;
          if (requester === undefined || target === undefined) skipped = `${requester === undefined ? op.requester : op.target} is not running`;
          else kernel.openHandle(requester, target, op.access, { duplicate: op.duplicate === true, kernelHandle: op.kernelHandle === true });
          break;
        }
        case 'DeviceRequest': {
          const major = IRP_MAJOR[op.major];
          if (major === undefined) throw new Error(`unknown IRP major function ${op.major}`);
          if (!kernel.sendIrp(major, op.major, op.ioctl ?? 0)) skipped = 'the driver has no device';
          break;
        }
        case 'LoadDriver':
          if (kernel.driverState === 'loaded' || kernel.driverState === 'pinned') skipped = 'driver already loaded';
          else kernel.loadDriver();
          break;
        case 'UnloadDriver':
          if (kernel.driverState !== 'loaded') skipped = 'driver not loaded';
          else kernel.unloadDriver();
          break;
      }
      kernel.endOp(skipped === undefined ? 'done' : 'skipped', skipped);
    } catch (e) {
      if (e instanceof KernelHalted) return i;
      if (e instanceof PoolExhausted) {
        kernel.exhausted(e);
        return i;
      }
      throw e;
    }
  }
  return -1;
}
