/**
 * The kernel's components as the DDI surface sees them: each executive component's state and mechanisms, by the
 * prefix of the routines that act on it (docs/architecture.md). `Kernel` (kernel.ts) composes them at boot; a DDI
 * routine reaches them through the binding of the surface it belongs to.
 */
import type { DebugPrintFilter } from './dbg/debugger.js';
import type { Ddi } from './ddi.js';
import type { ExSync } from './ex/sync.js';
import type { DeviceClient } from './io/client.js';
import type { DriverLoader } from './io/driver-loader.js';
import type { FileObjects } from './io/files.js';
import type { Irps } from './io/irps.js';
import type { KernelCore } from './ke/core.js';
import type { KernelMemory } from './mm/memory.js';
import type { LoadedDriver } from './mm/sysldr.js';
import type { CmCallbacks } from './cm/callbacks.js';
import type { FltFilters } from './flt/filters.js';
import type { FltContexts } from './flt/contexts.js';
import type { FltPending } from './flt/pending.js';
import type { FltPorts } from './flt/ports.js';
import type { ObCallbacks } from './ob/callbacks.js';
import type { KernelHandles } from './ob/handles.js';
import type { ObjectNamespace } from './ob/namespace.js';
import type { ObjectManager } from './ob/objects.js';
import type { ProcessLifecycle } from './ps/lifecycle.js';
import type { NotifyRoutines } from './ps/notify.js';
import type { Processes } from './ps/processes.js';
import type { Recorder } from './recorder.js';
import type { Verifier } from './vf/verifier.js';

/** The process manager: processes and threads, their notify routines, their creation and exit. */
export interface PsComponent {
  readonly processes: Processes;
  readonly notify: NotifyRoutines;
  readonly lifecycle: ProcessLifecycle;
}

/** The object manager: objects and references, kernel handles, object callbacks, the device/link namespace. */
export interface ObComponent {
  readonly objects: ObjectManager;
  readonly handles: KernelHandles;
  readonly callbacks: ObCallbacks;
  readonly namespace: ObjectNamespace;
}

/** The configuration manager: the registry and the registry callbacks. */
export interface CmComponent {
  readonly callbacks: CmCallbacks;
}

/** The filter manager: minifilters, their instance on the volume, and file I/O through them. */
export interface FltComponent {
  readonly filters: FltFilters;
  readonly ports: FltPorts;
  readonly contexts: FltContexts;
  readonly pending: FltPending;
}

/** The I/O manager: driver load and unload, IRPs, file objects and the user-mode client. */
export interface IoComponent {
  readonly loader: DriverLoader;
  readonly irps: Irps;
  readonly files: FileObjects;
  readonly client: DeviceClient;
}

/** The executive support routines: pool (its quota), ERESOURCEs, push locks, lookaside lists. */
export interface ExComponent {
  /** Bytes of pool the driver may hold (the build's limit, or a low-memory scenario's). */
  readonly poolQuota: number;
  readonly sync: ExSync;
}

/** The debugger's side: what DbgPrintEx (and DbgPrint from Vista) lets through. */
export interface DbgComponent {
  readonly filter: DebugPrintFilter;
}

export interface KernelComponents {
  readonly ke: KernelCore;
  readonly rec: Recorder;
  readonly mem: KernelMemory;
  readonly verifier: Verifier;
  /** The driver under test as the system image loader holds it. */
  readonly loaded: LoadedDriver;
  readonly ps: PsComponent;
  readonly ob: ObComponent;
  readonly cm: CmComponent;
  readonly flt: FltComponent;
  readonly io: IoComponent;
  readonly ex: ExComponent;
  readonly dbg: DbgComponent;
  /** The image was linked with /INTEGRITYCHECK (IMAGE_DLLCHARACTERISTICS_FORCE_INTEGRITY). */
  readonly integrityCheck: boolean;
}

/**
 * What a DDI surface's routines read when called: the kernel it is bound to now and what they use of it, set when
 * the surface is bound (routines are made once per surface, not per run).
 */
export interface DdiBinding {
  k: KernelComponents;
  mem: KernelMemory;
  v: Verifier;
  ps: 4 | 8;
  driverName: string;
  /** The surface's own routines as the driver calls them (counted, IRQL-checked): for a DDI that calls another. */
  readonly ddi: Ddi;
}
