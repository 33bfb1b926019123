/**
 * Running a driver compiled to WebAssembly: one fresh instance per load, on the kernel's own memory, with every
 * import bound to the DDI surface. Function pointers the driver hands over (notify routines, DriverUnload) are
 * indices into its exported table; DbgPrint's varargs arrive as a pointer to packed slots. A trap becomes a bug
 * check naming the function it happened in, never a crash of the harness.
 */
import { existsSync, opendirSync } from 'node:fs';
import { INPUT_LIMITS, readInputFile } from '../input-files.js';
import { basename, dirname, extname, join } from 'node:path';
import { didYouMean } from '../../model/did-you-mean.js';
import type { SourceFrame } from '../../model/ke/bugcheck.js';
import { siteReader, SITES_SECTION, symbolizer } from './source-lines.js';
import { dataSymbols, symbolAt, type DataSymbol } from './symbols.js';
import {
  BugCheck, BUGCHECK_DRIVER_OVERRAN_STACK_BUFFER, BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, BUGCHECK_PAGE_FAULT_IN_NONPAGED_AREA, BUGCHECK_UNEXPECTED_KERNEL_MODE_TRAP, faultingFunction,
} from '../../model/ke/bugcheck.js';
import { varargSlotSizes, type DbgArg } from '../../model/rtl/printf.js';
import { STATUS_ILLEGAL_INSTRUCTION } from '../../model/status.js';
import { KERNEL_STACK_SIZE } from '../../model/ke/kernel-stack.js';
import { WouldBlock } from '../../model/ke/scheduler.js';
import { DYNAMIC_ROUTINES, DYNAMIC_EXPORT_PREFIX, DYNAMIC_IMPORT_PREFIX } from './dynamic-routines.js';
import { cpuStackSlice } from '../../model/ke/schedule.js';
import { PRINTF_ROUTINES } from '../../model/rtl/string-ddis.js';
import type { Ddi, DRIVER_OBJECT, DriverImage, DriverInstance, PDRIVER_CANCEL, PVOID, WasmAddressSpace } from '../../model/ddi.js';
import { linePattern, loadLogSpec, parserFromSpec } from '../log-spec.js';
import type { DriverModule } from '../types.js';
import { isOperationKind } from '../types.js';
import { compileDriver, isCompiled, STACK_TOP, type DriverTarget } from './compile.js';
import { DRIVER_FILE, DriverProjectError, isSingleSource, isSourceProject, resolveProject, SOURCE_EXTENSIONS, type DriverProject } from './project.js';
import { BUDGET_GLOBAL, CODE_SECTION_IMPORT, STACK_LIMIT_GLOBAL, instrumentDriver, InstrumentWorker, LAYOUT_SECTION, type ImageLayout, type InstrumentedModule, type InstrumentOptions } from './instrument.js';
import { coveragePoints, X64_KEY, type CoverageCollector } from './coverage.js';
import { CODE_SECTIONS_SECTION, decodeCodeSections, type CodeSectionKind } from './code-sections.js';
import { customSections, functionNames, shortFunctionName, inspectModule, type ImportInfo, type InstanceState, type ModuleInfo } from './module-info.js';

export class WasmDriverError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WasmDriverError';
  }
}


type Impl = (...args: (number | bigint)[]) => number | bigint | void;

export { DYNAMIC_ROUTINES } from './dynamic-routines.js';

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function str(s: string): number[] {
  const b = [...new TextEncoder().encode(s)];
  return [...leb(b.length), ...b];
}

function section(id: number, body: number[]): number[] {
  return [id, ...leb(body.length), ...body];
}

const trampolineModules = new Map<DriverTarget, WebAssembly.Module>();
/** DbgPrint's narrow formats as bytes become text (one decoder: making one costs more than a short decode). */
const LATIN1 = new TextDecoder('latin1');

/** The WebAssembly value type of a signature letter: 0x7f i32, 0x7e i64. */
function valueType(letter: string, target: DriverTarget): number {
  return letter === 'p' && target === 'x64' ? 0x7e : 0x7f;
}

/** A module that imports k.<name> and exports <name> for every dynamic routine, with the target's types. */
function trampolines(target: DriverTarget): WebAssembly.Module {
  const cached = trampolineModules.get(target);
  if (cached !== undefined) return cached;
  const entries = [...DYNAMIC_ROUTINES];
  const sigs = [...new Set(entries.map(([, sig]) => sig))];
  const types = sigs.flatMap((sig) => {
    const [params, result] = sig.split('>');
    return [0x60, ...leb(params.length), ...[...params].map((l) => valueType(l, target)), 1, valueType(result, target)];
  });
  const imports = entries.flatMap(([name, sig]) => [...str('k'), ...str(name), 0x00, ...leb(sigs.indexOf(sig))]);
  const exports = entries.flatMap(([name], i) => [...str(name), 0x00, ...leb(i)]);
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [...leb(sigs.length), ...types]),
    ...section(2, [...leb(entries.length), ...imports]),
    ...section(7, [...leb(entries.length), ...exports]),
  ];
  const module = new WebAssembly.Module(new Uint8Array(bytes));
  trampolineModules.set(target, module);
  return module;
}

/** Routines whose arguments are plain values (pointers, handles, sizes, BOOLEANs), bound as they are. */
const PLAIN_DDIS: readonly string[] = [
  'PsGetCurrentThread', 'PsGetThreadId', 'PsGetThreadProcessId', 'PsIsSystemThread', 'PsGetProcessCreateTimeQuadPart',
  'PsGetProcessInheritedFromUniqueProcessId', 'PsGetCurrentProcessSessionId', 'PsGetProcessSessionId', 'PsGetProcessPeb',
  'PsIsProtectedProcess', 'PsLookupProcessThreadByCid', 'SeLocateProcessImageName', 'ZwQueryInformationProcess',
  'ObOpenObjectByPointer', 'ZwClose', 'ObReferenceObjectByPointer', 'PSH_OBJECT_TYPE_VARIABLE',
  'KeQuerySystemTime', 'KeQuerySystemTimePrecise', 'KeQueryTickCount', 'KeQueryTimeIncrement', 'KeInitializeEvent', 'KeSetEvent',
  'KeResetEvent', 'KeClearEvent', 'KeReadStateEvent', 'KeWaitForSingleObject', 'KeDelayExecutionThread', 'KeEnterCriticalRegion',
  'KeLeaveCriticalRegion', 'KeAcquireSpinLockRaiseToDpc', 'KeAcquireInStackQueuedSpinLock', 'KeReleaseInStackQueuedSpinLock',
  'ExInitializeResourceLite', 'ExAcquireResourceExclusiveLite', 'ExAcquireResourceSharedLite', 'ExReleaseResourceLite',
  'ExDeleteResourceLite', 'ExAllocateFromNPagedLookasideList', 'ExFreeToNPagedLookasideList', 'ExDeleteNPagedLookasideList',
  'ExAcquirePushLockExclusiveEx', 'ExAcquirePushLockSharedEx', 'ExReleasePushLockExclusiveEx', 'ExReleasePushLockSharedEx',
  'ExInitializeRundownProtection', 'ExReInitializeRundownProtection', 'ExAcquireRundownProtection', 'ExReleaseRundownProtection',
  'ExWaitForRundownProtectionRelease', 'ExRundownCompleted', 'ExRaiseStatus', 'ProbeForRead', 'ProbeForWrite',
  'RtlInitAnsiString', 'RtlInitString', 'RtlAnsiStringToUnicodeString', 'RtlUnicodeStringToAnsiString', 'RtlFreeAnsiString',
  'RtlFreeUnicodeString', 'RtlAppendUnicodeToString', 'RtlAppendUnicodeStringToString', 'RtlPrefixUnicodeString',
  'RtlUpcaseUnicodeString', 'RtlIntegerToUnicodeString', 'RtlUnicodeStringToInteger', 'RtlCompareMemory',
  'RtlStringCbCopyNA', 'RtlStringCchCopyNA', 'RtlStringCbCopyNW', 'RtlStringCchCopyNW',
];

/** The DDIs a WebAssembly driver can import (from "ntoskrnl" or, for routines it declares itself, "env"). */
export const WASM_DDI_NAMES: readonly string[] = [
  'PsSetCreateProcessNotifyRoutine', 'PsSetCreateProcessNotifyRoutineEx', 'PsSetCreateProcessNotifyRoutineEx2',
  'PsSetCreateThreadNotifyRoutine', 'PsSetCreateThreadNotifyRoutineEx', 'PsRemoveCreateThreadNotifyRoutine',
  'PsSetLoadImageNotifyRoutine', 'PsSetLoadImageNotifyRoutineEx', 'PsRemoveLoadImageNotifyRoutine',
  'PsLookupProcessByProcessId', 'PsLookupThreadByThreadId', 'PsGetCurrentProcessId', 'PsGetCurrentThreadId',
  'PsGetCurrentProcess', 'IoGetCurrentProcess', 'KeGetCurrentThread', 'PsGetProcessId', 'PsGetProcessImageFileName',
  'ObfReferenceObject', 'ObfDereferenceObject', 'ObReferenceObject', 'ObDereferenceObject',
  'IoCreateDevice', 'IoDeleteDevice', 'IoCreateSymbolicLink', 'IoDeleteSymbolicLink', 'IofCompleteRequest', 'IoCompleteRequest',
  'IoAcquireCancelSpinLock', 'IoReleaseCancelSpinLock',
  'ExAllocatePoolWithTag', 'ExAllocatePool2', 'ExFreePoolWithTag', 'ExFreePool',
  'KeInitializeSpinLock', 'KeAcquireSpinLock', 'KeReleaseSpinLock', 'ExInitializeFastMutex', 'ExAcquireFastMutex',
  'ExReleaseFastMutex', 'KeInitializeGuardedMutex', 'KeAcquireGuardedMutex', 'KeReleaseGuardedMutex', 'KeGetCurrentIrql', 'KfRaiseIrql', 'KfLowerIrql', 'KeBugCheckEx',
  '__sanitizer_cov_trace_pc_guard', '__sanitizer_cov_trace_pc_guard_init', '__stack_chk_fail',
  '__ubsan_handle_type_mismatch_v1_abort', 'RtlInitUnicodeString', 'RtlCopyUnicodeString', 'RtlCompareUnicodeString', 'RtlEqualUnicodeString', 'RtlGetVersion',
  'MmGetSystemRoutineAddress', 'DbgPrint', 'DbgPrintEx', 'vDbgPrintEx', 'memcpy', 'memmove', 'memset', 'memcmp',
  'KeQueryPerformanceCounter', 'ExAllocatePoolWithQuotaTag', 'ExInitializeNPagedLookasideList',
  'ObRegisterCallbacks', 'ObUnRegisterCallbacks', 'ObGetFilterVersion',
  'CmRegisterCallbackEx', 'CmRegisterCallback', 'CmUnRegisterCallback', 'CmCallbackGetKeyObjectIDEx', 'CmCallbackReleaseKeyObjectIDEx',
  'CmCallbackGetKeyObjectID', 'CmGetCallbackVersion',
  'FltRegisterFilter', 'FltStartFiltering', 'FltUnregisterFilter', 'FltGetFileNameInformation', 'FltParseFileNameInformation',
  'FltReferenceFileNameInformation', 'FltReleaseFileNameInformation', 'FltGetRequestorProcessId', 'FltDoCompletionProcessingWhenSafe',
  'FltBuildDefaultSecurityDescriptor', 'FltFreeSecurityDescriptor', 'FltCreateCommunicationPort', 'FltCloseCommunicationPort', 'FltCloseClientPort', 'FltSendMessage',
  'FltAllocateContext', 'FltReferenceContext', 'FltReleaseContext', 'FltDeleteContext', 'FltSetStreamContext', 'FltGetStreamContext', 'FltSetStreamHandleContext',
  'FltGetStreamHandleContext', 'FltAllocateDeferredIoWorkItem', 'FltFreeDeferredIoWorkItem', 'FltQueueDeferredIoWorkItem', 'FltCompletePendedPreOperation', 'FltCompletePendedPostOperation',
  ...PLAIN_DDIS, ...PRINTF_ROUTINES.keys(),
];

function tagString(tag: number): string {
  let s = '';
  for (let i = 0; i < 4; i++) {
    const c = (tag >>> (8 * i)) & 0xff;
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '?';
  }
  return s;
}

function trapToBugCheck(e: unknown, fn: string, symbolize: (stack: string | undefined) => SourceFrame[]): unknown {
  const named = (b: BugCheck): BugCheck => {
    const frames = symbolize((e as Error).stack);
    if (frames.length > 0) b.frames = frames;
    return b;
  };
  if (e instanceof RangeError && /call stack/i.test(e.message)) {
    // the driver's calls nested past the engine's stack (recursion without a frame on the linear stack): on
    // Windows the kernel stack overflows into its guard page, a double fault
    const b = new BugCheck(BUGCHECK_UNEXPECTED_KERNEL_MODE_TRAP, [8, 0, 0, 0], `kernel stack overflow: the driver's calls nested too deep in ${faultingFunction(e.stack) ?? fn}`, 'stack-overflow');
    b.function = faultingFunction(e.stack) ?? fn;
    return named(b);
  }
  if (!(e instanceof WebAssembly.RuntimeError)) return e;
  const b = trapBugCheck(e, faultingFunction(e.stack) ?? fn);
  b.function = faultingFunction(e.stack) ?? fn;
  return named(b);
}

function trapBugCheck(e: WebAssembly.RuntimeError, fn: string): BugCheck {
  if (e.message.includes('unreachable')) {
    // the NULL checks call __ubsan_handle_type_mismatch_v1_abort, so a trap is the driver's own: __builtin_trap()
    // (MSVC's __fastfail lowers to int 29h, but ud2 is what a trap is on x86/x64) or __builtin_unreachable()
    // reached. An invalid opcode in kernel mode is an unhandled STATUS_ILLEGAL_INSTRUCTION ([DOC] bug-check-0x1e)
    return new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [STATUS_ILLEGAL_INSTRUCTION, 0, 0, 0], `illegal instruction in ${fn}: __builtin_trap() or a __builtin_unreachable() reached (WebAssembly trap: ${e.message})`);
  }
  if (e.message.includes('out of bounds') && e.message.includes('memory')) {
    return new BugCheck(BUGCHECK_PAGE_FAULT_IN_NONPAGED_AREA, [0, 0, 0, 0], `access outside kernel memory in ${fn} (WebAssembly trap: ${e.message})`);
  }
  return new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [0xc0000005, 0, 0, 0], `${fn}: WebAssembly trap: ${e.message}`);
}

export interface WasmDriverOptions {
  /** Name for reports (default: the file name without extension). */
  readonly name?: string;
  /** Log spec path (default: `<dir>/<stem>.psharness.json` when it exists). */
  readonly logSpec?: string;
  /** The verifier (docs/verifier.md): every load and store checked. Default on. */
  readonly verifier?: boolean;
  /** Preprocessor definitions for a .c driver (e.g. a mutant schema's PSH_MUTANT). */
  readonly defines?: Readonly<Record<string, string>>;
  /** Build with edge coverage (clang's trace-pc-guard and -g) and count the edges each run takes (both images). */
  readonly coverage?: boolean;
  /** The targets a .c driver is compiled for (default: x86 and x64). */
  readonly targets?: readonly DriverTarget[];
  /**
   * Also build the image with fibers (binaryen's asyncify), so runs on several CPUs switch threads of execution
   * inside the driver's code — at every DDI call and every access to shared memory (docs/concurrency.md).
   */
  readonly fibers?: boolean;
  /** A Visual Studio project's configuration (default `Debug`); its platforms pick the targets. */
  readonly configuration?: string;
  /** Told each step of a cold build as it starts ("compiling for x64"): a sign of life for a driver that builds for minutes. */
  readonly onProgress?: (step: string) => void;
}

/** Coverage builds: clang's edge hooks, and DWARF to map them to source lines. */
const COVERAGE_FLAGS: readonly string[] = ['-g', '-fsanitize-coverage=trace-pc-guard'];
const COVERAGE_HOOK = '__sanitizer_cov_trace_pc_guard';

/** Units of the watchdog's work budget an access that calls the kernel costs (a loop iteration costs 1). */
const SLOW_PATH_WORK = 10;

/** Bytes above the driver's outermost frame that stand for the kernel's frames (an overrun writes into them). */
const CALLER_FRAMES = 256;

/** The /GS cookie the shim's __stack_chk_guard holds (ntddk.h: MSVC's default __security_cookie, x86 and x64). */
const GS_COOKIE_X86 = 0xbb40e64e;
const GS_COOKIE_X64 = 0x00002b992ddfa232n;

/** The guard page below the stack: the stack is [0, STACK_TOP) and the NULL page is its first 4 KB. */
const STACK_GUARD: readonly [number, number] = [0x1000, 0x2000];

/** The kernel's address space, in pages (half of the memory: the other half is the shadow). */
const MAX_DRIVER_PAGES = 8192;

/** A module that cannot be bound as a driver image: the reason, before anything of it runs. */
function refuseForeign(path: string, info: ModuleInfo, target: DriverTarget): void {
  // wasm-ld's clearing of .bss in the kernel's memory is the image loader's work, not the driver's: allowed
  if (info.hasStart && info.startZeroes === null) throw new WasmDriverError(`${path} has a start function: a driver image runs nothing before DriverEntry (link with --no-entry)`);
  for (const i of info.imports) {
    const what = `${i.module}.${i.name}`;
    if (i.kind === 'global' || i.kind === 'table' || i.kind === 'tag') {
      throw new WasmDriverError(`${path} imports a ${i.kind} (${what}): a driver image imports only kernel routines and the kernel's memory`);
    }
    if (i.kind === 'memory' && i.memory !== undefined) {
      if (i.memory.memory64 !== (target === 'x64')) {
        throw new WasmDriverError(`${path} imports a ${i.memory.memory64 ? '64' : '32'}-bit memory (${what}): an ${target} driver is a ${target === 'x64' ? 'wasm64' : 'wasm32'} module`);
      }
      if (i.memory.shared) throw new WasmDriverError(`${path} imports a shared memory (${what}): the kernel's memory is not shared`);
      if (i.memory.min > MAX_DRIVER_PAGES) {
        throw new WasmDriverError(`${path} needs at least ${i.memory.min} pages of memory (${what}); the kernel's address space has ${MAX_DRIVER_PAGES}`);
      }
    }
  }
}

/** A compiled module made ready for one target: instrumented, validated, its image layout read. */
interface PreparedImage {
  readonly target: DriverTarget;
  /** The driver's variable at an image address (its DWARF's globals and statics). */
  readonly symbolAt: (address: number) => string | undefined;
  /** The source line of a memory check's site (the same ids in the image with fibers and without). */
  readonly siteLine: (site: number) => string | undefined;
  readonly module: WebAssembly.Module;
  /** Names the module's frames on a stack trace by file and line (its source map: source-lines.ts). */
  readonly symbolize: (stack: string | undefined) => SourceFrame[];
  readonly fibersSymbolize?: (stack: string | undefined) => SourceFrame[];
  /** The same image with fibers, when asked for, and its imports (the dynamic routines' are added). */
  readonly fibers?: WebAssembly.Module;
  readonly fibersImports?: readonly ImportInfo[];
  readonly fibersNames?: Map<number, string>;
  readonly imports: readonly ImportInfo[];
  readonly names: Map<number, string>;
  /** What instantiating `module` (`fibers`) writes, to write again instead of a new instance (null: not possible). */
  readonly state: InstanceState | null;
  readonly fibersState?: InstanceState | null;
  readonly addressSpace: WasmAddressSpace;
  readonly bytes: number;
  readonly warning?: string;
  /** The buffer below each /GS cookie, by function (the instrumentation's layout section). */
  readonly gsBuffers?: Readonly<Record<string, string>>;
  /** The functions the driver placed in PAGE or INIT sections, in the order the instrumentation numbers them. */
  readonly codeSections: readonly (readonly [string, CodeSectionKind, string])[];
}

type Instrument = (wasm: Uint8Array, options: InstrumentOptions) => Promise<InstrumentedModule>;

async function prepareImage(path: string, compiled: Uint8Array<ArrayBuffer>, target: DriverTarget, verifier: boolean, fibers = false, instrument: Instrument = instrumentDriver): Promise<PreparedImage> {
  try {
    // a clear error for a file that is no module, before binaryen sees it (Node 20 cannot compile a wasm64 module
    // before its lowering: its header is checked here and binaryen validates the rest)
    if (target === 'x86') new WebAssembly.Module(new Uint8Array(compiled));
    else if (!(compiled.length >= 8 && compiled[0] === 0 && compiled[1] === 0x61 && compiled[2] === 0x73 && compiled[3] === 0x6d)) throw new Error('no WebAssembly header');
  } catch (e) {
    throw new WasmDriverError(`${path} is not a WebAssembly module: ${(e as Error).message}`);
  }
  const info = inspectModule(compiled);
  refuseForeign(path, info, target);
  const minPages = info.imports.find((i) => i.kind === 'memory')?.memory?.min ?? 0;
  // where the image (stack and data) ends: __heap_base, read from the module before anything of it runs
  const reservedLow = info.globals.get('__heap_base');
  if (reservedLow === undefined) throw new WasmDriverError(`${path} does not export __heap_base (link with the psharness flags)`);
  let bytes: Uint8Array<ArrayBuffer>;
  let warning: string | undefined;
  try {
    // the watchdog always; the verifier's memory checks unless switched off (an x64 image always has them: they
    // translate its addresses)
    const inst = await instrument(compiled, { memory: verifier, budget: true, ...(target === 'x64' ? { x64: { imageEnd: reservedLow } } : {}) });
    bytes = new Uint8Array(inst.wasm);
    warning = inst.warning;
  } catch (e) {
    throw new WasmDriverError(`${path}: cannot instrument the module: ${(e as Error).message}`);
  }
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(new Uint8Array(bytes));
  } catch (e) {
    throw new WasmDriverError(`${path} is not a WebAssembly module: ${(e as Error).message}`);
  }
  const { imports, instance: state } = inspectModule(bytes);
  const exports = WebAssembly.Module.exports(module).map((x) => x.name);
  for (const need of ['DriverEntry', '__indirect_function_table', '__heap_base']) {
    if (!exports.includes(need)) throw new WasmDriverError(`${path} does not export ${need} (link with the psharness flags)`);
  }
  const nameSection = WebAssembly.Module.customSections(module, 'name')[0];
  const fnImports = imports.filter((i) => i.kind === 'function');
  const missingAt = fnImports.flatMap((i, k) => (i.module !== 'psharness' && !WASM_DDI_NAMES.includes(i.name) ? [k] : []));
  if (missingAt.length > 0) {
    // a C++ routine by the demangled signature the name section gives it: MSVC's /kernel provides no operator new or delete
    const full = nameSection === undefined ? new Map<number, string>() : functionNames(new Uint8Array(nameSection), false);
    const named = missingAt.map((k) => {
      const i = fnImports[k];
      const d = full.get(k);
      return d !== undefined && d !== i.name ? `${d} (${i.module}.${i.name})` : `${i.module}.${i.name}`;
    });
    const cxx = named.some((n) => /operator (new|delete)/.test(n)) ? ': a C++ driver defines its own operator new and delete (MSVC\'s /kernel provides none; its linker says LNK2019)' : '';
    throw new WasmDriverError(`${path} imports routines the simulated kernel lacks: ${named.join(', ')}${cxx}`);
  }
  if (!imports.some((i) => i.kind === 'memory')) throw new WasmDriverError(`${path} does not import its memory (link with --import-memory)`);
  const names = nameSection === undefined ? new Map<number, string>() : functionNames(new Uint8Array(nameSection));
  const layoutSection = WebAssembly.Module.customSections(module, LAYOUT_SECTION)[0];
  const layout = layoutSection === undefined ? null : JSON.parse(new TextDecoder().decode(layoutSection)) as ImageLayout;
  const sp = info.globals.get('__stack_pointer') ?? 0;
  let fibersModule: WebAssembly.Module | undefined;
  let fibersImports: readonly ImportInfo[] | undefined;
  let fibersNames: Map<number, string> | undefined;
  let fibersSymbolize: ((stack: string | undefined) => SourceFrame[]) | undefined;
  let fibersState: InstanceState | null = null;
  if (fibers) {
    try {
      // fibers need the memory checks: the access hook is where a shared access becomes a scheduling point
      const inst = await instrument(compiled, { memory: true, budget: true, fibers: true, ...(target === 'x64' ? { x64: { imageEnd: reservedLow } } : {}) });
      fibersModule = new WebAssembly.Module(new Uint8Array(inst.wasm));
      ({ imports: fibersImports, instance: fibersState } = inspectModule(new Uint8Array(inst.wasm)));
      const section = WebAssembly.Module.customSections(fibersModule, 'name')[0];
      fibersNames = section === undefined ? new Map<number, string>() : functionNames(new Uint8Array(section));
      fibersSymbolize = symbolizer(new Uint8Array(inst.wasm), fibersImports.filter((i) => i.kind === 'function').length);
    } catch (e) {
      throw new WasmDriverError(`${path}: cannot build the image with fibers: ${(e as Error).message}`);
    }
  }
  return {
    target, module, imports, names, bytes: bytes.length, codeSections: decodeCodeSections(customSections(compiled).get(CODE_SECTIONS_SECTION)),
    ...(layout?.gsBuffers !== undefined ? { gsBuffers: layout.gsBuffers } : {}),
    symbolize: symbolizer(bytes, imports.filter((i) => i.kind === 'function').length),
    symbolAt: lazySymbols(compiled),
    siteLine: siteReader(WebAssembly.Module.customSections(fibersModule ?? module, SITES_SECTION)[0]),
    state,
    ...(fibersModule !== undefined ? { fibers: fibersModule, fibersImports, fibersNames, fibersSymbolize, fibersState } : {}),
    ...(warning !== undefined ? { warning } : {}),
    addressSpace: {
      reservedLow,
      pointerSize: target === 'x64' ? 8 : 4,
      ...(minPages > 0 ? { minPages } : {}),
      // the guard page exists when the module was linked with the psharness stack layout
      ...(verifier && sp === STACK_TOP ? { stackGuard: STACK_GUARD } : {}),
      ...(verifier && layout?.rodata != null ? { readOnly: layout.rodata } : {}),
      // linked stack first: the image's data lies above the stack
      ...(sp === STACK_TOP ? { dataStart: STACK_TOP } : {}),
    },
  };
}

/** The variable at an image address, from the compiled module's DWARF, read the first time a report asks. */
function lazySymbols(compiled: Uint8Array): (address: number) => string | undefined {
  let symbols: DataSymbol[] | null = null;
  return (address) => symbolAt((symbols ??= dataSymbols(customSections(compiled))), address);
}

/** ` (did you mean 'dir/name.c'?)` for a driver file that is not there, from the first entries of its directory. */
function nearbyDriver(path: string): string {
  let names: string[];
  try {
    // a bounded look: the first 1000 entries (a huge directory costs no more)
    const dir = opendirSync(dirname(path) === '' ? '.' : dirname(path));
    names = [];
    try {
      for (let e = dir.readSync(); e !== null && names.length < 1000; e = dir.readSync()) if (DRIVER_FILE.test(e.name)) names.push(e.name);
    } finally {
      dir.closeSync();
    }
  } catch {
    return '';
  }
  const s = didYouMean(basename(path), names);
  return s === undefined ? '' : ` (did you mean '${join(dirname(path), s)}'?)`;
}

/** The project `path` names (wrapping its errors as the loader's), or null for a prebuilt module. */
function projectOf(path: string, configuration: string | undefined): DriverProject | null {
  if (!isSourceProject(path)) return null;
  try {
    return resolveProject(path, configuration);
  } catch (e) {
    if (e instanceof DriverProjectError) throw new WasmDriverError(e.message);
    throw e;
  }
}

/**
 * Loads a driver: a C or C++ project (a source file, several joined by commas, a directory or a Visual Studio project;
 * compiled for x86 and x64 as the project has them, cached) or a prebuilt .wasm module (one target).
 */
export async function loadWasmDriver(path: string, options: WasmDriverOptions = {}): Promise<DriverModule & { readonly diagnostics: string }> {
  if (!path.includes(',') && !existsSync(path)) throw new WasmDriverError(`no such driver file: ${path}${nearbyDriver(path)}`);
  const ext = extname(path).toLowerCase();
  const project = projectOf(path, options.configuration);
  // a regular file of bounded size, read without blocking (a device or FIFO named as the driver is refused)
  const given = project === null || isSingleSource(path) ? readInputFile(path, 'driver', ext === '.wasm' ? INPUT_LIMITS.wasm : INPUT_LIMITS.source) : null;
  const verifier = options.verifier !== false;
  const images: PreparedImage[] = [];
  let diagnostics = '';
  let coverage: CoverageCollector | undefined;
  let sourceRoot: string | undefined;
  if (project !== null) {
    const targets = (options.targets ?? ['x86', 'x64']).filter((t) => project.builds[t] !== undefined);
    if (targets.length === 0) throw new WasmDriverError(`${path} has no build for ${(options.targets ?? []).join(' or ')} (its configuration: ${project.configuration ?? '?'})`);
    const buildOf = (t: DriverTarget) => project.builds[t] as NonNullable<DriverProject['builds'][DriverTarget]>;
    // a cold build: a worker instruments one target while clang compiles the next (~0.7 s of the ~5 s)
    const flagsFor = (_target: DriverTarget): readonly string[] => (options.coverage === true ? COVERAGE_FLAGS : []);
    const helper: InstrumentWorker | null = targets.length > 1 && !targets.every((t) => isCompiled(buildOf(t), options.defines, flagsFor(t), t)) ? InstrumentWorker.start() : null;
    const instrument: Instrument = helper === null ? instrumentDriver : (w, o) => helper.instrument(w, o);
    const built: { target: DriverTarget; compiled: Uint8Array<ArrayBuffer>; image: Promise<PreparedImage> }[] = [];
    try {
      for (const target of targets) {
        if (!isCompiled(buildOf(target), options.defines, flagsFor(target), target)) options.onProgress?.(`compiling for ${target}`);
        const c = await compileDriver(buildOf(target), options.defines, flagsFor(target), target);
        if (!c.cached) options.onProgress?.(`instrumenting for ${target}${target !== targets[targets.length - 1] ? ' (beside the next compile)' : ''}`);
        sourceRoot ??= c.root;
        const compiled = new Uint8Array(c.wasm);
        if (c.diagnostics !== '' && !diagnostics.includes(c.diagnostics)) diagnostics = [diagnostics, c.diagnostics].filter((x) => x !== '').join('\n');
        const image = prepareImage(path, compiled, target, verifier, options.fibers === true, instrument);
        image.catch(() => {}); // awaited below, in order: a failure is reported there, not as an unhandled rejection
        built.push({ target, compiled, image });
      }
      for (const { target, compiled, image: pending } of built) {
        const image = await pending;
        if (image.warning !== undefined) diagnostics = [diagnostics, image.warning].filter((x) => x !== '').join('\n');
        if (options.coverage === true) {
          // the guards are read from the module clang built: the passes after it move code, never data
          const hook = inspectModule(compiled).imports.filter((i) => i.kind === 'function').findIndex((i) => i.name === COVERAGE_HOOK);
          const points = coveragePoints(compiled, hook, [STACK_TOP, image.addressSpace.reservedLow], target);
          coverage = { points: [...(coverage?.points ?? []), ...points], hits: coverage?.hits ?? new Map() };
        }
        images.push(image);
      }
    } finally {
      helper?.close();
    }
  } else if (ext === '.wasm') {
    const compiled = new Uint8Array(given ?? new Uint8Array(0));
    let target: DriverTarget = 'x86';
    try {
      if (inspectModule(compiled).imports.some((i) => i.memory?.memory64 === true)) target = 'x64';
    } catch {
      // not a module: prepareImage says so
    }
    const image = await prepareImage(path, compiled, target, verifier, options.fibers === true);
    if (image.warning !== undefined) diagnostics = image.warning;
    if (options.coverage === true) {
      const hook = inspectModule(compiled).imports.filter((i) => i.kind === 'function').findIndex((i) => i.name === COVERAGE_HOOK);
      if (hook < 0) throw new WasmDriverError(`${path}: no coverage hooks in the module (a prebuilt .wasm must be linked with -fsanitize-coverage=trace-pc-guard -g)`);
      coverage = { points: coveragePoints(compiled, hook, [STACK_TOP, image.addressSpace.reservedLow], target), hits: new Map() };
    }
    images.push(image);
  } else throw new WasmDriverError(`${path}: a driver must be C or C++ source (${SOURCE_EXTENSIONS.join(', ')}), a directory, a .vcxproj or a .wasm module`);
  const stem = project?.name ?? basename(path, extname(path));
  const specPath = options.logSpec ?? join(project?.dir ?? dirname(path), `${stem}.psharness.json`);
  const spec = existsSync(specPath) ? loadLogSpec(specPath) : null;
  const driverName = options.name ?? stem;
  const asImage = (img: PreparedImage): DriverImage => ({
    name: driverName,
    imports: img.imports.filter((i) => i.kind === 'function' && i.module !== 'psharness').map((i) => i.name),
    addressSpace: img.addressSpace,
    verifier,
    ...(spec?.integrityCheck === false ? { integrityCheck: false } : {}),
    instantiate: instances(img, verifier, coverage),
    symbolAt: img.symbolAt,
    siteLine: img.siteLine,
    ...(img.fibers !== undefined ? { instantiateFibers: instances(img, verifier, coverage, true) } : {}),
  });
  const [primary, second] = images;
  const targets = images.map((i) => i.target).join(' and ');
  return {
    ...asImage(primary),
    ...(sourceRoot !== undefined ? { sourceRoot } : {}),
    description: `${project !== null && !isSingleSource(path) ? `${stem}${project.configuration !== undefined ? ` [${project.configuration}]` : ''}` : basename(path)} (WebAssembly ${targets}, ${images.map((i) => `${i.bytes} bytes`).join(' / ')}${spec === null ? ', no log spec' : ''})`,
    ...(second !== undefined ? { x64: asImage(second) } : {}),
    // a spec whose driver prints nothing (its events go to a client) gives no log to check
    logsEvents: spec !== null && spec.events.length > 0,
    parse: spec === null ? () => [] : parserFromSpec(spec),
    ...(spec?.events.some((e) => isOperationKind(e.kind)) === true ? { logsOperations: true } : {}),
    ...(spec?.monitors !== undefined ? { monitors: spec.monitors } : {}),
    ...(spec?.device !== undefined ? { device: spec.device } : {}),
    ...(spec?.registry !== undefined ? { registryGuards: spec.registry.guards } : {}),
    ...(spec?.files !== undefined ? { fileGuards: spec.files.guards } : {}),
    ...(spec?.notMonitoring !== undefined ? { notMonitoring: spec.notMonitoring.map((n) => ({ kind: n.kind, pattern: linePattern(n.pattern, '') })) } : {}),
    diagnostics,
    ...(coverage !== undefined ? { coverage } : {}),
  };
}


/** An x64 driver's 64-bit value as the kernel's VA form: canonical kernel addresses to 48 bits, the rest as is. */
/** The SIZE_T argument of a DDI that takes it whole: not an address, so not read as a 48-bit VA (0-based index). */
const SIZE_T_ARGS: ReadonlyMap<string, number> = new Map([
  ['ExAllocatePoolWithTag', 1], ['ExAllocatePoolWithQuotaTag', 1], ['ExAllocatePool2', 1],
  ['memcpy', 2], ['memmove', 2], ['memset', 2], ['memcmp', 2],
]);

function fromX64(v: bigint): number {
  const u = BigInt.asUintN(64, v);
  if (u >= 0xffff_8000_0000_0000n) return Number(u & 0xffff_ffff_ffffn);
  // user-mode values are exact; a non-canonical one stays beyond 2^48, where nothing is ever mapped
  return Number(u);
}

/** A kernel value (a VA in 48-bit form, or a plain number) as the x64 driver's 64-bit value. */
function toX64(v: number): bigint {
  if (v < 0) return BigInt(Math.trunc(v)); // a negative LONG_PTR
  if (v >= 0x8000_0000_0000 && v < 0x1_0000_0000_0000) return BigInt(v) | 0xffff_0000_0000_0000n;
  return BigInt(Math.trunc(v));
}

/** Imports that are no scheduling points: the coverage and watchdog hooks, and the end of an Interlocked operation. */
const NOT_SCHEDULING_POINTS: ReadonlySet<string> = new Set([COVERAGE_HOOK, '__sanitizer_cov_trace_pc_guard_init', 'budget_exceeded', 'memory_grow', 'atomic_end', CODE_SECTION_IMPORT]);

/** The exports binaryen's asyncify pass adds (the fibers build). */
interface Asyncify {
  asyncify_start_unwind(data: number): void;
  asyncify_stop_unwind(): void;
  asyncify_start_rewind(data: number): void;
  asyncify_stop_rewind(): void;
  asyncify_get_state(): number;
}

/** One CPU's thread of execution inside the driver: its stack, and its frames while it is switched out. */
interface Fiber {
  /** Offset in memory of the asyncify data buffer (header: current, end). */
  readonly buffer: number;
  readonly size: number;
  /** The stack pointer a routine starts with on this CPU. */
  readonly top: number | bigint;
  suspended: boolean;
  sp: number | bigint;
  budget: number;
  /** A wait whose call completed before it: what the call returns when resumed. */
  resume: { readonly value: unknown } | undefined;
}

/** How many idle import layers an image keeps for its next instances (runs on one thread use one at a time). */
const IDLE_LAYERS = 4;
let layerReuse = true;

let instanceReuse = true;

/** A layer's instance, with the memory it is bound to and that memory's size when it ran. */
interface KeptInstance {
  readonly instance: WebAssembly.Instance;
  readonly memory: WebAssembly.Memory;
  readonly size: number;
}

/** @internal for tests: off, every driver load gets a new WebAssembly.Instance (what a reused one must be identical to). */
export function setInstanceReuse(on: boolean): void {
  instanceReuse = on;
}

/** @internal for tests: off, every instance builds its imports anew (what a reused layer must be identical to). */
export function setImportLayerReuse(on: boolean): void {
  layerReuse = on;
}

/**
 * The imports an instance of the image runs with (some 200 functions) and their per-run state. Built once and
 * reused by the image's next instances once a run is over (DriverInstance.release), as AFL's persistent mode
 * reuses a process: a new run rebinds them to its kernel and gets a new WebAssembly.Instance.
 */
interface ImportLayer {
  enter(ddi: Ddi, DriverObject: DRIVER_OBJECT, RegistryPath: PVOID): number;
  /** DriverEntry switched out on its CPU (fibers): the kernel calls DriverEntry again to resume it. */
  readonly pending: (() => number) | null;
  /** A routine of the image by the function pointer the driver stored. */
  routineAt(pointer: number): PDRIVER_CANCEL | null;
  /** The run is over: forget its kernel. */
  clear(): void;
}

/** The image's instances, one per driver load, each on an import layer (reused: IDLE_LAYERS). */
function instances(img: PreparedImage, verifier: boolean, coverage?: CoverageCollector, withFibers = false): () => DriverInstance {
  const idle: ImportLayer[] = [];
  return () => {
    let layer: ImportLayer | null = null;
    return {
      routineAt: (pointer) => layer?.routineAt(pointer) ?? null,
      symbolize: (stack) => ((withFibers ? img.fibersSymbolize : undefined) ?? img.symbolize)(stack),
      DriverEntry(ddi: Ddi, DriverObject: DRIVER_OBJECT, RegistryPath: PVOID): number {
        if (layer?.pending != null) return layer.pending();
        layer ??= (layerReuse ? idle.pop() : undefined) ?? importLayer(img, verifier, coverage, withFibers);
        return layer.enter(ddi, DriverObject, RegistryPath);
      },
      release() {
        if (layer === null) return;
        layer.clear();
        if (layerReuse && idle.length < IDLE_LAYERS) idle.push(layer);
        layer = null;
      },
    };
  };
}

function importLayer(img: PreparedImage, verifier: boolean, coverage?: CoverageCollector, withFibers = false): ImportLayer {
  const { target } = img;
  const module = withFibers && img.fibers !== undefined ? img.fibers : img.module;
  const names = withFibers && img.fibersNames !== undefined ? img.fibersNames : img.names;
  const imports = withFibers && img.fibersImports !== undefined ? img.fibersImports : img.imports;
  const state = withFibers && img.fibers !== undefined ? img.fibersState ?? null : img.state;
  /**
   * The instance of this layer's last run, kept when it can serve the next one: a new instance costs more than a
   * run of a small driver (8-10% of a C campaign). It is reused only on the same memory (the kernel's recycled one,
   * the same size), with everything instantiation writes written again (InstanceState): the driver sees what a new
   * instance would show it.
   */
  let kept: KeptInstance | null = null;
  let current: KeptInstance | null = null;
  const x64 = target === 'x64';
  const ps = x64 ? 8 : 4;
  const gsBuffers = img.gsBuffers;
  const symbolize = (withFibers ? img.fibersSymbolize : undefined) ?? img.symbolize;
  // the placed functions as reports name them, once (the hook runs at every entry and call of paged code)
  const placedNames = img.codeSections.map(([name]) => shortFunctionName(name));
  /** A value passed to the driver as a pointer-sized parameter. */
  const P = (v: number): number | bigint => (x64 ? toX64(v) : v);
  // the run's kernel (set at each DriverEntry)
  let ddi = null as unknown as Ddi;
  let DriverObject = null as unknown as DRIVER_OBJECT;
  let pendingEntry: (() => number) | null = null;
  let table: WebAssembly.Table | null = null;
  /** The fibers build's asyncify exports (null: the plain build), the stack pointer, and each CPU's fiber. */
  let A: Asyncify | null = null;
  let sp: WebAssembly.Global | null = null;
  let spInitial: number | bigint = 0;
  const fibers = new Map<number, Fiber>();
  /** Driver calls on the JS stack: only the outermost can be switched out (a nested one runs to its end). */
  let depth = 0;
  let justSuspended = false;
  /** The fiber of the outermost driver call now running on a CPU (null: none, or a sequential run). */
  let running: Fiber | null = null;
  let budget: WebAssembly.Global | undefined;
  /** psh_stack_limit: the lowest stack pointer the running CPU's kernel stack allows. */
  let stackLimit: WebAssembly.Global | undefined;
  /** The kernel stack of the thread on a CPU whose slice starts at `top` (the driver's first frame below CALLER_FRAMES). */
  const stackLimitFor = (top: number | bigint): number => Number(top) + CALLER_FRAMES - KERNEL_STACK_SIZE[x64 ? 'x64' : 'x86'];
  /** The top of the running CPU's slice (one CPU: the whole stack). */
  const fiberTop = (): number => (running !== null ? Number(running.top) : STACK_TOP - CALLER_FRAMES);
  const wrappers = new Map<string, unknown>();
  const dynamic = new Map<string, number>();
  let dynamicInstance: WebAssembly.Instance | null = null;
  const fnName = (idx: number): string => {
    for (const [r, at] of dynamic) if (at === idx) return r;
    const f = table?.get(idx) as { name?: string } | null;
    const n = f?.name === undefined ? undefined : names.get(Number(f.name));
    return n ?? `fn#${idx}`;
  };
  const fiberFor = (cpu: number): Fiber => {
    let fb = fibers.get(cpu);
    if (fb === undefined) {
      const st = ddi.FIBER_BUFFER(cpu);
      // each CPU runs on its slice of the image's stack (above the guard page): an x64 image's stack pointer is a
      // 32-bit offset once lowered, so its stacks must lie in the image
      const at = cpuStackSlice(Number(spInitial), STACK_GUARD[1], cpu).top;
      const top = typeof spInitial === 'bigint' ? BigInt(at) : at;
      fb = { buffer: ddi.MEMORY_OFFSET(st.buffer), size: st.size, top, suspended: false, sp: top, budget: 0, resume: undefined };
      fibers.set(cpu, fb);
    }
    return fb;
  };
  /**
   * Runs driver code from the kernel. With fibers on several CPUs, the outermost call may unwind at a
   * scheduling point (asyncify): the kernel sees the thread suspended and calls again later, which rewinds it.
   */
  const invoke = (fn: string, f: () => number | bigint): number | bigint => {
    const cpu = A !== null && depth === 0 ? ddi.CPU() : -1;
    if (cpu < 0) {
      if (budget !== undefined) budget.value = ddi.WORK_BUDGET;
      depth++;
      try {
        return f();
      } catch (e) {
        throw trapToBugCheck(e, fn, symbolize);
      } finally {
        depth--;
      }
    }
    const a = A as Asyncify;
    const stack = sp as WebAssembly.Global;
    const fb = fiberFor(cpu);
    if (stackLimit !== undefined) stackLimit.value = stackLimitFor(fb.top);
    if (fb.suspended) {
      stack.value = fb.sp;
      if (budget !== undefined) budget.value = fb.budget;
      a.asyncify_start_rewind(fb.buffer);
    } else {
      stack.value = fb.top;
      if (budget !== undefined) budget.value = ddi.WORK_BUDGET;
    }
    depth = 1;
    running = fb;
    let r: number | bigint;
    try {
      r = f();
    } catch (e) {
      fb.suspended = false;
      throw trapToBugCheck(e, fn, symbolize);
    } finally {
      depth = 0;
      running = null;
    }
    if (a.asyncify_get_state() === 1) {
      try {
        a.asyncify_stop_unwind();
      } catch (e) {
        // asyncify's check that the saved frames fit the CPU's buffer: calls nested that deep would have
        // overflowed a kernel stack (12–24 KB) as well
        if (!(e instanceof WebAssembly.RuntimeError)) throw e;
        fb.suspended = false;
        const b = new BugCheck(BUGCHECK_UNEXPECTED_KERNEL_MODE_TRAP, [8, 0, 0, 0],
          `kernel stack overflow: the driver's calls in ${fn} nested too deep to be switched out (more than ${fb.size} bytes of frames)`, 'stack-overflow');
        b.function = fn;
        throw b;
      }
      fb.suspended = true;
      fb.sp = stack.value as number | bigint;
      fb.budget = budget === undefined ? 0 : (budget.value as number);
      justSuspended = true;
      ddi.SUSPENDED();
      return 0;
    }
    fb.suspended = false;
    return r;
  };
  /** Switches the running thread out of the driver's code (its frames saved in its CPU's buffer). */
  const unwind = (fb: Fiber, result: string | undefined): number | bigint | undefined => {
    const view = new DataView(ddi.memory.buffer);
    view.setUint32(fb.buffer, fb.buffer + 8, true);
    view.setUint32(fb.buffer + 4, fb.buffer + fb.size, true);
    (A as Asyncify).asyncify_start_unwind(fb.buffer);
    return result === 'i64' ? 0n : result === undefined ? undefined : 0;
  };
  /** An import of the fibers build: a scheduling point before the call, and a wait that switches the thread out. */
  const fiberImport = (name: string, f: Impl, result: string | undefined): Impl => (...args) => {
    const fb = running;
    if (A === null || fb === null || depth !== 1) return f(...args);
    let mayPreempt = true;
    if (A.asyncify_get_state() === 2) {
      // resumed: the call it stopped at is made now (or returns what it had done before its wait)
      A.asyncify_stop_rewind();
      const r = fb.resume;
      fb.resume = undefined;
      if (r !== undefined) return result === 'i64' ? toX64(Number(r.value)) : (r.value as number | undefined);
      mayPreempt = false;
    }
    if (mayPreempt && (name === 'access' ? ddi.SCHEDULING_POINT(() => accessLabel(args), true) : ddi.SCHEDULING_POINT(name))) return unwind(fb, result);
    try {
      return f(...args);
    } catch (e) {
      if (!(e instanceof WouldBlock)) throw e;
      fb.resume = e.result;
      return unwind(fb, result);
    }
  };
  const accessLabel = (args: (number | bigint)[]): string =>
    `${n(args[2]) !== 0 ? 'write' : 'read'} of ${n(args[1])} bytes at 0x${(typeof args[0] === 'bigint' ? BigInt.asUintN(64, args[0]) : BigInt(n(args[0]) >>> 0)).toString(16).toUpperCase()}`;
  const call = (idx: number, ...args: (number | bigint)[]): number => {
    const f = table?.get(idx) as ((...a: (number | bigint)[]) => number) | null;
    if (f === null || f === undefined) {
      throw new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [0xc0000005, 0, 0, 0], `call through the NULL function pointer (table index ${idx})`);
    }
    return invoke(fnName(idx), () => f(...args)) as number;
  };
  /** One JS function per (kind, table index): registration and removal must see the same routine. */
  const routine = <F>(kind: string, idx: number, make: () => F): F => {
    const key = `${kind}:${idx}`;
    let w = wrappers.get(key) as F | undefined;
    if (w === undefined) {
      w = make();
      Object.defineProperty(w, 'name', { value: fnName(idx) });
      wrappers.set(key, w);
    }
    return w;
  };
  // the routines' WDK prototypes: HANDLE and pointers are pointer-sized, BOOLEAN a 32-bit value
  const processRoutine = (i: number) => routine('process', i, () => (ppid: number, pid: number, create: boolean) => { call(i, P(ppid), P(pid), create ? 1 : 0); });
  const processExRoutine = (i: number) => routine('processEx', i, () => (p: number, pid: number, info: number) => { call(i, P(p), P(pid), P(info)); });
  const threadRoutine = (i: number) => routine('thread', i, () => (pid: number, tid: number, create: boolean) => { call(i, P(pid), P(tid), create ? 1 : 0); });
  const imageRoutine = (i: number) => routine('image', i, () => (us: number, pid: number, info: number) => { call(i, P(us), P(pid), P(info)); });
  // a function pointer is a table index; one past the table is no routine of this image
  const registryRoutine = (i: number) => routine('registry', i, () => (c: number, cls: number, info: number) => call(i, P(c), P(cls), P(info)));
  // fltKernel.h's callbacks: pointers pointer-sized, flags and types 32-bit
  const fltPre = (i: number) => routine('fltPre', i, () => (d: number, o: number, c: number) => call(i, P(d), P(o), P(c)));
  const fltPost = (i: number) => routine('fltPost', i, () => (d: number, o: number, c: number, f: number) => call(i, P(d), P(o), P(c), f));
  const fltUnload = (i: number) => routine('fltUnload', i, () => (f: number) => call(i, f));
  const fltSetup = (i: number) => routine('fltSetup', i, () => (o: number, f: number, t: number, fs: number) => call(i, P(o), f, t, fs));
  const fltQueryTeardown = (i: number) => routine('fltQueryTeardown', i, () => (o: number, f: number) => call(i, P(o), f));
  const fltTeardown = (i: number) => routine('fltTeardown', i, () => (o: number, reason: number) => { call(i, P(o), reason); });
  const fltConnect = (i: number) => routine('fltConnect', i, () => (port: number, cookie: number, ctx: number, size: number, out: number) => call(i, P(port), P(cookie), P(ctx), size, P(out)));
  const fltCleanup = (i: number) => routine('fltCleanup', i, () => (ctx: number, type: number) => { call(i, P(ctx), type); });
  const fltWork = (i: number) => routine('fltWork', i, () => (item: number, data: number, ctx: number) => { call(i, P(item), P(data), P(ctx)); });
  const fltDisconnect = (i: number) => routine('fltDisconnect', i, () => (cookie: number) => { call(i, P(cookie)); });
  const fltMessage = (i: number) => routine('fltMessage', i, () => (cookie: number, inp: number, inLen: number, outp: number, outLen: number, ret: number) => call(i, P(cookie), P(inp), inLen, P(outp), outLen, P(ret)));
  const writeQuad = (p: number, v: bigint): void => {
    ddi.WRITE_ULONG(p, Number(v & 0xffff_ffffn));
    ddi.WRITE_ULONG(p + 4, Number((v >> 32n) & 0xffff_ffffn));
  };
  const readQuad = (p: number): bigint => BigInt(ddi.READ_ULONG(p) >>> 0) | (BigInt(ddi.READ_ULONG(p + 4) >>> 0) << 32n);
  const routineAt = (i: number): PDRIVER_CANCEL | null => (table !== null && i > 0 && i < table.length ? routine('cancel', i, () => (dev: number, irp: number) => { call(i, P(dev), P(irp)); }) : null);
  /** UNICODE_STRING.Buffer's offset in the run's build. */
  let BUFFER = 0;
  const readUnicode = (us: number): string => {
    const len = ddi.READ_USHORT(us) >>> 1;
    const buf = ddi.READ_POINTER(us + BUFFER);
    let s = '';
    for (let k = 0; k < len; k++) s += String.fromCharCode(ddi.READ_USHORT(buf + 2 * k));
    return s;
  };
  /** The memory's lower half as bytes: a view kept until the memory grows (its buffer is then a new one). */
  let spaceView: Uint8Array = new Uint8Array(0);
  const addressSpace = (): Uint8Array => {
    const buffer = ddi.memory.buffer;
    if (spaceView.buffer !== buffer) spaceView = new Uint8Array(buffer, 0, buffer.byteLength / 2);
    return spaceView;
  };
  /** A NUL-terminated string the driver passes (DbgPrint's format): all of it, checked as one read. */
  const readCString = (p: number): string => {
    const at = ddi.MEMORY_OFFSET(p);
    if (at < 0) {
      ddi.VERIFY_ACCESS(p, 1, false);
      return '';
    }
    // the address space is the memory's lower half (the upper half is its shadow)
    const mem = addressSpace();
    const end = mem.indexOf(0, at);
    // no NUL before the end of the address space: the read runs off it, as the kernel's would
    ddi.VERIFY_ACCESS(p, (end < 0 ? mem.length : end) - at + 1, false);
    return LATIN1.decode(mem.subarray(at, end));
  };
  /** A NUL-terminated wide string (a wide printf format). */
  const readWString = (p: number): string => {
    let t = '';
    for (let k = 0; ; k++) {
      const ch = ddi.READ_USHORT(p + 2 * k);
      if (ch === 0) return t;
      t += String.fromCharCode(ch);
    }
  };
  const read64 = (at: number): bigint => (BigInt(ddi.READ_ULONG(at + 4)) << 32n) | BigInt(ddi.READ_ULONG(at));
  /** Arguments packed by type, each at its own alignment: how clang passes varargs (and builds a va_list). */
  const naturalVarargs = (format: string, va: number): DbgArg[] => {
    const args: DbgArg[] = [];
    let at = va;
    for (const size of varargSlotSizes(format, ps)) {
      at = (at + size - 1) & ~(size - 1);
      args.push(size === 8 ? read64(at) : ddi.READ_ULONG(at));
      at += size;
    }
    return args;
  };
  /** DbgPrint-style varargs: x64's shim macros widen each argument to an 8-byte slot, as the x64 convention does. */
  const varargs = (format: string, va: number): DbgArg[] =>
    (x64 ? varargSlotSizes(format).map((_, k) => read64(va + 8 * k)) : naturalVarargs(format, va));
  const out = (p: number, v: number): void => ddi.WRITE_POINTER(p, v);
  const n = (x: number | bigint): number => Number(x);
  /** A SIZE_T argument: unsigned, all 32 or 64 bits of it (bind leaves these raw: SIZE_T_ARGS). */
  const sizeT = (x: number | bigint): number | bigint => (typeof x === 'bigint' ? BigInt.asUintN(64, x) : x >>> 0);
  // FltSet…Context: OldContext optional (NULL: the caller does not want it); FltGet…Context: written on success only
  const fltSetContext = (f: Ddi['FltSetStreamContext'], instance: number | bigint, file: number | bigint, operation: number | bigint, context: number | bigint, old: number | bigint): number => {
    const o = n(old) === 0 ? null : { value: 0 };
    const st = f(n(instance), n(file), n(operation), n(context), o);
    if (o !== null) out(n(old), o.value);
    return st;
  };
  const fltGetContext = (f: Ddi['FltGetStreamContext'], instance: number | bigint, file: number | bigint, ret: number | bigint): number => {
    const o = { value: 0 };
    const st = f(n(instance), n(file), o);
    if (st === 0) out(n(ret), o.value);
    return st;
  };
  const impl: Record<string, Impl> = {
    PsSetCreateProcessNotifyRoutine: (r, remove) => ddi.PsSetCreateProcessNotifyRoutine(processRoutine(n(r)), n(remove) !== 0),
    PsSetCreateProcessNotifyRoutineEx: (r, remove) => ddi.PsSetCreateProcessNotifyRoutineEx(processExRoutine(n(r)), n(remove) !== 0),
    PsSetCreateProcessNotifyRoutineEx2: (t, r, remove) => ddi.PsSetCreateProcessNotifyRoutineEx2(n(t), processExRoutine(n(r)), n(remove) !== 0),
    PsSetCreateThreadNotifyRoutine: (r) => ddi.PsSetCreateThreadNotifyRoutine(threadRoutine(n(r))),
    PsSetCreateThreadNotifyRoutineEx: (t, r) => ddi.PsSetCreateThreadNotifyRoutineEx(n(t), threadRoutine(n(r))),
    PsRemoveCreateThreadNotifyRoutine: (r) => ddi.PsRemoveCreateThreadNotifyRoutine(threadRoutine(n(r))),
    PsSetLoadImageNotifyRoutine: (r) => ddi.PsSetLoadImageNotifyRoutine(imageRoutine(n(r))),
    PsSetLoadImageNotifyRoutineEx: (r, f) => ddi.PsSetLoadImageNotifyRoutineEx(imageRoutine(n(r)), n(f)),
    PsRemoveLoadImageNotifyRoutine: (r) => ddi.PsRemoveLoadImageNotifyRoutine(imageRoutine(n(r))),
    PsLookupProcessByProcessId: (pid, p) => {
      const o = { value: ddi.READ_POINTER(n(p)) };
      const st = ddi.PsLookupProcessByProcessId(n(pid), o);
      out(n(p), o.value);
      return st;
    },
    PsLookupThreadByThreadId: (tid, p) => {
      const o = { value: ddi.READ_POINTER(n(p)) };
      const st = ddi.PsLookupThreadByThreadId(n(tid), o);
      out(n(p), o.value);
      return st;
    },
    PsGetCurrentProcessId: () => ddi.PsGetCurrentProcessId(),
    PsGetCurrentThreadId: () => ddi.PsGetCurrentThreadId(),
    PsGetCurrentProcess: () => ddi.PsGetCurrentProcess(),
    IoGetCurrentProcess: () => ddi.PsGetCurrentProcess(),
    KeGetCurrentThread: () => ddi.PsGetCurrentThread(),
    PsGetProcessId: (p) => ddi.PsGetProcessId(n(p)),
    PsGetProcessImageFileName: (p) => ddi.PsGetProcessImageFileName(n(p)),
    ObfReferenceObject: (p) => ddi.ObReferenceObject(n(p)),
    ObReferenceObject: (p) => ddi.ObReferenceObject(n(p)),
    ObfDereferenceObject: (p) => ddi.ObDereferenceObject(n(p)),
    ObDereferenceObject: (p) => ddi.ObDereferenceObject(n(p)),
    IoCreateDevice: (dobj, ext, name, type, chars, excl, p) => {
      if (n(dobj) !== DriverObject.address) throw new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [0xc0000005, 0, 0, 0], 'IoCreateDevice: not the driver\'s DRIVER_OBJECT');
      const o = { value: 0 };
      const st = ddi.IoCreateDevice(DriverObject, n(ext), n(name) === 0 ? null : readUnicode(n(name)), n(type), n(chars), n(excl) !== 0, o);
      out(n(p), o.value);
      return st;
    },
    IoDeleteDevice: (d) => ddi.IoDeleteDevice(n(d)),
    IoCreateSymbolicLink: (l, d) => ddi.IoCreateSymbolicLink(readUnicode(n(l)), readUnicode(n(d))),
    IoDeleteSymbolicLink: (l) => ddi.IoDeleteSymbolicLink(readUnicode(n(l))),
    IofCompleteRequest: (irp, boost) => ddi.IoCompleteRequest(n(irp), n(boost)),
    IoAcquireCancelSpinLock: (p) => { ddi.WRITE_UCHAR(n(p), ddi.IoAcquireCancelSpinLock()); },
    IoReleaseCancelSpinLock: (irql) => ddi.IoReleaseCancelSpinLock(n(irql)),
    IoCompleteRequest: (irp, boost) => ddi.IoCompleteRequest(n(irp), n(boost)),
    ExAllocatePoolWithTag: (_t, size, tag) => ddi.ExAllocatePoolWithTag(n(_t), sizeT(size), tagString(n(tag))),
    ExAllocatePoolWithQuotaTag: (_t, size, tag) => ddi.ExAllocatePoolWithQuotaTag(n(_t), sizeT(size), tagString(n(tag))),
    ExInitializeNPagedLookasideList: (list, allocate, free, flags, size, tag, depth) => {
      // the list's own routines, called through the driver's table: PVOID (*)(POOL_TYPE, SIZE_T, ULONG), VOID (*)(PVOID)
      const a = n(allocate);
      const f = n(free);
      ddi.ExInitializeNPagedLookasideList(n(list),
        a === 0 ? null : (type, bytes, t) => {
          const r = call(a, type, P(bytes), t) as number | bigint;
          return typeof r === 'bigint' ? fromX64(r) : r >>> 0;
        },
        f === 0 ? null : (entry) => { call(f, P(entry)); },
        n(flags), n(size), tagString(n(tag)), n(depth));
    },
    // OB_CALLBACK_REGISTRATION: Version, OperationRegistrationCount, Altitude, RegistrationContext, OperationRegistration
    // (x86 0/2/4/0xC/0x10, x64 0/2/8/0x18/0x20); OB_OPERATION_REGISTRATION: ObjectType (POBJECT_TYPE *), Operations,
    // PreOperation, PostOperation, each pointer-sized
    ObRegisterCallbacks: (reg, handle) => {
      const r = n(reg);
      const count = ddi.READ_USHORT(r + 2);
      const first = ddi.READ_POINTER(r + (x64 ? 0x20 : 0x10));
      const operations = [];
      for (let k = 0; k < Math.min(count, 16); k++) {
        const o = first + 4 * ps * k;
        const typeVariable = ddi.READ_POINTER(o);
        const pre = ddi.READ_POINTER(o + 2 * ps);
        const post = ddi.READ_POINTER(o + 3 * ps);
        operations.push({
          ObjectType: typeVariable === 0 ? 0 : ddi.READ_POINTER(typeVariable),
          Operations: ddi.READ_ULONG(o + ps),
          PreOperation: pre === 0 ? null : routine('obPre', pre, () => (c: number, info: number) => call(pre, P(c), P(info))),
          PostOperation: post === 0 ? null : routine('obPost', post, () => (c: number, info: number) => { call(post, P(c), P(info)); }),
        });
      }
      const o = { value: 0 };
      const st = ddi.ObRegisterCallbacks({
        Version: ddi.READ_USHORT(r), Altitude: readUnicode(r + (x64 ? 8 : 4)), RegistrationContext: ddi.READ_POINTER(r + (x64 ? 0x18 : 0xc)),
        OperationRegistration: operations,
      }, o);
      if (st === 0) out(n(handle), o.value);
      return st;
    },
    ObUnRegisterCallbacks: (h) => ddi.ObUnRegisterCallbacks(n(h)),
    // EX_CALLBACK_FUNCTION: NTSTATUS (*)(PVOID CallbackContext, PVOID Argument1, PVOID Argument2); a cookie is a
    // LARGE_INTEGER the driver passes by address, or by value (its 64 bits: wdm.h's CmUnRegisterCallback)
    CmRegisterCallbackEx: (fn, altitude, driver, context, cookie) => {
      const o = { value: 0n };
      const st = ddi.CmRegisterCallbackEx(registryRoutine(n(fn)), readUnicode(n(altitude)), n(driver), n(context), o);
      if (st === 0) writeQuad(n(cookie), o.value);
      return st;
    },
    CmRegisterCallback: (fn, context, cookie) => {
      const o = { value: 0n };
      const st = ddi.CmRegisterCallback(registryRoutine(n(fn)), n(context), o);
      if (st === 0) writeQuad(n(cookie), o.value);
      return st;
    },
    CmUnRegisterCallback: (cookie) => ddi.CmUnRegisterCallback(BigInt.asUintN(64, BigInt(cookie))),
    CmCallbackGetKeyObjectIDEx: (cookie, object, id, name, flags) => {
      const i = n(id) === 0 ? null : { value: 0 };
      const s = n(name) === 0 ? null : { value: 0 };
      const st = ddi.CmCallbackGetKeyObjectIDEx(readQuad(n(cookie)), n(object), i, s, n(flags));
      if (st === 0 && i !== null) out(n(id), i.value);
      if (st === 0 && s !== null) out(n(name), s.value);
      return st;
    },
    CmCallbackReleaseKeyObjectIDEx: (name) => ddi.CmCallbackReleaseKeyObjectIDEx(n(name)),
    CmCallbackGetKeyObjectID: (cookie, object, id, name) => {
      const i = n(id) === 0 ? null : { value: 0 };
      const s = n(name) === 0 ? null : { value: 0 };
      const st = ddi.CmCallbackGetKeyObjectID(readQuad(n(cookie)), n(object), i, s);
      if (st === 0 && i !== null) out(n(id), i.value);
      if (st === 0 && s !== null) out(n(name), s.value);
      return st;
    },
    CmGetCallbackVersion: (major, minor) => {
      const v = ddi.CmGetCallbackVersion();
      if (n(major) !== 0) ddi.WRITE_ULONG(n(major), v.major);
      if (n(minor) !== 0) ddi.WRITE_ULONG(n(minor), v.minor);
    },
    // FLT_REGISTRATION and its FLT_OPERATION_REGISTRATION array, read up to IRP_MJ_OPERATION_END (at most 64 entries)
    FltRegisterFilter: (driver, reg, ret) => {
      const r = n(reg);
      const first = ddi.READ_POINTER(r + (x64 ? 0x10 : 0xc));
      const operations = [];
      for (let k = 0; first !== 0 && k < 64; k++) {
        const o = first + (x64 ? 0x20 : 0x14) * k;
        const major = ddi.READ_UCHAR(o);
        if (major === 0x80) break;
        const pre = ddi.READ_POINTER(o + 8);
        const post = ddi.READ_POINTER(o + (x64 ? 0x10 : 0xc));
        operations.push({ MajorFunction: major, Flags: ddi.READ_ULONG(o + 4), PreOperation: pre === 0 ? null : fltPre(pre), PostOperation: post === 0 ? null : fltPost(post) });
      }
      const unload = ddi.READ_POINTER(r + (x64 ? 0x18 : 0x10));
      const setup = ddi.READ_POINTER(r + (x64 ? 0x20 : 0x14));
      const queryTeardown = ddi.READ_POINTER(r + (x64 ? 0x28 : 0x18));
      const teardownStart = ddi.READ_POINTER(r + (x64 ? 0x30 : 0x1c));
      const teardownComplete = ddi.READ_POINTER(r + (x64 ? 0x38 : 0x20));
      // FLT_CONTEXT_REGISTRATION array up to FLT_CONTEXT_END (at most 16 entries); Size is a SIZE_T, all ones variable
      const contexts = [];
      const firstContext = ddi.READ_POINTER(r + 8);
      for (let k = 0; firstContext !== 0 && k < 16; k++) {
        const c = firstContext + (x64 ? 0x38 : 0x1c) * k;
        const type = ddi.READ_USHORT(c);
        if (type === 0xffff) break;
        const cleanup = ddi.READ_POINTER(c + (x64 ? 8 : 4));
        const low = ddi.READ_ULONG(c + (x64 ? 0x10 : 8)) >>> 0;
        const high = x64 ? ddi.READ_ULONG(c + 0x14) >>> 0 : 0;
        const size = low === 0xffff_ffff && (!x64 || high === 0xffff_ffff) ? -1 : high !== 0 ? Number.MAX_SAFE_INTEGER : low;
        contexts.push({ ContextType: type, Flags: ddi.READ_USHORT(c + 2), ContextCleanupCallback: cleanup === 0 ? null : fltCleanup(cleanup), Size: size, PoolTag: tagString(ddi.READ_ULONG(c + (x64 ? 0x18 : 0xc))) });
      }
      const o = { value: 0 };
      const st = ddi.FltRegisterFilter(n(driver), {
        Size: ddi.READ_USHORT(r), Version: ddi.READ_USHORT(r + 2), Flags: ddi.READ_ULONG(r + 4), OperationRegistration: operations, ContextRegistration: contexts,
        FilterUnloadCallback: unload === 0 ? null : fltUnload(unload), InstanceSetupCallback: setup === 0 ? null : fltSetup(setup),
        InstanceQueryTeardownCallback: queryTeardown === 0 ? null : fltQueryTeardown(queryTeardown),
        InstanceTeardownStartCallback: teardownStart === 0 ? null : fltTeardown(teardownStart),
        InstanceTeardownCompleteCallback: teardownComplete === 0 ? null : fltTeardown(teardownComplete),
      }, o);
      if (st === 0) out(n(ret), o.value);
      return st;
    },
    FltStartFiltering: (f) => ddi.FltStartFiltering(n(f)),
    FltUnregisterFilter: (f) => ddi.FltUnregisterFilter(n(f)),
    FltGetFileNameInformation: (data, options, ret) => {
      const o = { value: 0 };
      const st = ddi.FltGetFileNameInformation(n(data), n(options) >>> 0, o);
      if (st === 0) out(n(ret), o.value);
      return st;
    },
    FltParseFileNameInformation: (info) => ddi.FltParseFileNameInformation(n(info)),
    FltReferenceFileNameInformation: (info) => ddi.FltReferenceFileNameInformation(n(info)),
    FltReleaseFileNameInformation: (info) => ddi.FltReleaseFileNameInformation(n(info)),
    FltGetRequestorProcessId: (data) => ddi.FltGetRequestorProcessId(n(data)),
    FltDoCompletionProcessingWhenSafe: (data, objects, context, flags, safe, ret) => {
      const o = { value: 0 };
      const done = ddi.FltDoCompletionProcessingWhenSafe(n(data), n(objects), n(context), n(flags), fltPost(n(safe)), o);
      if (n(ret) !== 0) ddi.WRITE_ULONG(n(ret), o.value);
      return done ? 1 : 0;
    },
    FltBuildDefaultSecurityDescriptor: (sd, access) => {
      const o = { value: 0 };
      const st = ddi.FltBuildDefaultSecurityDescriptor(o, n(access) >>> 0);
      if (st === 0) out(n(sd), o.value);
      return st;
    },
    FltFreeSecurityDescriptor: (sd) => ddi.FltFreeSecurityDescriptor(n(sd)),
    // OBJECT_ATTRIBUTES: ObjectName, Attributes and SecurityDescriptor; the callbacks are table indexes
    FltCreateCommunicationPort: (filter, ret, attributes, cookie, connect, disconnect, message, max) => {
      const a = n(attributes);
      const us = ddi.READ_POINTER(a + (x64 ? 0x10 : 8));
      const o = { value: 0 };
      const st = ddi.FltCreateCommunicationPort(n(filter), o, {
        Name: us === 0 ? null : readUnicode(us), Attributes: ddi.READ_ULONG(a + (x64 ? 0x18 : 0xc)), SecurityDescriptor: ddi.READ_POINTER(a + (x64 ? 0x20 : 0x10)),
        ServerPortCookie: n(cookie), ConnectNotifyCallback: n(connect) === 0 ? null : fltConnect(n(connect)),
        DisconnectNotifyCallback: n(disconnect) === 0 ? null : fltDisconnect(n(disconnect)), MessageNotifyCallback: n(message) === 0 ? null : fltMessage(n(message)),
        MaxConnections: n(max) | 0,
      });
      if (st === 0) out(n(ret), o.value);
      return st;
    },
    FltCloseCommunicationPort: (port) => ddi.FltCloseCommunicationPort(n(port)),
    // the driver's variable: read, then NULL written back
    FltCloseClientPort: (filter, variable) => {
      const v = { value: ddi.READ_POINTER(n(variable)) };
      ddi.FltCloseClientPort(n(filter), v);
      out(n(variable), v.value);
    },
    FltSendMessage: (filter, variable, sender, length, reply, replyLength, timeout) => {
      const rl = n(replyLength) === 0 ? null : { value: ddi.READ_ULONG(n(replyLength)) };
      const st = ddi.FltSendMessage(n(filter), ddi.READ_POINTER(n(variable)), n(sender), n(length) >>> 0, n(reply), rl, n(timeout) === 0 ? null : readQuad(n(timeout)));
      if (rl !== null) ddi.WRITE_ULONG(n(replyLength), rl.value);
      return st;
    },
    FltAllocateContext: (filter, type, size, pool, ret) => {
      const o = { value: 0 };
      const s = sizeT(size);
      const st = ddi.FltAllocateContext(n(filter), n(type) & 0xffff, typeof s === 'bigint' ? (s > 0xffff_ffffn ? Number.MAX_SAFE_INTEGER : Number(s)) : s, n(pool), o);
      if (st === 0) out(n(ret), o.value);
      return st;
    },
    FltReferenceContext: (c) => ddi.FltReferenceContext(n(c)),
    FltReleaseContext: (c) => ddi.FltReleaseContext(n(c)),
    FltDeleteContext: (c) => ddi.FltDeleteContext(n(c)),
    FltSetStreamContext: (instance, file, operation, context, old) => fltSetContext(ddi.FltSetStreamContext, instance, file, operation, context, old),
    FltSetStreamHandleContext: (instance, file, operation, context, old) => fltSetContext(ddi.FltSetStreamHandleContext, instance, file, operation, context, old),
    FltGetStreamContext: (instance, file, ret) => fltGetContext(ddi.FltGetStreamContext, instance, file, ret),
    FltGetStreamHandleContext: (instance, file, ret) => fltGetContext(ddi.FltGetStreamHandleContext, instance, file, ret),
    FltAllocateDeferredIoWorkItem: () => P(ddi.FltAllocateDeferredIoWorkItem()),
    FltFreeDeferredIoWorkItem: (item) => ddi.FltFreeDeferredIoWorkItem(n(item)),
    FltQueueDeferredIoWorkItem: (item, data, routine, queue, context) => ddi.FltQueueDeferredIoWorkItem(n(item), n(data), fltWork(n(routine)), n(queue), n(context)),
    FltCompletePendedPreOperation: (data, status, context) => ddi.FltCompletePendedPreOperation(n(data), n(status), n(context)),
    FltCompletePendedPostOperation: (data) => ddi.FltCompletePendedPostOperation(n(data)),
    ObGetFilterVersion: () => ddi.ObGetFilterVersion(),
    // LARGE_INTEGER returned by value: through a hidden result pointer (the wasm C ABI for unions), or as i64
    KeQueryPerformanceCounter: (...a) => {
      if (a.length === 2) {
        const v = ddi.KeQueryPerformanceCounter(n(a[1]));
        ddi.WRITE_ULONG(n(a[0]), Number(v & 0xffff_ffffn));
        ddi.WRITE_ULONG(n(a[0]) + 4, Number((v >> 32n) & 0xffff_ffffn));
        return undefined;
      }
      return ddi.KeQueryPerformanceCounter(n(a[0]));
    },
    ExAllocatePool2: (flags, size, tag) => ddi.ExAllocatePool2(BigInt(flags), sizeT(size), tagString(n(tag))),
    // ExFreePool(p) is ExFreePoolWithTag(p, 0) in wdm.h: tag 0 checks no tag
    ExFreePoolWithTag: (p, tag) => ddi.ExFreePoolWithTag(n(p), n(tag) === 0 ? '' : tagString(n(tag))),
    ExFreePool: (p) => ddi.ExFreePoolWithTag(n(p), ''),
    KeInitializeSpinLock: (p) => ddi.KeInitializeSpinLock(n(p)),
    KeAcquireSpinLock: (p) => ddi.KeAcquireSpinLock(n(p)),
    KeReleaseSpinLock: (p, irql) => ddi.KeReleaseSpinLock(n(p), n(irql)),
    ExInitializeFastMutex: (p) => ddi.ExInitializeFastMutex(n(p)),
    ExAcquireFastMutex: (p) => ddi.ExAcquireFastMutex(n(p)),
    ExReleaseFastMutex: (p) => ddi.ExReleaseFastMutex(n(p)),
    KeInitializeGuardedMutex: (p) => ddi.KeInitializeGuardedMutex(n(p)),
    KeAcquireGuardedMutex: (p) => ddi.KeAcquireGuardedMutex(n(p)),
    KeReleaseGuardedMutex: (p) => ddi.KeReleaseGuardedMutex(n(p)),
    KeGetCurrentIrql: () => ddi.KeGetCurrentIrql(),
    KeBugCheckEx: (c, a, b, d, e) => ddi.KeBugCheckEx(n(c), n(a), n(b), n(d), n(e)),
    // /GS: a function's security cookie changed before it returned ([DOC] bug-check-0xf7: P1 the cookie found, which
    // the check does not pass on here (0), P2 the expected cookie, P3 its complement)
    __stack_chk_fail: () => {
      const cookie = x64 ? GS_COOKIE_X64 : BigInt(GS_COOKIE_X86);
      const fn = faultingFunction(new Error().stack);
      const buffer = fn === undefined ? undefined : gsBuffers?.[fn];
      throw new BugCheck(BUGCHECK_DRIVER_OVERRAN_STACK_BUFFER, [0, cookie, BigInt.asUintN(x64 ? 64 : 32, ~cookie), 0],
        `a local buffer was overrun: the /GS security cookie after ${buffer !== undefined ? `'${buffer}' of ${fn}` : 'it'} changed before its function returned`);
    },
    // -fsanitize=null -fno-sanitize-recover=null: the check before a dereference found NULL. Its data is clang's
    // TypeMismatchData: { { const char *Filename; u32 Line, Column }, TypeDescriptor *, u8 LogAlignment,
    // u8 TypeCheckKind } (compiler-rt ubsan_handlers.h); kind 0 a load, 1 a store, the others a member access or call
    __ubsan_handle_type_mismatch_v1_abort: (data, ptr) => {
      const d = n(data);
      const file = readCString(ddi.READ_POINTER(d)).slice(0, 200);
      const line = ddi.READ_ULONG(d + (x64 ? 8 : 4));
      const column = ddi.READ_ULONG(d + (x64 ? 12 : 8));
      const kind = ddi.READ_UCHAR(d + (x64 ? 25 : 17));
      const what = kind === 0 ? 'a read through' : kind === 1 ? 'a write through' : 'a member access through';
      const at = file === '' ? '' : ` at ${file.replace(/^drv\//, '')}:${line}:${column}`;
      const fn = faultingFunction(new Error().stack);
      throw new BugCheck(BUGCHECK_PAGE_FAULT_IN_NONPAGED_AREA, [n(ptr), kind === 1 ? 1 : 0, 0, 0], `NULL pointer dereference${fn === undefined ? '' : ` in ${fn}`}: ${what} NULL${at}`);
    },
    RtlInitUnicodeString: (dst, src) => {
      let len = 0;
      if (n(src) !== 0) while (ddi.READ_USHORT(n(src) + 2 * len) !== 0) len++;
      ddi.WRITE_USHORT(n(dst), 2 * len);
      ddi.WRITE_USHORT(n(dst) + 2, n(src) === 0 ? 0 : 2 * len + 2);
      ddi.WRITE_POINTER(n(dst) + BUFFER, n(src));
    },
    RtlCopyUnicodeString: (dst, src) => {
      if (n(src) === 0) {
        ddi.WRITE_USHORT(n(dst), 0);
        return;
      }
      const max = ddi.READ_USHORT(n(dst) + 2);
      const bytes = Math.min(ddi.READ_USHORT(n(src)), max);
      ddi.RtlCopyMemory(ddi.READ_POINTER(n(dst) + BUFFER), ddi.READ_POINTER(n(src) + BUFFER), bytes);
      ddi.WRITE_USHORT(n(dst), bytes);
    },
    RtlCompareUnicodeString: (a, b, ci) => {
      let x = readUnicode(n(a));
      let y = readUnicode(n(b));
      if (n(ci) !== 0) {
        x = x.toUpperCase();
        y = y.toUpperCase();
      }
      for (let k = 0; k < Math.min(x.length, y.length); k++) if (x.charCodeAt(k) !== y.charCodeAt(k)) return x.charCodeAt(k) - y.charCodeAt(k);
      return x.length - y.length;
    },
    RtlEqualUnicodeString: (a, b, ci) => {
      const x = readUnicode(n(a));
      const y = readUnicode(n(b));
      return (n(ci) !== 0 ? x.toUpperCase() === y.toUpperCase() : x === y) ? 1 : 0;
    },
    RtlGetVersion: (p) => {
      const v = ddi.RtlGetVersion();
      ddi.WRITE_ULONG(n(p) + 4, v.dwMajorVersion);
      ddi.WRITE_ULONG(n(p) + 8, v.dwMinorVersion);
      ddi.WRITE_ULONG(n(p) + 12, v.dwBuildNumber);
      ddi.WRITE_ULONG(n(p) + 16, 2); // VER_PLATFORM_WIN32_NT
      return 0;
    },
    MmGetSystemRoutineAddress: (p) => {
      const name = readUnicode(n(p));
      if (ddi.MmGetSystemRoutineAddress(name) === 0) return 0;
      if (!DYNAMIC_ROUTINES.has(name) || table === null) return 0xfee10000; // exported, but not callable from here
      return dynamic.get(name) ?? 0xfee10000;
    },
    DbgPrint: (fmt, va) => {
      const f = readCString(n(fmt));
      return ddi.DbgPrint(f, ...varargs(f, n(va)));
    },
    DbgPrintEx: (c, l, fmt, va) => {
      const f = readCString(n(fmt));
      return ddi.DbgPrintEx(n(c) >>> 0, n(l) >>> 0, f, ...varargs(f, n(va)));
    },
    // the driver's own va_list: packed by type by its variadic caller (not widened by the shim's macro)
    vDbgPrintEx: (c, l, fmt, ap) => {
      const f = readCString(n(fmt));
      return ddi.DbgPrintEx(n(c) >>> 0, n(l) >>> 0, f, ...naturalVarargs(f, n(ap)));
    },
    ...Object.fromEntries(PLAIN_DDIS.map((name) => [name, (...a: (number | bigint)[]) => {
      const r = (ddi as unknown as Record<string, (...x: number[]) => number | boolean | void>)[name](...a.map(n));
      return typeof r === 'boolean' ? (r ? 1 : 0) : r;
    }])),
    ...Object.fromEntries([...PRINTF_ROUTINES].map(([name, { formatArg, wide }]) => [name, (...a: (number | bigint)[]) => {
      const fixed = a.slice(0, -1).map(n);
      const fmt = wide ? readWString(fixed[formatArg]) : readCString(fixed[formatArg]);
      const r = (ddi as unknown as Record<string, (...x: DbgArg[]) => number>)[name](...fixed, ...varargs(fmt, n(a[a.length - 1])));
      return r;
    }])),
    // a length is a SIZE_T: (SIZE_T)-1 from an underflowed subtraction is 4 GB (x86) or 16 EB (x64) to copy, which
    // faults at the first byte past the buffer's mapping, as on Windows; not -1, a copy of nothing
    memcpy: (d, s, len) => {
      ddi.RtlCopyMemory(n(d), n(s), Number(sizeT(len)));
      return d;
    },
    memmove: (d, s, len) => {
      ddi.RtlCopyMemory(n(d), n(s), Number(sizeT(len)));
      return d;
    },
    memset: (d, c, len) => {
      const count = Number(sizeT(len));
      for (let k = 0; k < count; k++) ddi.WRITE_UCHAR(n(d) + k, n(c) & 0xff);
      return d;
    },
    // edge coverage (clang trace-pc-guard): count by guard address; the guards need no initialisation here
    __sanitizer_cov_trace_pc_guard: (g) => {
      if (coverage === undefined) return;
      const key = target === 'x64' ? X64_KEY + n(g) : n(g);
      coverage.hits.set(key, (coverage.hits.get(key) ?? 0) + 1);
    },
    __sanitizer_cov_trace_pc_guard_init: () => {},
    KfRaiseIrql: (irql) => ddi.KeRaiseIrql(n(irql)),
    KfLowerIrql: (irql) => ddi.KeLowerIrql(n(irql)),
    memcmp: (a, b, len) => {
      const count = Number(sizeT(len));
      for (let k = 0; k < count; k++) {
        const x = ddi.READ_UCHAR(n(a) + k);
        const y = ddi.READ_UCHAR(n(b) + k);
        if (x !== y) return x - y;
      }
      return 0;
    },
  };
  const importObject: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  /** Where the kernel's memory goes in `importObject` (each run's own). */
  const memoryImports: { readonly module: string; readonly name: string }[] = [];
  /**
   * A kernel routine as the driver calls it: an x64 driver's 64-bit arguments become the kernel's VA form and
   * a 64-bit result goes back sign-extended; the verifier sees every value the driver hands to the kernel
   * (uninitialised pool reads).
   */
  function bind(name: string, f: Impl, wideResult: boolean): WebAssembly.ImportValue {
    const checked = verifier && name !== 'DbgPrint' && name !== 'DbgPrintEx' && name !== 'vDbgPrintEx' && !PRINTF_ROUTINES.has(name);
    if (!x64) {
      return (checked
        ? (...a: (number | bigint)[]) => {
          for (let k = 0; k < a.length; k++) ddi.VERIFY_VALUE(name, k + 1, a[k]);
          return f(...a);
        }
        : f) as WebAssembly.ImportValue;
    }
    const raw = SIZE_T_ARGS.get(name);
    return ((...a: (number | bigint)[]) => {
      for (let k = 0; k < a.length; k++) {
        const v = a[k];
        if (typeof v === 'bigint' && raw !== k) a[k] = fromX64(v);
        if (checked) ddi.VERIFY_VALUE(name, k + 1, a[k]);
      }
      const r = f(...a);
      // a LONGLONG comes back as a bigint already; pointers and handles as VAs to sign-extend
      return typeof r === 'bigint' ? r : wideResult ? toX64(Number(r ?? 0)) : r;
    }) as WebAssembly.ImportValue;
  }
  const psharness: Record<string, Impl> = {
    // the slow path of the inline shadow check (instrument.ts); an x64 driver passes the address it used
    access: (ea, len, store, site) => {
      // a call into the kernel is work too: on several CPUs every access to shared memory comes here (the race
      // detector, a scheduling point), so a routine spinning on a shared flag would spend minutes of the budget's
      // 1,000,000 units; charged SLOW_PATH_WORK each, it is stopped after 100,000 such accesses on every CPU count
      if (budget !== undefined) {
        const left = (budget.value as number) - SLOW_PATH_WORK;
        budget.value = left;
        if (left < 0) ddi.WORK_EXCEEDED();
      }
      ddi.VERIFY_ACCESS(typeof ea === 'bigint' ? fromX64(ea) : n(ea) >>> 0, n(len), n(store) !== 0, site === undefined ? undefined : n(site));
    },
    budget_exceeded: () => ddi.WORK_EXCEEDED(),
    // a function in a PAGE or INIT section runs (instrument.ts: at its entry and before each call it makes)
    [CODE_SECTION_IMPORT]: (k) => {
      const placed = img.codeSections[n(k)];
      if (placed !== undefined) ddi.CODE_SECTION_EXECUTES(placedNames[n(k)], placed[1], placed[2]);
    },
    // a frame took the stack pointer past the thread's kernel stack (the instrumentation's test of every store to
    // __stack_pointer): on Windows the frame's first access below the stack is in its guard page, a double fault
    stack_overflow: (sp) => {
      const at = typeof sp === 'bigint' ? Number(BigInt.asIntN(64, sp)) : n(sp) | 0;
      const fn = faultingFunction(new Error().stack) ?? '?';
      const used = fiberTop() + CALLER_FRAMES - at;
      const b = new BugCheck(BUGCHECK_UNEXPECTED_KERNEL_MODE_TRAP, [8, 0, 0, 0],
        `kernel stack overflow: ${fn}'s frame takes the stack to ${used.toLocaleString('en-US')} bytes, past the ${KERNEL_STACK_SIZE[x64 ? 'x64' : 'x86'] / 1024} KB kernel stack of ${x64 ? 'x64' : 'x86'} (a local that belongs in pool)`, 'stack-overflow');
      b.function = fn;
      throw b;
    },
    // the shim's Interlocked functions mark their load and store atomic (several CPUs: no switch inside)
    atomic_begin: (p) => ddi.ATOMIC_BEGIN(typeof p === 'bigint' ? fromX64(p) : n(p) >>> 0),
    atomic_end: () => ddi.ATOMIC_END(),
    memory_grow: () => {
      throw new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [0xc0000005, 0, 0, 0], 'the driver executed memory.grow on the kernel\'s memory');
    },
  };
  for (const i of imports) {
    importObject[i.module] ??= {};
    const result = i.signature?.results[0];
    const fiber = (name: string, f: WebAssembly.ImportValue): WebAssembly.ImportValue =>
      (withFibers && !NOT_SCHEDULING_POINTS.has(name) ? fiberImport(name, f as Impl, result) : f) as WebAssembly.ImportValue;
    if (i.kind === 'memory') memoryImports.push(i);
    else if (i.kind === 'function' && i.module === 'psharness' && i.name.startsWith(DYNAMIC_IMPORT_PREFIX)) {
      const routineName = i.name.slice(DYNAMIC_IMPORT_PREFIX.length);
      importObject[i.module][i.name] = fiber(routineName, bind(routineName, impl[routineName], DYNAMIC_ROUTINES.get(routineName)?.endsWith('p') === true && x64));
    } else if (i.kind === 'function' && i.module === 'psharness') importObject[i.module][i.name] = fiber(i.name, psharness[i.name] as WebAssembly.ImportValue);
    else if (i.kind === 'function') importObject[i.module][i.name] = fiber(i.name, bind(i.name, impl[i.name], result === 'i64'));
  }
  /**
   * The routines MmGetSystemRoutineAddress can return, at fixed places in the function table (after the image's
   * own): the same pointer for a name in every run and on every load, as an ntoskrnl export's address is for a
   * boot. The fibers build's own function for a routine where it has one (a wait inside it can switch the thread
   * out), else a trampoline to the kernel's.
   */
  function placeDynamicRoutines(instance: WebAssembly.Instance): void {
    dynamic.clear();
    if (!imports.some((i) => i.kind === 'function' && i.name === 'MmGetSystemRoutineAddress') || table === null) return;
    let at: number;
    try {
      at = table.grow(DYNAMIC_ROUTINES.size);
    } catch {
      return; // a table linked without --growable-table: the routines are exported, not callable from this image
    }
    let k = 0;
    for (const name of DYNAMIC_ROUTINES.keys()) {
      const own = instance.exports[`${DYNAMIC_EXPORT_PREFIX}${name}`];
      if (own === undefined) {
        dynamicInstance ??= new WebAssembly.Instance(trampolines(target), {
          k: Object.fromEntries([...DYNAMIC_ROUTINES].map(([r, sig]) => [r, bind(r, impl[r], sig.endsWith('p'))])),
        });
      }
      table.set(at + k, (own ?? (dynamicInstance as WebAssembly.Instance).exports[name]) as WebAssembly.ExportValue);
      dynamic.set(name, at + k++);
    }
  }
  function enter(runDdi: Ddi, runDriverObject: DRIVER_OBJECT, RegistryPath: PVOID): number {
    ddi = runDdi;
    DriverObject = runDriverObject;
    BUFFER = ddi.UNICODE_STRING.Buffer;
    for (const i of memoryImports) importObject[i.module][i.name] = ddi.memory;
    // the previous run's instance state (the layer's functions stay)
    table = null;
    A = null;
    sp = null;
    spInitial = 0;
    fibers.clear();
    depth = 0;
    justSuspended = false;
    running = null;
    budget = undefined;
    stackLimit = undefined;
    wrappers.clear();
    pendingEntry = null;
    let instance: WebAssembly.Instance;
    const memory = ddi.memory;
    const reused = kept?.instance;
    if (kept !== null && state !== null && kept.memory === memory && memory.buffer.byteLength === kept.size) {
      instance = kept.instance;
      // what instantiation does, in its order: the data segments, the start function's zeroing, the globals' values
      const bytes = new Uint8Array(memory.buffer);
      for (const d of state.data) bytes.set(d.bytes, d.offset);
      for (const [at, length] of state.zeroes) bytes.fill(0, at, at + length);
      for (const g of state.globals) (instance.exports[g.name] as WebAssembly.Global).value = g.value;
    } else {
      try {
        instance = new WebAssembly.Instance(module, importObject);
      } catch (e) {
        throw new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [0, 0, 0, 0], `the driver image does not load: ${(e as Error).message}`);
      }
    }
    kept = null;
    current = { instance, memory, size: memory.buffer.byteLength };
    table = instance.exports.__indirect_function_table as WebAssembly.Table;
    if (instance !== reused) placeDynamicRoutines(instance);
    // the driver's outermost frame sits below CALLER_FRAMES bytes that stand for the kernel's frames above it: an
    // overrun of a local there is the /GS cookie's to catch on return (0xF7), as on Windows, not a store into the
    // image's data above the stack
    const stackPointer = instance.exports.__stack_pointer as WebAssembly.Global | undefined;
    if (stackPointer !== undefined && Number(stackPointer.value) === STACK_TOP) {
      stackPointer.value = typeof stackPointer.value === 'bigint' ? BigInt(STACK_TOP - CALLER_FRAMES) : STACK_TOP - CALLER_FRAMES;
    }
    if (withFibers && typeof instance.exports.asyncify_start_unwind === 'function') {
      A = instance.exports as unknown as Asyncify;
      sp = instance.exports.__stack_pointer as WebAssembly.Global;
      spInitial = sp.value as number | bigint;
    }
    budget = instance.exports[BUDGET_GLOBAL] as WebAssembly.Global | undefined;
    if (budget !== undefined) budget.value = ddi.WORK_BUDGET;
    stackLimit = instance.exports[STACK_LIMIT_GLOBAL] as WebAssembly.Global | undefined;
    const entry = instance.exports.DriverEntry as (d: number | bigint, r: number | bigint) => number;
    // DriverObject->MajorFunction[] (x86 offset 0x38, x64 0x70) as the I/O manager filled it, to see what the driver changes
    const MAJOR = x64 ? 0x70 : 0x38;
    const before = DriverObject.MajorFunction.map((_, i) => ddi.READ_POINTER(DriverObject.address + MAJOR + ps * i));
    const finishEntry = (): number => {
      justSuspended = false;
      const status = Number(invoke('DriverEntry', () => entry(P(DriverObject.address), P(RegistryPath))));
      if (justSuspended) {
        pendingEntry = finishEntry;
        return 0;
      }
      pendingEntry = null;
      return afterEntry(status);
    };
    return finishEntry();
    function afterEntry(status: number): number {
    // DriverObject->DriverUnload, as the driver left it (x86 offset 0x34, x64 0x68)
    const unload = ddi.READ_POINTER(DriverObject.address + (x64 ? 0x68 : 0x34));
    if (unload !== 0) DriverObject.DriverUnload = routine('unload', unload, () => (d: DRIVER_OBJECT) => { call(unload, P(d.address)); });
    before.forEach((was, i) => {
      const now = ddi.READ_POINTER(DriverObject.address + MAJOR + ps * i);
      if (now !== was) DriverObject.MajorFunction[i] = routine('dispatch', now, () => (dev: number, irp: number) => call(now, P(dev), P(irp)));
    });
    return status >>> 0;
    }
  }
  return {
    enter,
    get pending() {
      return pendingEntry;
    },
    routineAt,
    clear() {
      // kept for the next run unless it holds what a new instance would not: a grown memory, a DriverEntry switched
      // out, or asyncify's two hidden globals mid-unwind
      const hiddenAtRest = state !== null && (state.hidden === 0 || (state.hidden === 2 && A !== null && A.asyncify_get_state() === 0));
      kept = instanceReuse && current !== null && hiddenAtRest && pendingEntry === null && current.memory.buffer.byteLength === current.size ? current : null;
      current = null;
      ddi = null as unknown as Ddi;
      DriverObject = null as unknown as DRIVER_OBJECT;
      pendingEntry = null;
      spaceView = new Uint8Array(0); // an idle layer keeps no run's memory alive
    },
  };
}
