/**
 * The DDI surface a driver gets: the kernel's export table. Each WDK name routes to the component that owns it
 * (`Ps*` in ps/, `Io*` in io/, ...: docs/architecture.md); this file only assembles the table, counts every call
 * against the routine's budget and checks its documented IRQL, and binds the table to one kernel at a time.
 * Sources per behaviour are in docs/kernel-semantics.md.
 */
import type { DdiBinding, KernelComponents } from './components.js';
import type { Ddi } from './ddi.js';
import { dbgPrintDdis } from './dbg/print-ddis.js';
import { exFastMutexDdis } from './ex/fast-mutex-ddis.js';
import { exLookasideDdis } from './ex/lookaside-ddis.js';
import { exPoolDdis } from './ex/pool-ddis.js';
import { exRaiseDdis } from './ex/raise-ddis.js';
import { exSyncDdis } from './ex/sync-ddis.js';
import { ioDeviceDdis } from './io/device-ddis.js';
import { ioIrpDdis } from './io/irp-ddis.js';
import { keCpuHookDdis } from './ke/cpu-hook-ddis.js';
import { keDispatcherDdis } from './ke/dispatcher-ddis.js';
import { DDI_IRQL } from './ke/irql.js';
import { keSpinLockDdis } from './ke/spin-lock-ddis.js';
import { mmAccessDdis } from './mm/access-ddis.js';
import { cmCallbackDdis } from './cm/callback-ddis.js';
import { fltDdis } from './flt/filter-ddis.js';
import { fltContextDdis } from './flt/context-ddis.js';
import { fltPortDdis } from './flt/port-ddis.js';
import { fltWorkItemDdis } from './flt/workitem-ddis.js';
import { obCallbackDdis } from './ob/callback-ddis.js';
import { obHandleDdis } from './ob/handle-ddis.js';
import { obReferenceDdis } from './ob/reference-ddis.js';
import { psLookupDdis } from './ps/lookup-ddis.js';
import { psNotifyDdis } from './ps/notify-ddis.js';
import { psQueryDdis } from './ps/query-ddis.js';
import { rtlMemoryDdis } from './rtl/memory-ddis.js';
import { rtlStringDdis, type RtlStringDdis } from './rtl/string-ddis.js';
import { seImageNameDdis } from './se/image-name-ddis.js';
import { vfHookDdis } from './vf/hook-ddis.js';
import type { Verifier } from './vf/verifier.js';

/**
 * Every call counts against the routine's budget (the watchdog), and every routine with a documented IRQL limit
 * checks it first (DDI compliance checking). Wraps the functions of `table` in place.
 */
function wrapDdis(table: Record<string, unknown>, verifier: () => Verifier): void {
  for (const name of Object.keys(table)) {
    const f = table[name];
    if (typeof f !== 'function' || UNCOUNTED.has(name)) continue;
    const limited = DDI_IRQL[name] !== undefined;
    table[name] = (...args: unknown[]): unknown => {
      const v = verifier();
      v.countDdiCall();
      if (limited) v.checkIrql(name);
      return (f as (...a: unknown[]) => unknown)(...args);
    };
  }
}

/** The hooks of the instrumented code: not calls of the driver (neither counted nor IRQL-checked). */
const UNCOUNTED: ReadonlySet<string> = new Set(['WORK_EXCEEDED', 'VERIFY_ACCESS', 'VERIFY_VALUE', 'CPU', 'SCHEDULING_POINT', 'SUSPENDED', 'FIBER_BUFFER', 'ATOMIC_BEGIN', 'ATOMIC_END', 'CODE_SECTION_EXECUTES']);

const UNICODE_STRING_32 = { Length: 0, MaximumLength: 2, Buffer: 4, size: 8 } as const;
const UNICODE_STRING_64 = { Length: 0, MaximumLength: 2, Buffer: 8, size: 16 } as const;

/** A DDI surface and the kernel it is bound to (a run's; none while idle). */
export interface DdiSurface {
  readonly ddi: Ddi;
  bind(k: KernelComponents | null): void;
}

/** How many surfaces whose run is over wait for the next kernels (runs on one thread use one or two at a time). */
const IDLE_SURFACES = 4;
const idle: DdiSurface[] = [];
let surfaceReuse = true;

/** @internal for tests: off, every load builds its surface anew (what a reused one must be identical to). */
export function setDdiSurfaceReuse(on: boolean): void {
  surfaceReuse = on;
  if (!on) idle.length = 0;
}

/**
 * The DDI surface for a driver load on `k`: one whose run is over, rebound to `k`, or a new one. Its ~200 closures
 * are made once per surface, not per run (they were two fifths of what a boot allocated).
 */
export function takeDdiSurface(k: KernelComponents): DdiSurface {
  const s = (surfaceReuse ? idle.pop() : undefined) ?? newSurface();
  s.bind(k);
  return s;
}

/** The run is over (its record taken): the surface forgets its kernel and serves a later one. */
export function releaseDdiSurface(s: DdiSurface): void {
  s.bind(null);
  // once: a surface idle twice would serve two kernels
  if (surfaceReuse && idle.length < IDLE_SURFACES && !idle.includes(s)) idle.push(s);
}

/**
 * The string routines read and write the driver's buffers for it: an overrun is the driver's, reported as the kernel
 * touching it on the driver's behalf (special pool's 0xCD/0xCC codes).
 */
function onBehalf(b: DdiBinding, routines: RtlStringDdis): RtlStringDdis {
  return Object.fromEntries(Object.entries(routines).map(([name, f]) => [name, (...a: unknown[]) => b.v.onBehalfOfDriver(() => (f as (...x: unknown[]) => unknown)(...a))])) as unknown as RtlStringDdis;
}

function newSurface(): DdiSurface {
  // what the routines read when called: the kernel the surface is bound to now (set by bind)
  const b = { k: null, mem: null, v: null, ps: 4, driverName: '', ddi: null } as unknown as { -readonly [K in keyof DdiBinding]: DdiBinding[K] };
  const table: Ddi = {
    // the run's (set by bind)
    pointerSize: 4,
    memory: null as unknown as WebAssembly.Memory,
    IMAGE_INFO: null as unknown as Ddi['IMAGE_INFO'],
    PS_CREATE_NOTIFY_INFO: null as unknown as Ddi['PS_CREATE_NOTIFY_INFO'],
    IRP: null as unknown as Ddi['IRP'],
    IO_STACK_LOCATION: null as unknown as Ddi['IO_STACK_LOCATION'],
    UNICODE_STRING: UNICODE_STRING_32,
    // by component
    ...mmAccessDdis(b),
    ...rtlMemoryDdis(b),
    ...onBehalf(b, rtlStringDdis(b)),
    ...psNotifyDdis(b),
    ...psLookupDdis(b),
    ...psQueryDdis(b),
    ...obReferenceDdis(b),
    ...obHandleDdis(b),
    ...obCallbackDdis(b),
    ...cmCallbackDdis(b),
    ...fltDdis(b),
    ...fltPortDdis(b),
    ...fltContextDdis(b),
    ...fltWorkItemDdis(b),
    ...seImageNameDdis(b),
    ...ioDeviceDdis(b),
    ...ioIrpDdis(b),
    ...exPoolDdis(b),
    ...exLookasideDdis(b),
    ...exFastMutexDdis(b),
    ...exSyncDdis(b),
    ...exRaiseDdis(b),
    ...keSpinLockDdis(b),
    ...keDispatcherDdis(b),
    ...keCpuHookDdis(b),
    ...dbgPrintDdis(b),
    ...vfHookDdis(b),
  };
  wrapDdis(table as unknown as Record<string, unknown>, () => b.v);
  b.ddi = table;
  const fields = table as unknown as Record<string, unknown>;
  const bind = (kernel: KernelComponents | null): void => {
    if (kernel === null) {
      b.k = null as unknown as KernelComponents;
      b.mem = null as unknown as DdiBinding['mem'];
      b.v = null as unknown as Verifier;
      fields.memory = null;
      return;
    }
    const ps = kernel.ke.build.pointerSize;
    b.k = kernel;
    b.mem = kernel.mem;
    b.v = kernel.verifier;
    b.ps = ps;
    b.driverName = kernel.loaded.name;
    fields.pointerSize = ps;
    fields.memory = kernel.mem.wasm;
    fields.IMAGE_INFO = kernel.ps.notify.imageInfo;
    fields.PS_CREATE_NOTIFY_INFO = kernel.ps.notify.createInfo;
    fields.IRP = kernel.io.irps.irpLayout;
    fields.IO_STACK_LOCATION = kernel.io.irps.stackLayout;
    fields.UNICODE_STRING = ps === 4 ? UNICODE_STRING_32 : UNICODE_STRING_64;
  };
  return { ddi: table, bind };
}
