/**
 * The I/O manager's driver load and unload (IopLoadDriver, NtUnloadDriver; [WRK] io/iomgr/loadunld.c, internal.c):
 * the image is mapped (an image notify with ProcessId 0), the DRIVER_OBJECT made with every MajorFunction slot at
 * IopInvalidDeviceRequest, DriverEntry called in the System process; a failed DriverEntry never gets DriverUnload and
 * its image is freed (or pinned by its device objects, per profile). An unload waits for the last file object on
 * the driver's devices.
 */
import type { Ddi, DRIVER_OBJECT, PDRIVER_DISPATCH, PDRIVER_UNLOAD } from '../ddi.js';
import { NOTHING, type KernelCore } from '../ke/core.js';
import type { ObjectNamespace } from '../ob/namespace.js';
import type { CmCallbacks } from '../cm/callbacks.js';
import type { FltFilters } from '../flt/filters.js';
import { routineName } from '../mm/sysldr.js';
import type { ObCallbacks } from '../ob/callbacks.js';
import type { NotifyRoutines } from '../ps/notify.js';
import type { Processes } from '../ps/processes.js';
import type { Residue } from '../record.js';
import { makeLoaderEntry } from '../mm/loader-entry.js';
import { allocUnicodeString } from '../rtl/unicode-string.js';
import {
  NT_SUCCESS,
  STATUS_DRIVER_ENTRYPOINT_NOT_FOUND,
  STATUS_INVALID_DEVICE_REQUEST,
  STATUS_SUCCESS,
  statusName,
  type NTSTATUS,
} from '../status.js';
import type { FileObjects } from './files.js';
import { IRP_MJ_MAXIMUM_FUNCTION } from './layouts.js';

const DRIVER_OBJECT_SIZE = { 4: 0xa8, 8: 0x150 } as const;
/** DRIVER_OBJECT.DriverStart, DriverSize and DriverSection (wdm.h). */
const DRIVER_OBJECT_IMAGE = { 4: { start: 0x0c, size: 0x10, section: 0x14 }, 8: { start: 0x18, size: 0x20, section: 0x28 } } as const;
/** The size of the driver's image as the kernel maps it (the image notify says the same). */
const DRIVER_IMAGE_SIZE = 0x3000;

/** IopInvalidDeviceRequest: what the I/O manager puts in every MajorFunction slot before DriverEntry. */
export const IopInvalidDeviceRequest: PDRIVER_DISPATCH = () => STATUS_INVALID_DEVICE_REQUEST;

/** Where a load gets its DDI surface (the kernel: see ob/objects.ts DeleteProcedures for why not a closure). */
export interface DdiSource {
  takeDdi(): Ddi;
}

/** The DRIVER_OBJECT of the current load. */
export type DriverObjectState = DRIVER_OBJECT & { DeviceObject: number };

export class DriverLoader {
  /** @internal the DRIVER_OBJECT of the current load */
  driverObject: DriverObjectState | null = null;
  /** NtUnloadDriver came while file objects were open on the driver's devices: DriverUnload runs when the last closes. */
  private unloadDeferred = false;
  private unloading = false;
  /** What the driver owned before its current DriverEntry ran: left by an earlier load. */
  private inherited: ReadonlySet<object> = new Set();

  constructor(
    private readonly ke: KernelCore,
    private readonly processes: Processes,
    private readonly notify: NotifyRoutines,
    private readonly obCallbacks: ObCallbacks,
    private readonly cmCallbacks: CmCallbacks,
    private readonly fltFilters: FltFilters,
    private readonly namespace: ObjectNamespace,
    private readonly files: FileObjects,
    /** The DDI surface for a load (its routines bound to this kernel). */
    private readonly surfaces: DdiSource,
  ) {}

  /** An unload the I/O manager has started: deferred until the last file closes, or DriverUnload running now. */
  get unloadPending(): boolean {
    return this.unloadDeferred || this.unloading;
  }

  /** A load or unload in flight (several CPUs: the notifications it overlaps are no one's to miss). */
  private *lifecycleOp<T>(body: Generator<void, T, void>): Generator<void, T, void> {
    const loaded = this.ke.loaded;
    if (this.ke.cpus.sched === null) return yield* body;
    loaded.lifecycle++;
    loaded.lifecycleChanges++;
    try {
      return yield* body;
    } finally {
      loaded.lifecycle--;
      loaded.lifecycleChanges++;
    }
  }

  /** @internal */
  *loadDriverG(): Generator<void, NTSTATUS, void> {
    return yield* this.lifecycleOp(this.loadDriverSteps());
  }

  private *loadDriverSteps(): Generator<void, NTSTATUS, void> {
    const { ke, processes } = this;
    const { mem, loaded, rec, build } = ke;
    ke.assertRunning();
    if (loaded.state === 'loaded' || loaded.state === 'pinned') return STATUS_INVALID_DEVICE_REQUEST;
    const name = loaded.name;
    const phase = rec.beginPhase('Load');
    const missing = loaded.missingImports();
    if (missing.length > 0) {
      phase.status = statusName(STATUS_DRIVER_ENTRYPOINT_NOT_FOUND);
      phase.outcome = 'refused';
      phase.note = `imports not exported by ${build.id}: ${missing.join(', ')}`;
      rec.frame = null;
      loaded.state = loaded.state === 'never' ? 'failed-load' : loaded.state;
      return STATUS_DRIVER_ENTRYPOINT_NOT_FOUND;
    }
    rec.frame = null;
    loaded.loads++;
    loaded.base = loaded.nextSystemImageBase();
    const imagePath = `\\SystemRoot\\System32\\drivers\\${name}.sys`;
    yield* ke.inContext(processes.systemThread(), () => this.notify.notifyImage(null, imagePath, loaded.base, DRIVER_IMAGE_SIZE) ?? NOTHING);
    const ps = build.pointerSize;
    const doVa = mem.alloc(DRIVER_OBJECT_SIZE[ps], 'Driv', 'kernel', { type: 'DRIVER_OBJECT', driverWritable: true });
    // Type, Size, and MajorFunction[] pre-filled with IopInvalidDeviceRequest ([WRK] io/iomgr/internal.c)
    mem.setU16(doVa, 4);
    mem.setU16(doVa + 2, DRIVER_OBJECT_SIZE[ps]);
    for (let i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++) mem.setPtr(doVa + (ps === 4 ? 0x38 : 0x70) + i * ps, build.systemImageBase + 0x1230);
    // the image: where it lies, and its loader entry ([WRK] io/iomgr/internal.c IopLoadDriver: DriverSection = the section)
    const img = DRIVER_OBJECT_IMAGE[ps === 4 ? 4 : 8];
    mem.setPtr(doVa + img.start, loaded.base);
    mem.setU32(doVa + img.size, DRIVER_IMAGE_SIZE);
    mem.setPtr(doVa + img.section, makeLoaderEntry(mem, { base: loaded.base, size: DRIVER_IMAGE_SIZE, fullName: imagePath, baseName: `${name}.sys` }));
    const driverObject: DriverObjectState = {
      address: doVa,
      DriverUnload: null as PDRIVER_UNLOAD | null,
      MajorFunction: new Array<PDRIVER_DISPATCH>(IRP_MJ_MAXIMUM_FUNCTION + 1).fill(IopInvalidDeviceRequest),
      DeviceObject: 0,
    };
    this.driverObject = driverObject;
    const instance = loaded.instantiate();
    loaded.state = 'loaded';
    const registryPath = allocUnicodeString(mem, `\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Services\\${name}`, 'kernel');
    // what an earlier load of this driver left behind is that load's residue, not this one's
    this.inherited = loaded.instances.length > 1 ? new Set(this.owned()) : new Set(); // the first load inherits nothing
    const entry = rec.beginPhase('DriverEntry');
    loaded.entrySeq = entry.seq;
    const ddi = this.surfaces.takeDdi();
    let status: NTSTATUS = STATUS_SUCCESS;
    yield* ke.inContext(processes.systemThread(), () => ke.runDriverCode(entry, null, () => {
      status = instance.DriverEntry(ddi, driverObject, registryPath) >>> 0;
    }));
    entry.status = statusName(status);
    // IopLoadDriver frees the image's INIT section once DriverEntry returns ([WRK] MmFreeDriverInitialization)
    loaded.initDiscarded = true;
    rec.frame = null;
    if (NT_SUCCESS(status)) {
      const mine = loaded.name;
      entry.interface = {
        devices: this.namespace.devices.filter((d) => d.owner === mine).map((d) => ({ name: d.name, exclusive: d.exclusive === true })),
        links: [...this.namespace.links.values()].filter((l) => l.owner === mine).map((l) => ({ name: l.name, target: l.target })),
      };
    }
    if (!NT_SUCCESS(status)) {
      entry.residue = this.residue();
      this.releaseImage();
    }
    return status;
  }

  /** @internal NtUnloadDriver: refused with STATUS_INVALID_DEVICE_REQUEST when DriverUnload is NULL ([WRK] io/iomgr/loadunld.c). */
  *unloadDriverG(): Generator<void, NTSTATUS, void> {
    return yield* this.lifecycleOp(this.unloadDriverSteps());
  }

  private *unloadDriverSteps(): Generator<void, NTSTATUS, void> {
    const { ke } = this;
    const rec = ke.rec;
    ke.assertRunning();
    if (ke.loaded.state !== 'loaded' || this.driverObject === null) return STATUS_INVALID_DEVICE_REQUEST;
    const phase = rec.beginPhase('Unload');
    const unload = this.driverObject.DriverUnload;
    // a registered minifilter is stopped by the filter manager, through its FilterUnloadCallback: without one it
    // "cannot be unloaded" ([DOC] fltkernel/nc-fltkernel-pflt_filter_unload_callback)
    const filter = this.fltFilters.driverFilter();
    if (filter !== undefined ? filter.registration.FilterUnloadCallback === null : unload === null) {
      phase.status = statusName(STATUS_INVALID_DEVICE_REQUEST);
      phase.outcome = 'refused';
      phase.note = filter !== undefined ? 'FilterUnloadCallback is NULL: the filter manager cannot unload the minifilter' : 'DriverUnload is NULL: the driver can never be stopped';
      rec.frame = null;
      return STATUS_INVALID_DEVICE_REQUEST;
    }
    phase.status = statusName(STATUS_SUCCESS);
    rec.frame = null;
    if (this.files.driverDevicesOpen()) {
      // a client still has a file open on its device: the I/O manager marks the unload pending and calls DriverUnload
      // when the last file object goes ([WRK] io/iomgr/loadunld.c IopUnloadDriver: a referenced device is not safe to
      // unload; ReactOS io/iomgr/device.c IopDereferenceDeviceObject → IopUnloadDevice)
      phase.note = 'deferred: a client has the device open; DriverUnload runs when its last file object is closed';
      this.unloadDeferred = true;
      return STATUS_SUCCESS;
    }
    return yield* this.runDriverUnload();
  }

  /** @internal the unload deferred until the last file object closed: now, if the driver is still loaded */
  *deferredUnloadG(): Generator<void, void, void> {
    if (!this.unloadDeferred || this.ke.halted || this.ke.loaded.state !== 'loaded' || this.files.driverDevicesOpen()) return;
    this.unloadDeferred = false;
    yield* this.lifecycleOp(this.runDriverUnload());
  }

  private *runDriverUnload(): Generator<void, NTSTATUS, void> {
    const { ke } = this;
    this.unloading = true;
    if (this.driverObject !== null) ke.cpus.syncAcquire(this.driverObject.address);
    const up = ke.rec.beginPhase('DriverUnload');
    const driverObject = this.driverObject as DriverObjectState;
    const unload = driverObject.DriverUnload;
    const filterUnload = this.fltFilters.driverFilter()?.registration.FilterUnloadCallback ?? null;
    let refused: NTSTATUS = STATUS_SUCCESS;
    yield* ke.inContext(this.processes.systemThread(), () => ke.runDriverCode(up, null, () => {
      // the filter manager's unload: FilterUnloadCallback (not mandatory), then the driver's own DriverUnload if it
      // set one (CHOICE: the WDK leaves DriverUnload NULL in minifilters and is silent on the order)
      if (filterUnload !== null) {
        up.note = `the filter manager's unload: ${routineName(filterUnload)}(0)`;
        const st = filterUnload(0) >>> 0;
        if (!NT_SUCCESS(st)) {
          refused = st;
          return;
        }
      }
      if (unload !== null) unload(driverObject);
    }));
    ke.rec.frame = null;
    if (refused !== STATUS_SUCCESS) {
      // [DOC] an error from FilterUnloadCallback on an unload that is not mandatory keeps the minifilter loaded
      up.status = statusName(refused);
      up.outcome = 'refused';
      this.unloading = false;
      return refused;
    }
    up.residue = this.residue();
    this.cmCallbacks.unloaded(up.seq);
    this.fltFilters.unloaded(up.seq);
    ke.unloadedWhileRunning();
    this.releaseImage();
    this.unloading = false;
    return STATUS_SUCCESS;
  }

  /** Every routine registration, device, link and pool block the driver owns now (by identity). */
  private owned(): object[] {
    const mine = this.ke.loaded.name;
    const out: object[] = [];
    for (const table of this.notify.tables) for (const s of table.slots) if (s !== null && s.owner === mine) out.push(s);
    for (const r of this.obCallbacks.registrations) if (r.owner === mine) out.push(r);
    for (const r of this.cmCallbacks.registrations) if (r.owner === mine) out.push(r);
    for (const f of this.fltFilters.filters) if (f.owner === mine) out.push(f);
    for (const d of this.namespace.devices) if (d.owner === mine) out.push(d);
    for (const l of this.namespace.links.values()) if (l.owner === mine) out.push(l);
    for (const b of this.ke.mem.liveBlocks()) if (b.owner === mine) out.push(b);
    return out;
  }

  /**
   * The driver's routines, devices, links and pool that are still in the kernel, less what an earlier load of it
   * left (`inherited`): a routine an earlier DriverUnload forgot is that unload's finding, not this load's again.
   */
  private residue(): Residue {
    const mine = this.ke.loaded.name;
    const ours = (x: { owner: string }): boolean => x.owner === mine && !this.inherited.has(x);
    const registrations: string[] = [];
    for (const table of this.notify.tables) {
      table.slots.forEach((s, slot) => {
        if (s !== null && ours(s)) registrations.push(`${table.kind} notify ${s.name} (slot ${slot})`);
      });
    }
    for (const r of this.obCallbacks.registrations) if (ours(r)) registrations.push(`object callbacks at altitude ${r.altitude}`);
    for (const r of this.cmCallbacks.registrations) if (ours(r)) registrations.push(`registry callback ${routineName(r.routine)} at altitude ${r.altitude}`);
    for (const f of this.fltFilters.filters) if (ours(f)) registrations.push(`minifilter at altitude ${f.altitude}`);
    return {
      registrations,
      devices: this.namespace.devices.filter(ours).map((d) => d.name ?? '(unnamed)'),
      links: [...this.namespace.links.values()].filter(ours).map((l) => l.name),
      pool: this.ke.mem.liveBlocks().filter(ours).map((b) => `${b.tag}:${b.size}`),
    };
  }

  private releaseImage(): void {
    const loaded = this.ke.loaded;
    const hasDevices = this.namespace.devices.some((d) => d.owner === loaded.name);
    loaded.state = hasDevices && this.ke.profile.leakedDeviceImage === 'pinned-by-devices' ? 'pinned' : 'unloaded';
  }
}
