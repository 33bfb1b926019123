/**
 * The simulated NT kernel: its executive components composed, and the boot sequence. Each component owns its state
 * and the routines named after it (docs/architecture.md): `ke/` the kernel proper (the running thread, CPUs, bug
 * checks), `mm/` memory and the loaded image, `ob/` objects, handles and object callbacks, `cm/` the registry and its callbacks, `flt/` the filter manager and minifilters, `ps/` processes, threads
 * and their notify routines, `io/` driver load, IRPs and the client, `ex/` pool and executive locks, `rtl/`, `dbg/`,
 * `vf/` the verifier. Pure and deterministic: the same calls give the same bytes. Sources: docs/kernel-semantics.md.
 */
import { CmCallbacks } from './cm/callbacks.js';
import { FltContexts } from './flt/contexts.js';
import { FltFilters } from './flt/filters.js';
import { FltPending } from './flt/pending.js';
import { FltPorts } from './flt/ports.js';
import type { CmComponent, FltComponent, DbgComponent, ExComponent, IoComponent, KernelComponents, ObComponent, PsComponent } from './components.js';
import { TEST_MACHINE_FILTER, type DebugPrintFilter } from './dbg/debugger.js';
import type { Ddi, DriverImage, WasmAddressSpace } from './ddi.js';
import { releaseDdiSurface, takeDdiSurface, type DdiSurface } from './ddi-surface.js';
import { ExSync } from './ex/sync.js';
import { DeviceClient } from './io/client.js';
import { DriverLoader, type DdiSource } from './io/driver-loader.js';
import { FileObjects } from './io/files.js';
import { Irps } from './io/irps.js';
import type { OsBuild } from './builds.js';
import { KernelCore, drive } from './ke/core.js';
import { Cpus } from './ke/cpus.js';
import type { Schedule } from './ke/schedule.js';
import type { Scheduler } from './ke/scheduler.js';
import { KernelMemory, Shadow } from './mm/memory.js';
import { LoadedDriver, type DriverImageState } from './mm/sysldr.js';
import { ObCallbacks } from './ob/callbacks.js';
import { KernelHandles } from './ob/handles.js';
import { ObjectNamespace } from './ob/namespace.js';
import { ObjectManager } from './ob/objects.js';
import type { KernelProfile } from './profile.js';
import type { CidReusePolicy } from './ps/cid-table.js';
import { ProcessLifecycle } from './ps/lifecycle.js';
import { NotifyRoutines, type Crowding } from './ps/notify.js';
import type { KProcess } from './ps/objects.js';
import { Processes } from './ps/processes.js';
import { Recorder } from './recorder.js';
import type { EndState, RunRecord } from './record.js';
import { statusName, type NTSTATUS } from './status.js';
import { FaultPlan, type FaultSpec } from './vf/fault-plan.js';
import { Verifier } from './vf/verifier.js';

export interface KernelOptions {
  readonly build: OsBuild;
  readonly profile: KernelProfile;
  readonly reusePolicy: CidReusePolicy;
  readonly driver: DriverImage;
  readonly faults?: readonly FaultSpec[];
  readonly crowding?: Crowding;
  /** A low-memory machine: the bytes of pool the driver may hold before allocations return NULL. */
  readonly poolQuota?: number;
  /**
   * For a driver compiled to WebAssembly: kernel VAs equal linear-memory offsets (base 0), and the bottom of
   * memory up to `reservedLow` (the driver's stack and data) is not kernel pool.
   */
  readonly wasm?: WasmAddressSpace;
  /** The verifier's checks (docs/verifier.md): on unless switched off for comparison. */
  readonly verifier?: boolean;
  /** What DbgPrintEx (and DbgPrint from Vista) lets through to the debugger: a test machine's by default. */
  readonly debugPrintFilter?: DebugPrintFilter;
  /** The driver image has IMAGE_DLLCHARACTERISTICS_FORCE_INTEGRITY (linked with /INTEGRITYCHECK). Default true. */
  readonly integrityCheck?: boolean;
  /** Several CPUs will run: load the driver's fibers build when it has one (docs/concurrency.md). */
  readonly fibers?: boolean;
}

export class Kernel implements KernelComponents, DdiSource {
  readonly build: OsBuild;
  readonly mem: KernelMemory;
  readonly verifier: Verifier;
  readonly rec: Recorder;
  readonly loaded: LoadedDriver;
  readonly ke: KernelCore;
  readonly ob: ObComponent;
  readonly cm: CmComponent;
  readonly flt: FltComponent;
  readonly ps: PsComponent;
  readonly io: IoComponent;
  readonly ex: ExComponent;
  readonly dbg: DbgComponent;
  readonly integrityCheck: boolean;
  /** The DDI surface of this run's loads (one serves them all: its routines keep no state of their own). */
  private surface: DdiSurface | null = null;

  /** Boots: the address space and the verifier, the System process and thread, other drivers' notify routines. */
  constructor(options: KernelOptions) {
    const build = (this.build = options.build);
    const ps = build.pointerSize;
    const mem = (this.mem = options.wasm === undefined
      ? new KernelMemory(build.kernelVaBase, ps, 2, 0, 0, true)
      // an x86 WebAssembly driver's addresses are its memory offsets; an x64 one sees the kernel at its canonical
      // addresses above its own image (docs/x64.md)
      : new KernelMemory(ps === 8 ? build.kernelVaBase : 0, ps, Math.max(4, Math.ceil((options.wasm.reservedLow + 0x10000) / 0x10000), Math.ceil((options.wasm.minPages ?? 0) / 2)), options.wasm.reservedLow, ps === 8 ? options.wasm.reservedLow : 0, false, options.wasm));
    if (options.wasm?.stackGuard !== undefined) {
      const [a, b] = options.wasm.stackGuard;
      mem.mark(a, b - a, Shadow.StackGuard);
    }
    if (options.wasm?.readOnly !== undefined) {
      const [a, b] = options.wasm.readOnly;
      mem.mark(a, b - a, Shadow.ImageReadOnly);
    }
    this.verifier = new Verifier({ mem, eprocess: build.eprocess, pointerSize: ps }, options.verifier ?? true);
    const uninitializedPointer = ps === 4 ? 0xcccccccc : 0xcccc_cccc_cccc;
    this.rec = new Recorder({
      build: build.id, profile: options.profile.id, reusePolicy: options.reusePolicy, driver: options.driver.name, uninitializedPointer: mem.hex(uninitializedPointer),
    });
    this.loaded = new LoadedDriver(options.driver, build, options.wasm, options.fibers === true);
    const cpus = new Cpus(mem, this.verifier, this.rec, this.loaded);
    const ke = (this.ke = new KernelCore(build, options.profile, mem, this.verifier, this.rec, this.loaded, cpus, new FaultPlan(options.faults ?? []), uninitializedPointer));
    this.integrityCheck = options.integrityCheck ?? true;
    this.ex = { poolQuota: Math.min(options.poolQuota ?? Number.POSITIVE_INFINITY, build.poolLimit), sync: new ExSync() };
    this.dbg = { filter: options.debugPrintFilter ?? TEST_MACHINE_FILTER };

    const objects = new ObjectManager(ke);
    const processes = new Processes(ke, objects, options.reusePolicy); // the System process and thread
    const notify = new NotifyRoutines(ke, processes);
    const crowd = options.crowding ?? { process: 0, thread: 0, image: 0 };
    notify.crowd(crowd);
    notify.kernelStructures(crowd);
    const namespace = new ObjectNamespace();
    const callbacks = new ObCallbacks(ke, objects, processes);
    this.ob = { objects, handles: new KernelHandles(), callbacks, namespace };
    const cmCallbacks = new CmCallbacks(ke, processes);
    this.cm = { callbacks: cmCallbacks };
    const fltContexts = new FltContexts(ke);
    const fltPending = new FltPending();
    const fltFilters = new FltFilters(ke, processes, fltContexts, fltPending);
    const fltPorts = new FltPorts(ke, processes, fltFilters);
    this.flt = { filters: fltFilters, ports: fltPorts, contexts: fltContexts, pending: fltPending };
    const files = new FileObjects();
    const loader = new DriverLoader(ke, processes, notify, callbacks, cmCallbacks, fltFilters, namespace, files, this);
    const irps = new Irps(ke, loader, files, processes, namespace);
    const client = new DeviceClient(ke, irps, files, loader, processes, namespace);
    this.io = { loader, irps, files, client };
    this.ps = { processes, notify, lifecycle: new ProcessLifecycle(ke, processes, notify, objects, irps, client, files, fltPorts) };
  }

  get halted(): boolean {
    return this.rec.halted;
  }

  get system(): KProcess {
    return this.ps.processes.system;
  }

  get driverState(): DriverImageState {
    return this.loaded.state;
  }

  /** Marks the start of scenario operation `index` (for the record's timeline); the clock moves 10 ms. */
  beginOp(index: number, op: unknown): void {
    this.ke.sinceBoot += 100_000n;
    this.rec.beginOp(index, op);
  }

  endOp(outcome: 'done' | 'skipped', note?: string): void {
    this.rec.endOp(outcome, note);
  }

  /** Loads the driver (one CPU): its image notify, DriverEntry. */
  loadDriver(): NTSTATUS {
    return drive(this.io.loader.loadDriverG());
  }

  /** Several CPUs from here on (after boot, before the first operation). */
  beginConcurrency(schedule: Schedule): Scheduler {
    return this.ke.cpus.begin(schedule);
  }

  /** @internal the DDI surface for a load of the driver: a new load's executive state starts empty (ex/sync.ts). */
  takeDdi(): Ddi {
    this.surface ??= takeDdiSurface(this);
    this.ex.sync.newLoad();
    return this.surface.ddi;
  }

  /** The end state: what of the driver is still in the kernel, every process and thread, the driver's pool. */
  finish(): RunRecord {
    const record = this.rec.record;
    const mine = this.loaded.name;
    const sched = this.ke.cpus.sched;
    if (sched !== null && sched.timelineDropped > 0 && record.concurrency !== undefined) record.concurrency.timelineDropped = sched.timelineDropped;
    const regs: EndState['registrations'] = [];
    for (const table of this.ps.notify.tables) {
      table.slots.forEach((s, slot) => {
        if (s !== null && s.owner === mine) regs.push({ kind: table.kind, slot, owner: s.owner, routine: s.name });
      });
    }
    const { namespace } = this.ob;
    const { processes } = this.ps;
    record.end = {
      driver: { name: mine, image: this.loaded.state, hasUnload: this.io.loader.driverObject?.DriverUnload != null, loads: this.loaded.loads },
      registrations: regs,
      devices: namespace.devices.filter((d) => d.owner === mine).map((d) => ({ name: d.name, owner: d.owner })),
      links: [...namespace.links.values()].filter((l) => l.owner === mine).map((l) => ({ name: l.name, target: l.target, owner: l.owner })),
      processes: processes.processes.map((p) => ({
        pid: p.pid, name: p.name, state: p.state, pointerCount: p.pointerCount, driverRefs: p.driverRefs, ...(p.creationStatus !== 0 ? { creationDenied: statusName(p.creationStatus) } : {}),
      })),
      threads: processes.threads.map((t) => ({ tid: t.tid, pid: t.process.pid, state: t.state, pointerCount: t.pointerCount, driverRefs: t.driverRefs })),
      driverPool: this.mem.liveBlocks().filter((b) => b.owner === mine).map((b) => ({ tag: b.tag, size: b.size })),
      ...(this.cm.callbacks.names.size > 0 ? { keyObjectNames: [...this.cm.callbacks.names.values()].map((n) => ({ ...n })) } : {}),
      ...(this.flt.filters.names.size > 0 ? { fileNameInfos: [...this.flt.filters.names.values()].map((n) => ({ ...n })) } : {}),
      ...(this.flt.contexts.contexts.size > 0 ? { fltContexts: this.flt.contexts.heldReferences() } : {}),
    };
    return record;
  }

  /**
   * The record is taken: the kernel's memory goes back for the next boot (KernelMemory.recycle). The kernel must
   * not be used afterwards. Code that is not instrumented (a WebAssembly driver with the verifier off) may have
   * stored anywhere in it.
   */
  release(): void {
    this.mem.recycle(this.loaded.wasm !== undefined && !this.verifier.enabled);
    for (const i of this.loaded.instances) i.release?.();
    this.loaded.instances.length = 0;
    if (this.surface !== null) releaseDdiSurface(this.surface);
    this.surface = null;
  }
}
