/**
 * OS build profiles: EPROCESS layouts, pointer size, notify-table capacities and the statuses that differ by
 * version. Every number is sourced in docs/kernel-semantics.md (§ builds); the short tags here say where from.
 */
import { suggestion } from './did-you-mean.js';
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
  /** Where the EPROCESS offsets come from (docs/kernel-semantics.md § Builds has the full citations). */
  readonly source: string;
}

/** Geoff Chappell's EPROCESS study: offsets per version from Microsoft's symbol files (5.0 SP3 on). */
const GC = '[GC] inc/ntos/ps/eprocess (Microsoft symbol files)';

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

const UNCONFIRMED_THREAD_TABLE = 'thread-table size 64 is UNCONFIRMED (tools assume it)';
const APPROXIMATE_SIZE = 'sizeof(EPROCESS) is approximate (no offset used here lies beyond it)';

/** EPROCESS identity fields: UniqueProcessId, ActiveProcessLinks, InheritedFromUniqueProcessId, ImageFileName, size. */
type Layout = readonly [number, number, number, number, number];

interface Release {
  readonly id: string;
  readonly title: string;
  readonly version: readonly [number, number, number];
  readonly layout: Layout;
  readonly notes?: readonly string[];
  readonly source?: string;
  /** Image notify slots: 8 up to Windows 8, 64 from 8.1's April 2014 update ([DOC]). */
  readonly imageSlots?: 8 | 64;
}

/** A Vista-or-later build: 64 process slots, CID lookups fail with STATUS_INVALID_CID, UCHAR[15] names from 6.1. */
function vistaPlus(pointerSize: PointerSize, r: Release): OsBuild {
  const [major, minor, buildNumber] = r.version;
  const [UniqueProcessId, ActiveProcessLinks, InheritedFromUniqueProcessId, ImageFileName, size] = r.layout;
  const x64 = pointerSize === 8;
  return {
    id: r.id, title: r.title, major, minor, buildNumber, pointerSize,
    eprocess: { size, UniqueProcessId, ActiveProcessLinks, InheritedFromUniqueProcessId, ImageFileName, ImageFileNameSize: major === 6 && minor === 0 ? 16 : 15 },
    capacity: { process: 64, thread: 64, image: r.imageSlots ?? 64 },
    lookupNotFound: STATUS_INVALID_CID, hasXpExports: true, systemPid: 4,
    poolLimit: SIMULATED_POOL_LIMIT,
    kernelVaBase: x64 ? X64_KVA : X86_KVA,
    userImageBase: x64 ? 0x7ff6_0000_0000 : 0x00400000,
    systemImageBase: x64 ? (major === 6 && minor <= 1 ? 0xf880_0000_0000 : 0xf800_0000_0000) : 0x8c000000,
    notes: [UNCONFIRMED_THREAD_TABLE, ...(r.notes ?? [])],
    source: r.source ?? GC,
  };
}

/**
 * Windows 10 releases: the identity fields moved three times ([GC] eprocess: 1507; 1511-1607; 1703-1809; 1903;
 * 2004+), and 1909 shares 1903's kernel (19H2 is an update of 19H1: build 18363 vs 18362).
 */
const WIN10: readonly { readonly release: string; readonly build: number; readonly x86: Layout; readonly x64: Layout; readonly notes?: readonly string[] }[] = [
  { release: '1507', build: 10240, x86: [0xb4, 0xb8, 0x138, 0x170, 0x380], x64: [0x2e8, 0x2f0, 0x3e0, 0x448, 0x798] },
  { release: '1511', build: 10586, x86: [0xb4, 0xb8, 0x138, 0x174, 0x380], x64: [0x2e8, 0x2f0, 0x3e0, 0x450, 0x850], notes: [APPROXIMATE_SIZE] },
  { release: '1607', build: 14393, x86: [0xb4, 0xb8, 0x138, 0x174, 0x380], x64: [0x2e8, 0x2f0, 0x3e0, 0x450, 0x850], notes: [APPROXIMATE_SIZE] },
  { release: '1703', build: 15063, x86: [0xb4, 0xb8, 0x140, 0x17c, 0x380], x64: [0x2e0, 0x2e8, 0x3e0, 0x450, 0x850], notes: [APPROXIMATE_SIZE] },
  { release: '1709', build: 16299, x86: [0xb4, 0xb8, 0x140, 0x17c, 0x380], x64: [0x2e0, 0x2e8, 0x3e0, 0x450, 0x850], notes: [APPROXIMATE_SIZE] },
  { release: '1803', build: 17134, x86: [0xb4, 0xb8, 0x140, 0x17c, 0x380], x64: [0x2e0, 0x2e8, 0x3e0, 0x450, 0x850], notes: [APPROXIMATE_SIZE] },
  // x64 confirmed field by field by the symbol-derived ntdiff/headers Win10_1809_RS5/x64 _EPROCESS.h (size 0x850)
  { release: '1809', build: 17763, x86: [0xb4, 0xb8, 0x140, 0x17c, 0x380], x64: [0x2e0, 0x2e8, 0x3e0, 0x450, 0x850], notes: ['x86 sizeof(EPROCESS) is approximate'] },
  { release: '1903', build: 18362, x86: [0xb4, 0xb8, 0x140, 0x17c, 0x380], x64: [0x2e8, 0x2f0, 0x3e8, 0x450, 0x880], notes: [APPROXIMATE_SIZE] },
  { release: '1909', build: 18363, x86: [0xb4, 0xb8, 0x140, 0x17c, 0x380], x64: [0x2e8, 0x2f0, 0x3e8, 0x450, 0x880], notes: [APPROXIMATE_SIZE, 'layout of 1903 (the same kernel, build 18363)'] },
];

export const BUILDS: readonly OsBuild[] = [
  {
    id: 'win2000-x86', title: 'Windows 2000 (NT 5.0) x86', major: 5, minor: 0, buildNumber: 2195,
    pointerSize: 4,
    eprocess: { size: 0x288, UniqueProcessId: 0x9c, ActiveProcessLinks: 0xa0, InheritedFromUniqueProcessId: 0x1c8, ImageFileName: 0x1fc, ImageFileNameSize: 16 },
    capacity: { process: 8, thread: 8, image: 8 },
    lookupNotFound: STATUS_INVALID_PARAMETER, hasXpExports: false, systemPid: 8,
    poolLimit: SIMULATED_POOL_LIMIT, kernelVaBase: X86_KVA, userImageBase: 0x00400000, systemImageBase: 0xf7000000,
    notes: ['System PID 8 is UNCONFIRMED', 'delivery order taken from the NT 5.2 code (UNCONFIRMED for 5.0)'],
    source: `${GC}; [DOC] debuggercmds/-processfields.md (ImageFileName 0x1FC)`,
  },
  {
    id: 'winxp-x86', title: 'Windows XP (NT 5.1) x86', major: 5, minor: 1, buildNumber: 2600,
    pointerSize: 4,
    eprocess: { size: 0x260, UniqueProcessId: 0x84, ActiveProcessLinks: 0x88, InheritedFromUniqueProcessId: 0x14c, ImageFileName: 0x174, ImageFileNameSize: 16 },
    capacity: { process: 8, thread: 8, image: 8 },
    lookupNotFound: STATUS_INVALID_PARAMETER, hasXpExports: true, systemPid: 4,
    poolLimit: SIMULATED_POOL_LIMIT, kernelVaBase: X86_KVA, userImageBase: 0x00400000, systemImageBase: 0xf7000000,
    notes: [],
    source: GC,
  },
  {
    id: 'win2003-x86', title: 'Windows Server 2003 SP1 (late NT 5.2) x86', major: 5, minor: 2, buildNumber: 3790,
    pointerSize: 4,
    eprocess: { size: 0x278, UniqueProcessId: 0x94, ActiveProcessLinks: 0x98, InheritedFromUniqueProcessId: 0x138, ImageFileName: 0x164, ImageFileNameSize: 16 },
    capacity: { process: 8, thread: 8, image: 8 },
    lookupNotFound: STATUS_INVALID_PARAMETER, hasXpExports: true, systemPid: 4,
    poolLimit: SIMULATED_POOL_LIMIT, kernelVaBase: X86_KVA, userImageBase: 0x00400000, systemImageBase: 0xf7000000,
    notes: ['sizeof(EPROCESS) 0x278 is approximate (no offset used here lies beyond it)'],
    source: GC,
  },
  vistaPlus(4, { id: 'winvista-x86', title: 'Windows Vista SP1 (NT 6.0) x86', version: [6, 0, 6001], layout: [0x9c, 0xa0, 0x124, 0x14c, 0x270], imageSlots: 8 }),
  vistaPlus(4, { id: 'win7-x86', title: 'Windows 7 SP1 (NT 6.1) x86', version: [6, 1, 7601], layout: [0xb4, 0xb8, 0x140, 0x16c, 0x2c0], imageSlots: 8, notes: ['image table 8 (64 only with KB2922790)'] }),
  vistaPlus(4, { id: 'win8-x86', title: 'Windows 8 (NT 6.2) x86', version: [6, 2, 9200], layout: [0xb4, 0xb8, 0x134, 0x170, 0x2e8], imageSlots: 8 }),
  vistaPlus(4, { id: 'win81-x86', title: 'Windows 8.1 (NT 6.3) x86', version: [6, 3, 9600], layout: [0xb4, 0xb8, 0x134, 0x170, 0x2f8], notes: ['image table 64 (the April 2014 update)'] }),
  ...WIN10.map((w) => vistaPlus(4, { id: `win10-x86-${w.release}`, title: `Windows 10 ${w.release} (NT 10.0.${w.build}) x86`, version: [10, 0, w.build], layout: w.x86, notes: w.notes?.filter((n) => !n.startsWith('x86')) ?? [] })),
  vistaPlus(4, { id: 'win10-x86', title: 'Windows 10 2004-22H2 (NT 10.0) x86', version: [10, 0, 19045], layout: [0xe4, 0xe8, 0x170, 0x1ac, 0x480], notes: ['sizeof(EPROCESS) 0x480 is approximate (no offset used here lies beyond it)'] }),
  vistaPlus(8, { id: 'winvista-x64', title: 'Windows Vista SP1 (NT 6.0) x64', version: [6, 0, 6001], layout: [0xe0, 0xe8, 0x1f0, 0x238, 0x3e8], imageSlots: 8 }),
  vistaPlus(8, { id: 'win7-x64', title: 'Windows 7 SP1 (NT 6.1) x64', version: [6, 1, 7601], layout: [0x180, 0x188, 0x290, 0x2e0, 0x4d0], imageSlots: 8, notes: ['image table 8 (64 only with KB2922790)'] }),
  vistaPlus(8, { id: 'win8-x64', title: 'Windows 8 (NT 6.2) x64', version: [6, 2, 9200], layout: [0x2e0, 0x2e8, 0x3d0, 0x438, 0x660], imageSlots: 8 }),
  vistaPlus(8, { id: 'win81-x64', title: 'Windows 8.1 (NT 6.3) x64', version: [6, 3, 9600], layout: [0x2e0, 0x2e8, 0x3d0, 0x438, 0x6b8], notes: ['image table 64 (the April 2014 update)'] }),
  ...WIN10.map((w) => vistaPlus(8, { id: `win10-x64-${w.release}`, title: `Windows 10 ${w.release} (NT 10.0.${w.build}) x64`, version: [10, 0, w.build], layout: w.x64, notes: w.notes?.filter((n) => !n.startsWith('x86')) ?? [] })),
  vistaPlus(8, { id: 'win10-x64', title: 'Windows 10 2004-22H2 (NT 10.0) x64', version: [10, 0, 19045], layout: [0x440, 0x448, 0x540, 0x5a8, 0xa40], source: `${GC} (2004+ column); Vergilius Project kernels/x64/windows-10/22h2` }),
  vistaPlus(8, { id: 'win11-x64-21h2', title: 'Windows 11 21H2 (NT 10.0.22000) x64', version: [10, 0, 22000], layout: [0x440, 0x448, 0x540, 0x5a8, 0xa40], notes: ['layout of Windows 10 2004+: ImageFileName 0x5A8 is sourced through 2023, the other identity fields are UNCONFIRMED for Windows 11 before 24H2', APPROXIMATE_SIZE], source: `${GC} (2004+ column); Vergilius Project kernels/x64/windows-10/22h2 (ImageFileName 0x5A8)` }),
  vistaPlus(8, { id: 'win11-x64-22h2', title: 'Windows 11 22H2/23H2 (NT 10.0.22621/22631) x64', version: [10, 0, 22621], layout: [0x440, 0x448, 0x540, 0x5a8, 0xa40], notes: ['layout of Windows 10 2004+: ImageFileName 0x5A8 is sourced through 2023, the other identity fields are UNCONFIRMED for Windows 11 before 24H2', APPROXIMATE_SIZE], source: `${GC} (2004+ column); Vergilius Project kernels/x64/windows-10/22h2 (ImageFileName 0x5A8)` }),
  vistaPlus(8, { id: 'win11-x64', title: 'Windows 11 24H2 (NT 10.0.26100) x64', version: [10, 0, 26100], layout: [0x1d0, 0x1d8, 0x2d0, 0x338, 0x840], source: 'ntdiff/headers Win11_2409_24H2/x64 _EPROCESS.h (symbol-derived)' }),
];

/**
 * Every release by its own name, in every family: the releases one build stands for (Windows 10 2004 to 22H2 share
 * one EPROCESS layout and are `win10-x86`/`win10-x64`; Windows 11 23H2 is 22H2's kernel, 24H2 is `win11-x64`).
 * An alias selects its build; scenarios and reports carry the build's own id.
 */
export const BUILD_ALIASES: ReadonlyMap<string, string> = new Map([
  ...['2004', '20h2', '21h1', '21h2', '22h2'].flatMap((r) => [[`win10-x86-${r}`, 'win10-x86'], [`win10-x64-${r}`, 'win10-x64']] as const),
  ['win11-x64-23h2', 'win11-x64-22h2'],
  ['win11-x64-24h2', 'win11-x64'],
]);

/** A build id as given (any case, or an alias of a release) → the build's own id; unknown names unchanged. */
export function canonicalBuildId(id: string): string {
  const lower = id.toLowerCase();
  return BUILD_ALIASES.get(lower) ?? (BUILDS.some((b) => b.id === lower) ? lower : id);
}

export class UnknownBuildError extends Error {
  constructor(id: string) {
    super(`unknown OS build '${id}'${suggestion(id, [...BUILDS.map((b) => b.id), ...BUILD_ALIASES.keys()])} (known: ${BUILDS.map((b) => b.id).join(', ')}; also all, x86, x64, a family such as win10, a release such as win10-x64-22h2, or a glob such as 'win10-x64*')`);
    this.name = 'UnknownBuildError';
  }
}

export function getBuild(id: string): OsBuild {
  const b = BUILDS.find((x) => x.id === id) ?? BUILDS.find((x) => x.id === canonicalBuildId(id));
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
 * The kernel version (major, minor, build) that first exports a routine ([GC] history/names*.htm; [DOC]
 * requirements): a driver that imports a routine its build lacks does not load (STATUS_DRIVER_ENTRYPOINT_NOT_FOUND).
 */
const EXPORTED_SINCE: ReadonlyMap<string, readonly [number, number, number]> = new Map([
  ['PsRemoveCreateThreadNotifyRoutine', [5, 1, 0]],
  ['KeInitializeGuardedMutex', [5, 2, 3790]],
  ['KeAcquireGuardedMutex', [5, 2, 3790]],
  ['KeReleaseGuardedMutex', [5, 2, 3790]],
  ['PsRemoveLoadImageNotifyRoutine', [5, 1, 0]],
  ['PsGetProcessImageFileName', [5, 1, 0]],
  ['PsGetProcessId', [5, 1, 0]],
  ['DbgPrintEx', [5, 1, 0]],
  ['PsGetThreadId', [5, 1, 0]],
  ['PsGetThreadProcessId', [5, 1, 0]],
  ['PsIsSystemThread', [5, 1, 0]],
  ['PsGetProcessCreateTimeQuadPart', [5, 1, 0]],
  ['PsGetProcessInheritedFromUniqueProcessId', [5, 1, 0]],
  ['PsGetProcessSessionId', [5, 1, 0]],
  ['PsGetCurrentProcessSessionId', [5, 1, 0]],
  ['PsGetProcessPeb', [5, 1, 0]],
  ['PsIsProtectedProcess', [6, 0, 6001]],
  ['SeLocateProcessImageName', [6, 0, 6001]],
  ['ObRegisterCallbacks', [6, 0, 6001]],
  ['ObUnRegisterCallbacks', [6, 0, 6001]],
  ['ObGetFilterVersion', [6, 0, 6001]],
  // [DOC] the routines' Requirements: CmRegisterCallback from XP, CmRegisterCallbackEx and CmCallbackGetKeyObjectID from
  // Vista, CmCallbackGetKeyObjectIDEx and its release from Windows 8
  ['CmRegisterCallback', [5, 1, 0]],
  ['CmUnRegisterCallback', [5, 1, 0]],
  ['CmRegisterCallbackEx', [6, 0, 6000]],
  ['CmCallbackGetKeyObjectID', [6, 0, 6000]],
  ['CmGetCallbackVersion', [6, 0, 6000]],
  ['CmCallbackGetKeyObjectIDEx', [6, 2, 9200]],
  ['CmCallbackReleaseKeyObjectIDEx', [6, 2, 9200]],
  // fltmgr.sys: in the box from Vista (XP SP2 and Server 2003 SP1 had it as a download; CHOICE: from Vista); the
  // routines' Requirements name no later version
  ['FltRegisterFilter', [6, 0, 6000]],
  ['FltStartFiltering', [6, 0, 6000]],
  ['FltUnregisterFilter', [6, 0, 6000]],
  ['FltGetFileNameInformation', [6, 0, 6000]],
  ['FltParseFileNameInformation', [6, 0, 6000]],
  ['FltReferenceFileNameInformation', [6, 0, 6000]],
  ['FltReleaseFileNameInformation', [6, 0, 6000]],
  ['FltGetRequestorProcessId', [6, 0, 6000]],
  ['FltDoCompletionProcessingWhenSafe', [6, 0, 6000]],
  ['FltBuildDefaultSecurityDescriptor', [6, 0, 6000]],
  ['FltFreeSecurityDescriptor', [6, 0, 6000]],
  ['FltCreateCommunicationPort', [6, 0, 6000]],
  ['FltCloseCommunicationPort', [6, 0, 6000]],
  ['FltCloseClientPort', [6, 0, 6000]],
  ['FltSendMessage', [6, 0, 6000]],
  ['FltAllocateContext', [6, 0, 6000]],
  ['FltReferenceContext', [6, 0, 6000]],
  ['FltReleaseContext', [6, 0, 6000]],
  ['FltDeleteContext', [6, 0, 6000]],
  ['FltSetStreamContext', [6, 0, 6000]],
  ['FltGetStreamContext', [6, 0, 6000]],
  ['FltSetStreamHandleContext', [6, 0, 6000]],
  ['FltGetStreamHandleContext', [6, 0, 6000]],
  ['FltAllocateDeferredIoWorkItem', [6, 0, 6000]],
  ['FltFreeDeferredIoWorkItem', [6, 0, 6000]],
  ['FltQueueDeferredIoWorkItem', [6, 0, 6000]],
  ['FltCompletePendedPreOperation', [6, 0, 6000]],
  ['FltCompletePendedPostOperation', [6, 0, 6000]],
  ['ZwQueryInformationProcess', [5, 1, 0]],
  ['vDbgPrintEx', [5, 1, 0]],
  ['PsSetCreateProcessNotifyRoutineEx', [6, 0, 6001]],
  ['PsSetCreateThreadNotifyRoutineEx', [10, 0, 10240]],
  ['PsSetCreateProcessNotifyRoutineEx2', [10, 0, 15063]],
  ['PsSetLoadImageNotifyRoutineEx', [10, 0, 16299]],
  ['ExAllocatePool2', [10, 0, 19041]],
] as const);

export function isExported(build: OsBuild, routine: string): boolean {
  const since = EXPORTED_SINCE.get(routine);
  if (since === undefined) return true;
  const [major, minor, number] = since;
  if (build.major !== major) return build.major > major;
  if (build.minor !== minor) return build.minor > minor;
  return build.buildNumber >= number;
}

/**
 * A --build selection: comma-separated ids, families (`win10` = every `win10-…` id), pointer sizes (`x86`, `x64`),
 * `all`, or globs (`win10-x64*`). In BUILDS order, each once; a token that matches nothing is an error.
 */
export function selectBuilds(selection: string): string[] {
  const chosen = new Set<string>();
  for (const raw of selection.split(',')) {
    const token = canonicalBuildId(raw.trim());
    let match: (b: OsBuild) => boolean;
    if (token === 'all') match = () => true;
    else if (token === 'x86' || token === 'x64') match = (b) => b.pointerSize === (token === 'x86' ? 4 : 8);
    else if (/[*?]/.test(token)) {
      const re = new RegExp(`^${token.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
      match = (b) => re.test(b.id);
    } else if (BUILDS.some((b) => b.id === token)) match = (b) => b.id === token;
    else if (BUILDS.some((b) => b.id.startsWith(`${token}-`))) match = (b) => b.id.startsWith(`${token}-`);
    else throw new UnknownBuildError(token);
    const before = chosen.size;
    for (const b of BUILDS) if (match(b)) chosen.add(b.id);
    if (chosen.size === before && !BUILDS.some(match)) throw new UnknownBuildError(token);
  }
  return BUILDS.filter((b) => chosen.has(b.id)).map((b) => b.id);
}
