/**
 * The system image loader's view of the driver under test (MmLoadSystemImage, the loaded-module list; ReactOS
 * ntoskrnl/mm/ARM3/sysldr.c): where its image lies, whether it is loaded, its instances (one per load), the addresses
 * of its routines, and which of its imports a build does not export. The I/O manager's DriverEntry and DriverUnload
 * (io/driver-loader.ts) move it between states; every component that calls into the driver asks it first.
 */
import { isExported, type OsBuild } from '../builds.js';
import type { DriverImage, DriverInstance, WasmAddressSpace } from '../ddi.js';
import type { EndState } from '../record.js';

export type DriverImageState = EndState['driver']['image'];

/** The imports of a driver image that a build does not export, per image and build (every boot asks). */
const MISSING_IMPORTS = new WeakMap<DriverImage, Map<string, readonly string[]>>();

export class LoadedDriver {
  /** never, loaded, failed-load, unloaded, pinned (a failed or unloaded image its devices keep resident). */
  state: DriverImageState = 'never';
  /** Where the current load's image lies. */
  base = 0;
  /** Loads so far (DriverEntry calls). */
  loads = 0;
  /** seq of the DriverEntry phase of the current load. */
  entrySeq = 0;
  /** Driver loads and unloads in flight (several CPUs), and how often one started or ended. */
  lifecycle = 0;
  lifecycleChanges = 0;
  /** The instance of the current load (its code and globals). */
  instance: DriverInstance | null = null;
  /** The current load's INIT section was freed: its DriverEntry has returned (code-sections rules). */
  initDiscarded = false;
  /** Every instance this run made (one per load). */
  readonly instances: DriverInstance[] = [];
  private systemImages = 0;
  private readonly routineAddress = new Map<unknown, number>();

  constructor(
    readonly image: DriverImage,
    private readonly build: OsBuild,
    /** A driver compiled to WebAssembly: where its stack and data lie. */
    readonly wasm: WasmAddressSpace | undefined,
    /** Several CPUs will run: load the driver's fibers build when it has one (docs/concurrency.md). */
    private readonly fibersWanted: boolean,
  ) {}

  get name(): string {
    return this.image.name;
  }

  /** The base of the next system image mapped (the driver's own loads and the system images the scenario loads). */
  nextSystemImageBase(): number {
    return this.build.systemImageBase + 0x100000 * ++this.systemImages;
  }

  /** The imports of the image this build does not export (the load fails with STATUS_DRIVER_ENTRYPOINT_NOT_FOUND). */
  missingImports(): readonly string[] {
    let byBuild = MISSING_IMPORTS.get(this.image);
    if (byBuild === undefined) MISSING_IMPORTS.set(this.image, (byBuild = new Map()));
    let missing = byBuild.get(this.build.id);
    if (missing === undefined) byBuild.set(this.build.id, (missing = this.image.imports.filter((d) => !isExported(this.build, d))));
    return missing;
  }

  /** A new instance for a load: the fibers build when several CPUs run and the image has one. */
  instantiate(): DriverInstance {
    this.instance = this.fibersWanted && this.image.instantiateFibers !== undefined ? this.image.instantiateFibers() : this.image.instantiate();
    this.instances.push(this.instance);
    this.initDiscarded = false;
    return this.instance;
  }

  /** A routine's address inside the driver image (made on first use, in the image of the load it was asked in). */
  addressOf(routine: unknown): number {
    let a = this.routineAddress.get(routine);
    if (a === undefined) {
      a = this.base + 0x1000 + 0x40 * this.routineAddress.size;
      this.routineAddress.set(routine, a);
    }
    return a;
  }

  /** The address `addressOf` gave the routine, or 0 if it never asked. */
  knownAddress(routine: unknown): number {
    return this.routineAddress.get(routine) ?? 0;
  }
}

/** A routine's name for the record: its function's name. */
export function routineName(routine: unknown): string {
  return typeof routine === 'function' && routine.name !== '' ? routine.name : 'anonymous';
}

/** A TypeScript driver calling a routine its build does not export: an error naming it (a C driver fails to load). */
export function requireExport(build: OsBuild, name: string): void {
  if (!isExported(build, name)) {
    throw new Error(`${name} is not exported by ${build.id}; import it only where it exists (MmGetSystemRoutineAddress)`);
  }
}
