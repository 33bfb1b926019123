/**
 * OS build profiles: EPROCESS layouts, pointer size, notify-table capacities and the statuses that differ by
 * version. Every number is sourced in docs/kernel-semantics.md (§ builds); the short tags here say where from.
 */
import {
  STATUS_INVALID_CID,
  STATUS_INVALID_PARAMETER,
  type NTSTATUS,
} from './status.js';

export type PointerSize = 4 | 8;

export interface EprocessLayout {
  /** sizeof(EPROCESS) in bytes. */
  readonly size: number;
  readonly UniqueProcessId: number;
  readonly ActiveProcessLinks: number;
  readonly InheritedFromUniqueProcessId: number;
  readonly ImageFileName: number;
  /** Declared length of ImageFileName: UCHAR[16] through 6.0, UCHAR[15] from 6.1 ([GC]). */
  readonly ImageFileNameSize: 15 | 16;
}

export interface OsBuild {
  readonly id: string;
  readonly title: string;
  /** Kernel version as major.minor and a representative build number (RtlGetVersion). */
  readonly major: number;
  readonly minor: number;
  readonly buildNumber: number;
  readonly pointerSize: PointerSize;
  readonly eprocess: EprocessLayout;
  /** Capacity of the process / thread / load-image notify tables. */
  readonly capacity: { readonly process: number; readonly thread: number; readonly image: number };
  /** Status of PsLookupProcessByProcessId for an unknown PID: INVALID_PARAMETER to XP/2003, INVALID_CID from Vista. */
  readonly lookupNotFound: NTSTATUS;
  /** Routines first exported in 5.1 (XP): absent on Windows 2000 ([GC] names51). */
  readonly hasXpExports: boolean;
  /** PID of the System process: 4 on XP+; 8 on 2000 is UNCONFIRMED (commonly cited). */
  readonly systemPid: number;
  /** Where kernel pool virtual addresses start (x64 values are kept in 48-bit form, sign-extended on output). */
  readonly kernelVaBase: number;
  /** Where user-mode images are mapped, and where drivers are loaded. */
  readonly userImageBase: number;
  readonly systemImageBase: number;
  /**
   * Bytes of pool one driver may hold before its allocations return NULL: the build's documented pool limit
   * where that is smaller than the simulated machine's (64 MB, a CHOICE: the simulator's address space is 512 MB).
   */
  readonly poolLimit: number;
  /** Notes shown by `psharness list` where a row is a modelling choice rather than a sourced fact. */
  readonly notes: readonly string[];
}

const X86_KVA = 0x80000000;
/**
 * The simulated machine's pool for one driver: 64 MB. Every modelled build documents more (x86 NT 5.x nonpaged
 * pool up to 256 MB; Vista+ and x64 dynamic, up to the address space — Russinovich, "Pushing the Limits of
 * Windows: Paged and Nonpaged Pool", 2009), so the simulator's own bound is the binding one: CHOICE.
 */
const SIMULATED_POOL_LIMIT = 64 * 1024 * 1024;
/**
 * 0xFFFFA780'00000000 in 48-bit form (bit 47 set: a kernel address): where every x64 build's simulated pool starts.
 * An x64 C driver's instrumentation translates addresses with it (src/driver/wasm/instrument.ts).
 */
export const X64_KERNEL_VA_BASE = 0xa780_0000_0000;
const X64_KVA = X64_KERNEL_VA_BASE;

export const BUILDS: readonly OsBuild[] = [
  {
    id: 'win2000-x86', title: 'Windows 2000 (NT 5.0) x86', major: 5, minor: 0, buildNumber: 2195,
    pointerSize: 4,
    eprocess: { size: 0x288, UniqueProcessId: 0x9c, ActiveProcessLinks: 0xa0, InheritedFromUniqueProcessId: 0x1c8, ImageFileName: 0x1fc, ImageFileNameSize: 16 },
    capacity: { process: 8, thread: 8, image: 8 },
    lookupNotFound: STATUS_INVALID_PARAMETER, hasXpExports: false, systemPid: 8,
    poolLimit: SIMULATED_POOL_LIMIT, kernelVaBase: X86_KVA, userImageBase: 0x00400000, systemImageBase: 0xf7000000,
    notes: ['System PID 8 is UNCONFIRMED', 'delivery order taken from the NT 5.2 code (UNCONFIRMED for 5.0)'],
  },
  {
    id: 'winxp-x86', title: 'Windows XP (NT 5.1) x86', major: 5, minor: 1, buildNumber: 2600,
    pointerSize: 4,
    eprocess: { size: 0x260, UniqueProcessId: 0x84, ActiveProcessLinks: 0x88, InheritedFromUniqueProcessId: 0x14c, ImageFileName: 0x174, ImageFileNameSize: 16 },
    capacity: { process: 8, thread: 8, image: 8 },
    lookupNotFound: STATUS_INVALID_PARAMETER, hasXpExports: true, systemPid: 4,
    poolLimit: SIMULATED_POOL_LIMIT, kernelVaBase: X86_KVA, userImageBase: 0x00400000, systemImageBase: 0xf7000000,
    notes: [],
  },
  {
    id: 'win2003-x86', title: 'Windows Server 2003 SP1 (late NT 5.2) x86', major: 5, minor: 2, buildNumber: 3790,
    pointerSize: 4,
    eprocess: { size: 0x278, UniqueProcessId: 0x94, ActiveProcessLinks: 0x98, InheritedFromUniqueProcessId: 0x138, ImageFileName: 0x164, ImageFileNameSize: 16 },
    capacity: { process: 8, thread: 8, image: 8 },
    lookupNotFound: STATUS_INVALID_PARAMETER, hasXpExports: true, systemPid: 4,
    poolLimit: SIMULATED_POOL_LIMIT, kernelVaBase: X86_KVA, userImageBase: 0x00400000, systemImageBase: 0xf7000000,
    notes: ['sizeof(EPROCESS) 0x278 is approximate (no offset used here lies beyond it)'],
  },
  {
    id: 'win7-x86', title: 'Windows 7 SP1 (NT 6.1) x86', major: 6, minor: 1, buildNumber: 7601,
    pointerSize: 4,
    eprocess: { size: 0x2c0, UniqueProcessId: 0xb4, ActiveProcessLinks: 0xb8, InheritedFromUniqueProcessId: 0x140, ImageFileName: 0x16c, ImageFileNameSize: 15 },
    capacity: { process: 64, thread: 64, image: 8 },
    lookupNotFound: STATUS_INVALID_CID, hasXpExports: true, systemPid: 4,
    poolLimit: SIMULATED_POOL_LIMIT, kernelVaBase: X86_KVA, userImageBase: 0x00400000, systemImageBase: 0x8c000000,
    notes: ['thread-table size 64 is UNCONFIRMED (tools assume it)', 'image table 8 (64 only with KB2922790)'],
  },
  {
    id: 'win10-x86', title: 'Windows 10 2004-22H2 (NT 10.0) x86', major: 10, minor: 0, buildNumber: 19045,
    pointerSize: 4,
    eprocess: { size: 0x480, UniqueProcessId: 0xe4, ActiveProcessLinks: 0xe8, InheritedFromUniqueProcessId: 0x170, ImageFileName: 0x1ac, ImageFileNameSize: 15 },
    capacity: { process: 64, thread: 64, image: 64 },
    lookupNotFound: STATUS_INVALID_CID, hasXpExports: true, systemPid: 4,
    poolLimit: SIMULATED_POOL_LIMIT, kernelVaBase: X86_KVA, userImageBase: 0x00400000, systemImageBase: 0x8c000000,
    notes: ['thread-table size 64 is UNCONFIRMED (tools assume it)', 'sizeof(EPROCESS) 0x480 is approximate (no offset used here lies beyond it)'],
  },
  {
    id: 'win7-x64', title: 'Windows 7 SP1 (NT 6.1) x64', major: 6, minor: 1, buildNumber: 7601,
    pointerSize: 8,
    eprocess: { size: 0x4d0, UniqueProcessId: 0x180, ActiveProcessLinks: 0x188, InheritedFromUniqueProcessId: 0x290, ImageFileName: 0x2e0, ImageFileNameSize: 15 },
    capacity: { process: 64, thread: 64, image: 8 },
    lookupNotFound: STATUS_INVALID_CID, hasXpExports: true, systemPid: 4,
    poolLimit: SIMULATED_POOL_LIMIT, kernelVaBase: X64_KVA, userImageBase: 0x7ff6_0000_0000, systemImageBase: 0xf880_0000_0000,
    notes: ['thread-table size 64 is UNCONFIRMED (tools assume it)', 'image table 8 (64 only with KB2922790)'],
  },
  {
    id: 'win10-x64', title: 'Windows 10 2004-22H2 (NT 10.0) x64', major: 10, minor: 0, buildNumber: 19045,
    pointerSize: 8,
    eprocess: { size: 0xa40, UniqueProcessId: 0x440, ActiveProcessLinks: 0x448, InheritedFromUniqueProcessId: 0x540, ImageFileName: 0x5a8, ImageFileNameSize: 15 },
    capacity: { process: 64, thread: 64, image: 64 },
    lookupNotFound: STATUS_INVALID_CID, hasXpExports: true, systemPid: 4,
    poolLimit: SIMULATED_POOL_LIMIT, kernelVaBase: X64_KVA, userImageBase: 0x7ff6_0000_0000, systemImageBase: 0xf800_0000_0000,
    notes: ['thread-table size 64 is UNCONFIRMED (tools assume it)'],
  },
  {
    id: 'win11-x64', title: 'Windows 11 24H2 (NT 10.0) x64', major: 10, minor: 0, buildNumber: 26100,
    pointerSize: 8,
    eprocess: { size: 0x840, UniqueProcessId: 0x1d0, ActiveProcessLinks: 0x1d8, InheritedFromUniqueProcessId: 0x2d0, ImageFileName: 0x338, ImageFileNameSize: 15 },
    capacity: { process: 64, thread: 64, image: 64 },
    lookupNotFound: STATUS_INVALID_CID, hasXpExports: true, systemPid: 4,
    poolLimit: SIMULATED_POOL_LIMIT, kernelVaBase: X64_KVA, userImageBase: 0x7ff6_0000_0000, systemImageBase: 0xf800_0000_0000,
    notes: ['thread-table size 64 is UNCONFIRMED (tools assume it)'],
  },
];

export class UnknownBuildError extends Error {
  constructor(id: string) {
    super(`unknown OS build '${id}' (known: ${BUILDS.map((b) => b.id).join(', ')})`);
    this.name = 'UnknownBuildError';
  }
}

export function getBuild(id: string): OsBuild {
  const b = BUILDS.find((x) => x.id === id);
  if (!b) throw new UnknownBuildError(id);
  return b;
}

/**
 * How many characters the kernel stores in ImageFileName: sizeof - 1, then a NUL ([WRK] mm/procsup.c).
 * For the 15-byte field of 6.1+ this gives 14 characters: the same code applied to the new size (a choice,
 * UNCONFIRMED: see docs/kernel-semantics.md).
 */
export function imageFileNameChars(build: OsBuild): number {
  return build.eprocess.ImageFileNameSize - 1;
}

/**
 * The kernel version that first exports a routine ([GC] history/names*.htm; [DOC] requirements): a driver that
 * imports a routine its build lacks does not load (STATUS_DRIVER_ENTRYPOINT_NOT_FOUND).
 */
const EXPORTED_SINCE: ReadonlyMap<string, readonly [number, number]> = new Map([
  ['PsRemoveCreateThreadNotifyRoutine', [5, 1]],
  ['PsRemoveLoadImageNotifyRoutine', [5, 1]],
  ['PsGetProcessImageFileName', [5, 1]],
  ['PsGetProcessId', [5, 1]],
  ['PsSetCreateProcessNotifyRoutineEx', [6, 0]],
  ['PsSetCreateThreadNotifyRoutineEx', [10, 0]],
  ['PsSetCreateProcessNotifyRoutineEx2', [10, 0]],
  ['PsSetLoadImageNotifyRoutineEx', [10, 0]],
  ['ExAllocatePool2', [10, 0]],
] as const);

export function isExported(build: OsBuild, routine: string): boolean {
  const since = EXPORTED_SINCE.get(routine);
  if (since === undefined) return true;
  return build.major > since[0] || (build.major === since[0] && build.minor >= since[1]);
}
