/**
 * Running a driver compiled to WebAssembly: one fresh instance per load, on the kernel's own memory, with every
 * import bound to the DDI surface. Function pointers the driver hands over (notify routines, DriverUnload) are
 * indices into its exported table; DbgPrint's varargs arrive as a pointer to packed slots. A trap becomes a bug
 * check naming the function it happened in, never a crash of the harness.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import {
  BugCheck, BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, BUGCHECK_PAGE_FAULT_IN_NONPAGED_AREA, BUGCHECK_UNEXPECTED_KERNEL_MODE_TRAP, faultingFunction,
} from '../../model/bugcheck.js';
import { varargSlotSizes, type DbgArg } from '../../model/dbgprint.js';
import type { Ddi, DRIVER_OBJECT, DriverInstance, PVOID } from '../../model/ddi.js';
import { loadLogSpec, parserFromSpec } from '../log-spec.js';
import type { DriverModule } from '../types.js';
import { compileDriver, STACK_TOP } from './compile.js';
import { BUDGET_GLOBAL, instrumentDriver, LAYOUT_SECTION, type ImageLayout } from './instrument.js';
import { coveragePoints, type CoverageCollector } from './coverage.js';
import { functionNames, inspectModule, type ModuleInfo } from './module-info.js';

export class WasmDriverError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WasmDriverError';
  }
}


type Impl = (...args: (number | bigint)[]) => number | bigint | void;

/**
 * Routines a driver may call through a pointer from MmGetSystemRoutineAddress, with their parameter counts (all
 * i32 in, i32 out). The table of a module can only hold WebAssembly functions, so each is re-exported by a tiny
 * generated module (imports in, exports out) and placed in the driver's table on demand.
 */
export const DYNAMIC_ROUTINES: ReadonlyMap<string, number> = new Map([
  ['PsGetProcessImageFileName', 1], ['PsGetProcessId', 1],
  ['PsRemoveCreateThreadNotifyRoutine', 1], ['PsRemoveLoadImageNotifyRoutine', 1],
  ['PsSetCreateProcessNotifyRoutineEx', 2], ['PsSetCreateThreadNotifyRoutineEx', 2], ['PsSetLoadImageNotifyRoutineEx', 2],
  ['PsSetCreateProcessNotifyRoutineEx2', 3], ['PsLookupProcessByProcessId', 2], ['PsLookupThreadByThreadId', 2],
  ['ObfDereferenceObject', 1], ['ObfReferenceObject', 1],
]);

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

let trampolineModule: WebAssembly.Module | null = null;

/** A module that imports k.<name> and exports <name> for every dynamic routine. */
function trampolines(): WebAssembly.Module {
  if (trampolineModule !== null) return trampolineModule;
  const entries = [...DYNAMIC_ROUTINES];
  const arities = [...new Set(entries.map(([, a]) => a))];
  const types = arities.flatMap((a) => [0x60, ...leb(a), ...new Array<number>(a).fill(0x7f), 1, 0x7f]);
  const imports = entries.flatMap(([name, a]) => [...str('k'), ...str(name), 0x00, ...leb(arities.indexOf(a))]);
  const exports = entries.flatMap(([name], i) => [...str(name), 0x00, ...leb(i)]);
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [...leb(arities.length), ...types]),
    ...section(2, [...leb(entries.length), ...imports]),
    ...section(7, [...leb(entries.length), ...exports]),
  ];
  trampolineModule = new WebAssembly.Module(new Uint8Array(bytes));
  return trampolineModule;
}

/** The DDIs a WebAssembly driver can import (from "ntoskrnl" or, for routines it declares itself, "env"). */
export const WASM_DDI_NAMES: readonly string[] = [
  'PsSetCreateProcessNotifyRoutine', 'PsSetCreateProcessNotifyRoutineEx', 'PsSetCreateProcessNotifyRoutineEx2',
  'PsSetCreateThreadNotifyRoutine', 'PsSetCreateThreadNotifyRoutineEx', 'PsRemoveCreateThreadNotifyRoutine',
  'PsSetLoadImageNotifyRoutine', 'PsSetLoadImageNotifyRoutineEx', 'PsRemoveLoadImageNotifyRoutine',
  'PsLookupProcessByProcessId', 'PsLookupThreadByThreadId', 'PsGetCurrentProcessId', 'PsGetCurrentThreadId',
  'PsGetCurrentProcess', 'IoGetCurrentProcess', 'PsGetProcessId', 'PsGetProcessImageFileName',
  'ObfReferenceObject', 'ObfDereferenceObject', 'ObReferenceObject', 'ObDereferenceObject',
  'IoCreateDevice', 'IoDeleteDevice', 'IoCreateSymbolicLink', 'IoDeleteSymbolicLink', 'IofCompleteRequest', 'IoCompleteRequest',
  'ExAllocatePoolWithTag', 'ExAllocatePool2', 'ExFreePoolWithTag', 'ExFreePool',
  'KeInitializeSpinLock', 'KeAcquireSpinLock', 'KeReleaseSpinLock', 'ExInitializeFastMutex', 'ExAcquireFastMutex',
  'ExReleaseFastMutex', 'KeGetCurrentIrql', 'KfRaiseIrql', 'KfLowerIrql', 'KeBugCheckEx',
  '__sanitizer_cov_trace_pc_guard', '__sanitizer_cov_trace_pc_guard_init',
  'RtlInitUnicodeString', 'RtlCopyUnicodeString', 'RtlCompareUnicodeString', 'RtlEqualUnicodeString', 'RtlGetVersion',
  'MmGetSystemRoutineAddress', 'DbgPrint', 'DbgPrintEx', 'memcpy', 'memmove', 'memset', 'memcmp',
];

function tagString(tag: number): string {
  let s = '';
  for (let i = 0; i < 4; i++) {
    const c = (tag >>> (8 * i)) & 0xff;
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '?';
  }
  return s;
}

function trapToBugCheck(e: unknown, fn: string): unknown {
  if (e instanceof RangeError && /call stack/i.test(e.message)) {
    // the driver's calls nested past the engine's stack (recursion without a frame on the linear stack): on
    // Windows the kernel stack overflows into its guard page, a double fault
    const b = new BugCheck(BUGCHECK_UNEXPECTED_KERNEL_MODE_TRAP, [8, 0, 0, 0], `kernel stack overflow: the driver's calls nested too deep in ${faultingFunction(e.stack) ?? fn}`, 'stack-overflow');
    b.function = faultingFunction(e.stack) ?? fn;
    return b;
  }
  if (!(e instanceof WebAssembly.RuntimeError)) return e;
  const b = trapBugCheck(e, faultingFunction(e.stack) ?? fn);
  b.function = faultingFunction(e.stack) ?? fn;
  return b;
}

function trapBugCheck(e: WebAssembly.RuntimeError, fn: string): BugCheck {
  if (e.message.includes('unreachable')) {
    // -fsanitize=null -fsanitize-trap=null: a NULL pointer dereference traps at the access
    return new BugCheck(BUGCHECK_PAGE_FAULT_IN_NONPAGED_AREA, [0, 0, 0, 0], `NULL pointer dereference in ${fn} (WebAssembly trap: ${e.message})`);
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
  /** Build with edge coverage (clang's trace-pc-guard and -g) and count the edges each run takes. */
  readonly coverage?: boolean;
}

/** Coverage builds: clang's edge hooks, and DWARF to map them to source lines. */
const COVERAGE_FLAGS: readonly string[] = ['-g', '-fsanitize-coverage=trace-pc-guard'];
const COVERAGE_HOOK = '__sanitizer_cov_trace_pc_guard';

/** The guard page below the stack: the stack is [0, STACK_TOP) and the NULL page is its first 4 KB. */
const STACK_GUARD: readonly [number, number] = [0x1000, 0x2000];

/** The kernel's address space, in pages (half of the memory: the other half is the shadow). */
const MAX_DRIVER_PAGES = 8192;

/** A module that cannot be bound as a driver image: the reason, before anything of it runs. */
function refuseForeign(path: string, info: ModuleInfo): void {
  if (info.hasStart) throw new WasmDriverError(`${path} has a start function: a driver image runs nothing before DriverEntry (link with --no-entry)`);
  for (const i of info.imports) {
    const what = `${i.module}.${i.name}`;
    if (i.kind === 'global' || i.kind === 'table' || i.kind === 'tag') {
      throw new WasmDriverError(`${path} imports a ${i.kind} (${what}): a driver image imports only kernel routines and the kernel's memory`);
    }
    if (i.kind === 'memory' && i.memory !== undefined) {
      if (i.memory.memory64) throw new WasmDriverError(`${path} imports a 64-bit memory (${what}): only wasm32 drivers run here`);
      if (i.memory.shared) throw new WasmDriverError(`${path} imports a shared memory (${what}): the kernel's memory is not shared`);
      if (i.memory.min > MAX_DRIVER_PAGES) {
        throw new WasmDriverError(`${path} needs at least ${i.memory.min} pages of memory (${what}); the kernel's address space has ${MAX_DRIVER_PAGES}`);
      }
    }
  }
}

/** Loads a driver from a .c file (compiled, cached) or a prebuilt .wasm module. */
export async function loadWasmDriver(path: string, options: WasmDriverOptions = {}): Promise<DriverModule & { readonly diagnostics: string }> {
  if (!existsSync(path)) throw new WasmDriverError(`no such driver file: ${path}`);
  const ext = extname(path);
  let bytes: Uint8Array<ArrayBuffer>;
  let diagnostics = '';
  if (ext === '.c') {
    const c = await compileDriver(path, options.defines, options.coverage === true ? COVERAGE_FLAGS : []);
    bytes = new Uint8Array(c.wasm);
    diagnostics = c.diagnostics;
  } else if (ext === '.wasm') {
    bytes = new Uint8Array(readFileSync(path));
  } else throw new WasmDriverError(`${path}: a driver file must be .c or .wasm`);
  const compiled = bytes;
  const verifier = options.verifier !== false;
  try {
    new WebAssembly.Module(new Uint8Array(bytes)); // a clear error for a file that is no module, before binaryen sees it
  } catch (e) {
    throw new WasmDriverError(`${path} is not a WebAssembly module: ${(e as Error).message}`);
  }
  refuseForeign(path, inspectModule(bytes));
  try {
    // the watchdog always; the verifier's memory checks unless switched off
    const inst = await instrumentDriver(bytes, { memory: verifier, budget: true });
    bytes = new Uint8Array(inst.wasm);
    if (inst.warning !== undefined) diagnostics = [diagnostics, inst.warning].filter((x) => x !== '').join('\n');
  } catch (e) {
    throw new WasmDriverError(`${path}: cannot instrument the module: ${(e as Error).message}`);
  }
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(new Uint8Array(bytes));
  } catch (e) {
    throw new WasmDriverError(`${path} is not a WebAssembly module: ${(e as Error).message}`);
  }
  const imports = WebAssembly.Module.imports(module);
  const exports = WebAssembly.Module.exports(module).map((x) => x.name);
  for (const need of ['DriverEntry', '__indirect_function_table', '__heap_base']) {
    if (!exports.includes(need)) throw new WasmDriverError(`${path} does not export ${need} (link with the psharness flags)`);
  }
  const missing = imports.filter((i) => i.kind === 'function' && i.module !== 'psharness' && !WASM_DDI_NAMES.includes(i.name)).map((i) => `${i.module}.${i.name}`);
  if (missing.length > 0) throw new WasmDriverError(`${path} imports routines the simulated kernel lacks: ${missing.join(', ')}`);
  if (!imports.some((i) => i.kind === 'memory')) throw new WasmDriverError(`${path} does not import its memory (link with --import-memory)`);
  const nameSection = WebAssembly.Module.customSections(module, 'name')[0];
  const names = nameSection === undefined ? new Map<number, string>() : functionNames(new Uint8Array(nameSection));
  // __heap_base from a throwaway instance: where the driver's stack and data end and kernel pool may begin
  const minPages = inspectModule(bytes).imports.find((i) => i.kind === 'memory')?.memory?.min ?? 0;
  let probe: WebAssembly.Instance;
  try {
    probe = new WebAssembly.Instance(module, stubImports(imports, new WebAssembly.Memory({ initial: Math.max(64, minPages) })));
  } catch (e) {
    throw new WasmDriverError(`${path} cannot be instantiated as a driver image: ${(e as Error).message}`);
  }
  const reservedLow = Number((probe.exports.__heap_base as WebAssembly.Global).value);
  let coverage: CoverageCollector | undefined;
  if (options.coverage === true) {
    const hook = WebAssembly.Module.imports(new WebAssembly.Module(compiled)).filter((i) => i.kind === 'function').findIndex((i) => i.name === COVERAGE_HOOK);
    if (hook < 0) throw new WasmDriverError(`${path}: no coverage hooks in the module (a prebuilt .wasm must be linked with -fsanitize-coverage=trace-pc-guard -g)`);
    coverage = { points: coveragePoints(compiled, hook, [STACK_TOP, reservedLow]), hits: new Map() };
  }
  const layoutSection = WebAssembly.Module.customSections(module, LAYOUT_SECTION)[0];
  const layout = layoutSection === undefined ? null : JSON.parse(new TextDecoder().decode(layoutSection)) as ImageLayout;
  const sp = Number((probe.exports.__stack_pointer as WebAssembly.Global | undefined)?.value ?? 0);
  const stem = basename(path, ext);
  const specPath = options.logSpec ?? join(dirname(path), `${stem}.psharness.json`);
  const spec = existsSync(specPath) ? loadLogSpec(specPath) : null;
  const driverName = options.name ?? stem;
  return {
    name: driverName,
    description: `${basename(path)} (WebAssembly, ${bytes.length} bytes${spec === null ? ', no log spec' : ''})`,
    imports: imports.filter((i) => i.kind === 'function').map((i) => i.name),
    addressSpace: {
      reservedLow,
      ...(minPages > 0 ? { minPages } : {}),
      // the guard page exists when the module was linked with the psharness stack layout
      ...(verifier && sp === STACK_TOP ? { stackGuard: STACK_GUARD } : {}),
      ...(verifier && layout?.rodata != null ? { readOnly: layout.rodata } : {}),
    },
    verifier,
    logsEvents: spec !== null,
    parse: spec === null ? () => [] : parserFromSpec(spec),
    ...(spec?.monitors !== undefined ? { monitors: spec.monitors } : {}),
    ...(spec?.device !== undefined ? { device: spec.device } : {}),
    ...(spec?.notMonitoring !== undefined ? { notMonitoring: spec.notMonitoring.map((n) => ({ kind: n.kind, pattern: new RegExp(n.pattern) })) } : {}),
    diagnostics,
    ...(coverage !== undefined ? { coverage } : {}),
    instantiate: () => instantiate(module, imports, names, verifier, coverage),
  };
}

function stubImports(imports: WebAssembly.ModuleImportDescriptor[], memory: WebAssembly.Memory): WebAssembly.Imports {
  const out: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  for (const i of imports) {
    out[i.module] ??= {};
    out[i.module][i.name] = i.kind === 'memory' ? memory : () => 0;
  }
  return out;
}

function instantiate(module: WebAssembly.Module, imports: WebAssembly.ModuleImportDescriptor[], names: Map<number, string>, verifier: boolean, coverage?: CoverageCollector): DriverInstance {
  return {
    DriverEntry(ddi: Ddi, DriverObject: DRIVER_OBJECT, RegistryPath: PVOID): number {
      let table: WebAssembly.Table | null = null;
      let budget: WebAssembly.Global | undefined;
      const wrappers = new Map<string, unknown>();
      const dynamic = new Map<string, number>();
      let dynamicInstance: WebAssembly.Instance | null = null;
      const fnName = (idx: number): string => {
        for (const [r, at] of dynamic) if (at === idx) return r;
        const f = table?.get(idx) as { name?: string } | null;
        const n = f?.name === undefined ? undefined : names.get(Number(f.name));
        return n ?? `fn#${idx}`;
      };
      const call = (idx: number, ...args: number[]): number => {
        if (budget !== undefined) budget.value = ddi.WORK_BUDGET;
        const f = table?.get(idx) as ((...a: number[]) => number) | null;
        if (f === null || f === undefined) {
          throw new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [0xc0000005, 0, 0, 0], `call through the NULL function pointer (table index ${idx})`);
        }
        try {
          return f(...args);
        } catch (e) {
          throw trapToBugCheck(e, fnName(idx));
        }
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
      const processRoutine = (i: number) => routine('process', i, () => (ppid: number, pid: number, create: boolean) => { call(i, ppid, pid, create ? 1 : 0); });
      const processExRoutine = (i: number) => routine('processEx', i, () => (p: number, pid: number, info: number) => { call(i, p, pid, info); });
      const threadRoutine = (i: number) => routine('thread', i, () => (pid: number, tid: number, create: boolean) => { call(i, pid, tid, create ? 1 : 0); });
      const imageRoutine = (i: number) => routine('image', i, () => (us: number, pid: number, info: number) => { call(i, us, pid, info); });
      const readUnicode = (us: number): string => {
        const len = ddi.READ_USHORT(us) >>> 1;
        const buf = ddi.READ_POINTER(us + 4);
        let s = '';
        for (let k = 0; k < len; k++) s += String.fromCharCode(ddi.READ_USHORT(buf + 2 * k));
        return s;
      };
      /** A NUL-terminated string the driver passes (DbgPrint's format): all of it, checked as one read. */
      const readCString = (p: number): string => {
        const mem = new Uint8Array(ddi.memory.buffer);
        if (!(p >= 0 && p < mem.length)) {
          ddi.VERIFY_ACCESS(p, 1, false);
          return '';
        }
        const end = mem.indexOf(0, p);
        // no NUL before the end of the address space: the read runs off it, as the kernel's would
        ddi.VERIFY_ACCESS(p, (end < 0 ? mem.length : end) - p + 1, false);
        return new TextDecoder('latin1').decode(mem.subarray(p, end));
      };
      const varargs = (format: string, va: number): DbgArg[] => {
        const args: DbgArg[] = [];
        let at = va;
        for (const size of varargSlotSizes(format)) {
          if (size === 8) {
            at = (at + 7) & ~7;
            const lo = ddi.READ_ULONG(at);
            const hi = ddi.READ_ULONG(at + 4);
            args.push((BigInt(hi) << 32n) | BigInt(lo));
          } else args.push(ddi.READ_ULONG(at));
          at += size;
        }
        return args;
      };
      const out = (p: number, v: number): void => ddi.WRITE_POINTER(p, v);
      const n = (x: number | bigint): number => Number(x);
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
        IoCompleteRequest: (irp, boost) => ddi.IoCompleteRequest(n(irp), n(boost)),
        ExAllocatePoolWithTag: (_t, size, tag) => ddi.ExAllocatePoolWithTag(n(_t), n(size), tagString(n(tag))),
        ExAllocatePool2: (flags, size, tag) => ddi.ExAllocatePool2(BigInt(flags), n(size), tagString(n(tag))),
        ExFreePoolWithTag: (p, tag) => ddi.ExFreePoolWithTag(n(p), tagString(n(tag))),
        ExFreePool: (p) => ddi.ExFreePoolWithTag(n(p), ''),
        KeInitializeSpinLock: (p) => ddi.KeInitializeSpinLock(n(p)),
        KeAcquireSpinLock: (p) => ddi.KeAcquireSpinLock(n(p)),
        KeReleaseSpinLock: (p, irql) => ddi.KeReleaseSpinLock(n(p), n(irql)),
        ExInitializeFastMutex: (p) => ddi.ExInitializeFastMutex(n(p)),
        ExAcquireFastMutex: (p) => ddi.ExAcquireFastMutex(n(p)),
        ExReleaseFastMutex: (p) => ddi.ExReleaseFastMutex(n(p)),
        KeGetCurrentIrql: () => ddi.KeGetCurrentIrql(),
        KeBugCheckEx: (c, a, b, d, e) => ddi.KeBugCheckEx(n(c), n(a), n(b), n(d), n(e)),
        RtlInitUnicodeString: (dst, src) => {
          let len = 0;
          if (n(src) !== 0) while (ddi.READ_USHORT(n(src) + 2 * len) !== 0) len++;
          ddi.WRITE_USHORT(n(dst), 2 * len);
          ddi.WRITE_USHORT(n(dst) + 2, n(src) === 0 ? 0 : 2 * len + 2);
          ddi.WRITE_POINTER(n(dst) + 4, n(src));
        },
        RtlCopyUnicodeString: (dst, src) => {
          if (n(src) === 0) {
            ddi.WRITE_USHORT(n(dst), 0);
            return;
          }
          const max = ddi.READ_USHORT(n(dst) + 2);
          const bytes = Math.min(ddi.READ_USHORT(n(src)), max);
          ddi.RtlCopyMemory(ddi.READ_POINTER(n(dst) + 4), ddi.READ_POINTER(n(src) + 4), bytes);
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
          let at = dynamic.get(name);
          if (at === undefined) {
            dynamicInstance ??= new WebAssembly.Instance(trampolines(), { k: Object.fromEntries([...DYNAMIC_ROUTINES.keys()].map((r) => [r, impl[r] as WebAssembly.ImportValue])) });
            at = table.grow(1);
            table.set(at, dynamicInstance.exports[name]);
            dynamic.set(name, at);
          }
          return at;
        },
        DbgPrint: (fmt, va) => {
          const f = readCString(n(fmt));
          return ddi.DbgPrint(f, ...varargs(f, n(va)));
        },
        DbgPrintEx: (_c, _l, fmt, va) => {
          const f = readCString(n(fmt));
          return ddi.DbgPrint(f, ...varargs(f, n(va)));
        },
        memcpy: (d, s, len) => {
          ddi.RtlCopyMemory(n(d), n(s), n(len));
          return d;
        },
        memmove: (d, s, len) => {
          ddi.RtlCopyMemory(n(d), n(s), n(len));
          return d;
        },
        memset: (d, c, len) => {
          for (let k = 0; k < n(len); k++) ddi.WRITE_UCHAR(n(d) + k, n(c) & 0xff);
          return d;
        },
        // edge coverage (clang trace-pc-guard): count by guard address; the guards need no initialisation here
        __sanitizer_cov_trace_pc_guard: (g) => {
          if (coverage !== undefined) coverage.hits.set(n(g), (coverage.hits.get(n(g)) ?? 0) + 1);
        },
        __sanitizer_cov_trace_pc_guard_init: () => {},
        KfRaiseIrql: (irql) => ddi.KeRaiseIrql(n(irql)),
        KfLowerIrql: (irql) => ddi.KeLowerIrql(n(irql)),
        memcmp: (a, b, len) => {
          for (let k = 0; k < n(len); k++) {
            const x = ddi.READ_UCHAR(n(a) + k);
            const y = ddi.READ_UCHAR(n(b) + k);
            if (x !== y) return x - y;
          }
          return 0;
        },
      };
      const importObject: Record<string, Record<string, WebAssembly.ImportValue>> = {};
      const psharness: Record<string, Impl> = {
        // the slow path of the inline shadow check (instrument.ts)
        access: (ea, len, store) => ddi.VERIFY_ACCESS(n(ea) >>> 0, n(len), n(store) !== 0),
        budget_exceeded: () => ddi.WORK_EXCEEDED(),
        memory_grow: () => {
          throw new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [0xc0000005, 0, 0, 0], 'the driver executed memory.grow on the kernel\'s memory');
        },
      };
      for (const i of imports) {
        importObject[i.module] ??= {};
        if (i.kind === 'memory') importObject[i.module][i.name] = ddi.memory;
        else if (i.kind === 'function' && i.module === 'psharness') importObject[i.module][i.name] = psharness[i.name] as WebAssembly.ImportValue;
        else if (i.kind === 'function') {
          const f = impl[i.name];
          // The verifier sees every value the driver hands to the kernel (uninitialised pool reads).
          importObject[i.module][i.name] = (verifier && i.name !== 'DbgPrint' && i.name !== 'DbgPrintEx'
            ? (...a: (number | bigint)[]) => {
              for (let k = 0; k < a.length; k++) ddi.VERIFY_VALUE(i.name, `argument ${k + 1}`, a[k]);
              return f(...a);
            }
            : f) as WebAssembly.ImportValue;
        }
      }
      let instance: WebAssembly.Instance;
      try {
        instance = new WebAssembly.Instance(module, importObject);
      } catch (e) {
        throw new BugCheck(BUGCHECK_KMODE_EXCEPTION_NOT_HANDLED, [0, 0, 0, 0], `the driver image does not load: ${(e as Error).message}`);
      }
      table = instance.exports.__indirect_function_table as WebAssembly.Table;
      budget = instance.exports[BUDGET_GLOBAL] as WebAssembly.Global | undefined;
      if (budget !== undefined) budget.value = ddi.WORK_BUDGET;
      const entry = instance.exports.DriverEntry as (d: number, r: number) => number;
      // DriverObject->MajorFunction[] (x86 offset 0x38) as the I/O manager filled it, to see what the driver changes
      const MAJOR = 0x38;
      const before = DriverObject.MajorFunction.map((_, i) => ddi.READ_POINTER(DriverObject.address + MAJOR + 4 * i));
      let status: number;
      try {
        status = entry(DriverObject.address, RegistryPath);
      } catch (e) {
        throw trapToBugCheck(e, 'DriverEntry');
      }
      // DriverObject->DriverUnload, as the driver left it (x86 offset 0x34)
      const unload = ddi.READ_POINTER(DriverObject.address + 0x34);
      if (unload !== 0) DriverObject.DriverUnload = routine('unload', unload, () => (d: DRIVER_OBJECT) => { call(unload, d.address); });
      before.forEach((was, i) => {
        const now = ddi.READ_POINTER(DriverObject.address + MAJOR + 4 * i);
        if (now !== was) DriverObject.MajorFunction[i] = routine('dispatch', now, () => (dev: number, irp: number) => call(now, dev, irp));
      });
      return status >>> 0;
    },
  };
}
