/**
 * The instrumentation stage of the C-driver pipeline (compile → instrument → cache → load): binaryen passes over
 * the compiled module, each switchable, the result cached by content hash beside the compiled module.
 *
 * `memory` (the verifier's memory checks): binaryen's `instrument-memory` pass routes every load and store
 * through `load_ptr(id, bytes, offset, ptr)` / `store_ptr(...)`; we define those inside the module instead of
 * importing them, as an inline shadow check (AddressSanitizer's design): the kernel's address space is the lower
 * half of the memory and its shadow the upper half (src/model/mm/memory.ts), so the check is
 *
 *     ea = ptr + offset; half = memory.size << 15
 *     if (ea + bytes > half || ((shadow[ea] | shadow[ea + bytes - 1]) & (store ? 1 : 0b10))) psharness.access(...)
 *
 * and only a flagged byte costs a call into the kernel, which decides (bug check, corruption report, uninitialised
 * pool tracking). `inlining-optimizing` then folds the checks into the driver's functions.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { X64_KERNEL_VA_BASE } from '../../model/builds.js';
import { KERNEL_STACK_SIZE } from '../../model/ke/kernel-stack.js';
import { cacheGet, cachePut } from './cache.js';
import { STACK_TOP, toolVersion } from './compile.js';
import { DYNAMIC_EXPORT_PREFIX, DYNAMIC_IMPORT_PREFIX, DYNAMIC_ROUTINES } from './dynamic-routines.js';
import { frameLayouts, type FrameLayout } from './frames.js';
import { CODE_SECTIONS_SECTION, decodeCodeSections } from './code-sections.js';
import { encodeInlineChains, INLINE_SECTION } from './inline-frames.js';
import { customSections, withoutDebugSections } from './module-info.js';
import { annotateMemoryChecks, annotateSourceLines, sitesJson, SITES_SECTION, SOURCE_MAP_SECTION, withCustomSection } from './source-lines.js';

export interface InstrumentOptions {
  /** Check every load and store against the kernel's memory map (the verifier). */
  readonly memory: boolean;
  /** Count the driver's work (loop iterations and calls) against a per-routine budget (the watchdog). */
  readonly budget?: boolean;
  /**
   * An x64 driver (a wasm64 module): every address is translated — below `imageEnd` (the driver's own stack and
   * data) it is the offset, above it the kernel's canonical address minus X64_KERNEL_VA_BASE — and bounds-checked,
   * then the module's 64-bit memory and table are lowered to the kernel's 32-bit ones. Always with the memory
   * checks (without them no address could be translated); the verifier being off changes what the kernel decides.
   */
  readonly x64?: { readonly imageEnd: number };
  /**
   * Several CPUs (docs/concurrency.md): binaryen's `asyncify` pass, run last, lets the kernel suspend the driver at
   * any call into the kernel — every DDI and the slow path of the memory check — and resume it later on its own
   * stack, so simulated threads of execution interleave inside the driver's code.
   */
  readonly fibers?: boolean;
}

/** X64_KERNEL_VA_BASE as the CPU sees it (sign-extended from bit 47). */
export const X64_KERNEL_VA_CANONICAL = BigInt(X64_KERNEL_VA_BASE) | 0xffff_0000_0000_0000n;

/** The exported global the loader fills with a routine's budget before calling it. */
export const BUDGET_GLOBAL = 'psh_budget';

/**
 * The exported global holding the lowest stack pointer the running thread's kernel stack allows (the loader sets it
 * for each CPU's slice); a function whose frame takes the stack pointer below it calls `psharness.stack_overflow`.
 */
export const STACK_LIMIT_GLOBAL = 'psh_stack_limit';

/** The custom section the instrumented module carries: where the image's sections lie. */
export const LAYOUT_SECTION = 'psharness.layout';

export interface ImageLayout {
  /** [start, end) of .rodata, when the module has one. */
  readonly rodata: readonly [number, number] | null;
  readonly instrumented: readonly string[];
  /** The local buffer each /GS-guarded function keeps right below its cookie, by function (DWARF; absent without it). */
  readonly gsBuffers?: Readonly<Record<string, string>>;
}

/** Names of the functions the pass adds: skipped when naming the driver function that faulted. */
export const CHECK_FUNCTIONS: readonly string[] = [
  'load_ptr', 'store_ptr', 'load_val_i32', 'load_val_i64', 'load_val_f32', 'load_val_f64',
  'store_val_i32', 'store_val_i64', 'store_val_f32', 'store_val_f64', 'memory_grow_pre', 'memory_grow_post',
];

// binaryen's module type is large and untyped where it matters here; these are the calls we use.
/* eslint-disable @typescript-eslint/no-explicit-any */
type Binaryen = any; // reason: binaryen.js ships loose typings for its expression builders

let binaryenPromise: Promise<Binaryen> | null = null;

async function loadBinaryen(): Promise<Binaryen> {
  binaryenPromise ??= import('binaryen').then((m) => (m as { default: Binaryen }).default);
  return binaryenPromise;
}

/** Starts loading binaryen (~0.4 s, on this thread). */
export async function preloadBinaryen(): Promise<void> {
  await loadBinaryen();
}

/**
 * A worker thread that instruments modules while this thread goes on (compiling the next target). Modules are
 * instrumented in the order sent; the bytes are those `instrumentDriver` gives here (same passes, same cache).
 */
export class InstrumentWorker {
  private readonly worker: Worker;
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (r: InstrumentedModule) => void; reject: (e: Error) => void }>();

  private constructor(script: string) {
    this.worker = new Worker(script);
    this.worker.on('message', (m: { id: number; wasm?: Uint8Array; cached?: boolean; warning?: string; error?: string }) => {
      const w = this.waiting.get(m.id);
      if (w === undefined) return;
      this.waiting.delete(m.id);
      if (m.error !== undefined || m.wasm === undefined) w.reject(new Error(m.error ?? 'the instrumentation worker sent no module'));
      else w.resolve({ wasm: m.wasm, cached: m.cached === true, ...(m.warning !== undefined ? { warning: m.warning } : {}) });
    });
    this.worker.on('error', (e) => this.failAll(e));
    this.worker.on('exit', () => this.failAll(new Error('the instrumentation worker exited')));
  }

  /** A worker, or null where its script is not built (running from sources without dist/): instrument inline then. */
  static start(): InstrumentWorker | null {
    const here = fileURLToPath(new URL('.', import.meta.url));
    for (const p of [`${here}instrument-worker.js`, `${here}../../../dist/driver/wasm/instrument-worker.js`]) {
      if (existsSync(p)) return new InstrumentWorker(p);
    }
    return null;
  }

  instrument(wasm: Uint8Array, options: InstrumentOptions): Promise<InstrumentedModule> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, wasm, options });
    });
  }

  close(): void {
    void this.worker.terminate();
  }

  private failAll(e: Error): void {
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }
}

export interface InstrumentedModule {
  readonly wasm: Uint8Array;
  readonly cached: boolean;
  /** Set when the cache could not be written. */
  readonly warning?: string;
}

/** Instruments `wasm` (cached by content hash). With every pass off, returns it unchanged. */
export async function instrumentDriver(wasm: Uint8Array, options: InstrumentOptions): Promise<InstrumentedModule> {
  if (!options.memory && options.budget !== true && options.x64 === undefined) return { wasm, cached: true };
  const key = createHash('sha256').update(wasm).update(JSON.stringify({ options, kva: X64_KERNEL_VA_BASE, binaryen: toolVersion('binaryen'), v: 13 })).digest('hex');
  const hit = cacheGet(`${key}.instrumented.wasm`);
  if (hit !== undefined) return { wasm: hit, cached: true };
  const out = await runPasses(wasm, options);
  const warning = cachePut(`${key}.instrumented.wasm`, out);
  return { wasm: out, cached: false, ...(warning !== undefined ? { warning } : {}) };
}

async function runPasses(wasm: Uint8Array, options: InstrumentOptions): Promise<Uint8Array> {
  const b = await loadBinaryen();
  b.setDebugInfo(true); // keep the name section: reports name the faulting function
  b.setOptimizeLevel(2);
  b.setShrinkLevel(0);
  // the checks are ~40 instructions (~80 with the x64 translation): inline them everywhere
  b.setAlwaysInlineMaxSize(options.x64 !== undefined ? 128 : 64);
  b.setFlexibleInlineMaxSize(options.x64 !== undefined ? 128 : 64);
  // the frames DWARF describes (a C driver is built with -g): where /GS padding lies. binaryen reads the module
  // without its DWARF, which it would otherwise parse and carry through every pass
  const sections = customSections(wasm);
  const layouts = frameLayouts(sections);
  const placed = decodeCodeSections(sections.get(CODE_SECTIONS_SECTION));
  const m = b.readBinary(withoutDebugSections(wasm));
  try {
    // Features as the module declares them: Features.All would emit encodings Node 20 rejects (research addendum).
    // Mutable globals too (the budget and stack-limit exports; clang's modules declare it, a hand-built one may not)
    m.setFeatures((m.getFeatures() | b.Features.MutableGlobals) & ~(b.Features.CompactImports ?? 0));
    // source lines, carried through every pass as debug locations (source-lines.ts), before any pass moves code
    const lines = annotateSourceLines(b, m, wasm);
    // the driver's own functions stay as clang left them (the checks added below are inlined into them): a fault's
    // stack shows the driver's frames, as its debug build would
    b.setPassArgument('no-inline', '*');
    try {
      m.runPasses(['no-inline']);
    } finally {
      b.setPassArgument('no-inline', null);
    }
    if (placed.length > 0) codeSectionChecks(b, m, placed.map(([name]) => name));
    let rodata: [number, number] | null = null;
    for (let i = 0; i < m.getNumDataSegments(); i++) {
      const s = m.getDataSegmentInfo(m.getDataSegmentByIndex(i));
      if (s.name === '.rodata' && !s.passive && typeof s.offset === 'number') rodata = [s.offset, s.offset + s.data.byteLength];
    }
    const passes: string[] = [];
    const gsBuffers = layouts.size > 0 ? gsPadding(b, m, layouts, options.x64 !== undefined) : {};
    if (options.x64 !== undefined) {
      m.runPasses(['instrument-memory']);
      annotateMemoryChecks(b, m, lines);
      defineChecks64(b, m, options.x64.imageEnd);
      passes.push('memory', 'x64');
    } else if (options.memory) {
      m.runPasses(['instrument-memory']);
      annotateMemoryChecks(b, m, lines);
      defineChecks(b, m);
      passes.push('memory');
    }
    if (options.budget === true) {
      countWork(b, m, stackCheck(b, m, options));
      passes.push('budget');
    }
    if (options.x64 !== undefined) {
      // Node 20 runs 32-bit memories and tables only (memory64 is behind a flag, table64 absent): every address
      // is already translated to a 32-bit offset, so the lowering's wrap loses nothing
      m.runPasses(['memory64-lowering', 'table64-lowering']);
      m.setFeatures(m.getFeatures() & ~b.Features.Memory64);
    }
    m.runPasses(['inlining-optimizing']);
    if (options.fibers === true) {
      dynamicRoutineExports(b, m, options.x64 !== undefined);
      // every import may suspend (the DDIs are scheduling points); a suspension deeper than the data buffer is a
      // trap the loader reports
      m.runPasses(['asyncify']);
      passes.push('fibers');
    }
    const layout: ImageLayout = { rodata, instrumented: passes, gsBuffers };
    m.addCustomSection(LAYOUT_SECTION, new TextEncoder().encode(JSON.stringify(layout)));
    if (!m.validate()) throw new Error('binaryen produced an invalid module');
    if (lines.matched === 0) return m.emitBinary() as Uint8Array;
    const { binary, sourceMap } = m.emitBinary(SOURCE_MAP_SECTION) as { binary: Uint8Array; sourceMap: string | null };
    const mapped = sourceMap === null ? binary : withCustomSection(binary, SOURCE_MAP_SECTION, new TextEncoder().encode(sourceMap));
    const inlined = lines.chains.length === 0 ? mapped : withCustomSection(mapped, INLINE_SECTION, encodeInlineChains(lines.chains));
    return lines.sites.size === 0 ? inlined : withCustomSection(inlined, SITES_SECTION, new TextEncoder().encode(sitesJson(lines)));
  } finally {
    m.dispose();
  }
}

/** The import a function in a PAGE or INIT section calls with its index in the image's list (code-sections.ts). */
export const CODE_SECTION_IMPORT = 'code_section';

/**
 * Each function the image's list places in a PAGE or INIT section tells the kernel, at its entry and before each call
 * it makes, that its code runs now (the kernel knows the IRQL and whether INIT was freed). Before each call: that is
 * where a paged routine that raised the IRQL (KeAcquireSpinLock) next runs at DISPATCH_LEVEL, as Driver Verifier's
 * Force IRQL Checking trims the pages at the raise. Run before the other passes, so the calls are the driver's own.
 */
function codeSectionChecks(b: Binaryen, m: Binaryen, names: readonly string[]): void {
  const { i32, none } = b;
  m.addFunctionImport(`psharness_${CODE_SECTION_IMPORT}`, 'psharness', CODE_SECTION_IMPORT, i32, none);
  const index = new Map<string, number>();
  names.forEach((n, k) => { if (!index.has(n)) index.set(n, k); });
  const fields = childFields(b);
  for (let i = 0; i < m.getNumFunctions(); i++) {
    const f = m.getFunctionByIndex(i);
    const fi = b.getFunctionInfo(f);
    const k = index.get(fi.name);
    if (k === undefined || (fi.module ?? '') !== '') continue;
    const hook = (): number => m.call(`psharness_${CODE_SECTION_IMPORT}`, [m.i32.const(k)], none);
    const calls: [number, (n: number) => void][] = [];
    const walk = (e: number, set: (n: number) => void): void => {
      const slots = childSlots(b, fields, e);
      if (slots === undefined) throw new Error(`the code-section pass meets an expression kind it does not know (id ${b.getExpressionId(e)})`);
      for (const [c, setC] of slots) walk(c, setC);
      const id = b.getExpressionId(e);
      if (id === b.CallId || id === b.CallIndirectId) calls.push([e, set]);
    };
    let body = fi.body as number;
    walk(body, (n) => { body = n; });
    for (const [e, set] of calls) set(m.block(null, [hook(), e], b.getExpressionType(e)));
    b.Function.setBody(f, m.block(null, [hook(), body], fi.results));
  }
}

/** An exported function per dynamic routine that calls its import: what MmGetSystemRoutineAddress hands out. */
function dynamicRoutineExports(b: Binaryen, m: Binaryen, x64: boolean): void {
  const type = (letter: string): number => (letter === 'p' && x64 ? b.i64 : b.i32);
  for (const [name, sig] of DYNAMIC_ROUTINES) {
    const [params, result] = sig.split('>');
    const types = [...params].map(type);
    m.addFunctionImport(`psh_${DYNAMIC_IMPORT_PREFIX}${name}`, 'psharness', `${DYNAMIC_IMPORT_PREFIX}${name}`, b.createType(types), type(result));
    m.addFunction(`${DYNAMIC_EXPORT_PREFIX}${name}`, b.createType(types), type(result), [],
      m.call(`psh_${DYNAMIC_IMPORT_PREFIX}${name}`, types.map((t, i) => m.local.get(i, t)), type(result)));
    m.addFunctionExport(`${DYNAMIC_EXPORT_PREFIX}${name}`, `${DYNAMIC_EXPORT_PREFIX}${name}`);
  }
}

/** Replaces the pass's imported hooks with inline shadow checks and one import for the slow path. */
function defineChecks(b: Binaryen, m: Binaryen): void {
  const { i32, none } = b;
  for (const name of CHECK_FUNCTIONS) if (m.getFunction(name) !== 0) m.removeFunction(name);
  // the access's site (instrument-memory's id) goes with it: a race names both accesses' source lines
  m.addFunctionImport('psharness_access', 'psharness', 'access', b.createType([i32, i32, i32, i32]), none);
  m.addFunctionImport('psharness_memory_grow', 'psharness', 'memory_grow', b.createType([i32]), i32);
  const check = (name: string, bit: number): void => {
    // params: 0 id, 1 bytes, 2 offset, 3 ptr; locals: 4 ea, 5 half
    const ea = () => m.local.get(4, i32);
    const half = () => m.local.get(5, i32);
    const bytes = () => m.local.get(1, i32);
    const slow = () => m.call('psharness_access', [ea(), bytes(), m.i32.const(bit === 1 ? 1 : 0), m.local.get(0, i32)], none);
    m.addFunction(name, b.createType([i32, i32, i32, i32]), i32, [i32, i32], m.block(null, [
      m.local.set(4, m.i32.add(m.local.get(3, i32), m.local.get(2, i32))),
      m.local.set(5, m.i32.shl(m.memory.size(), m.i32.const(15))),
      m.if(
        m.i32.gt_u(m.i32.add(ea(), bytes()), half()),
        slow(),
        m.if(
          m.i32.and(
            m.i32.or(
              m.i32.load8_u(0, 0, m.i32.add(half(), ea())),
              m.i32.load8_u(0, 0, m.i32.add(half(), m.i32.sub(m.i32.add(ea(), bytes()), m.i32.const(1))))),
            m.i32.const(bit)),
          slow()),
      ),
      m.local.get(3, i32),
    ], i32));
  };
  check('load_ptr', 2);
  check('store_ptr', 1);
  defineValueHooks(b, m, i32);
}

/**
 * The hooks the pass also routes through that need no check: loaded and stored values pass unchanged, and growing
 * the memory — the kernel's, not the driver's — is refused by the host (a bug check). `address`: the memory's
 * index type (i32, or i64 before an x64 image is lowered).
 */
function defineValueHooks(b: Binaryen, m: Binaryen, address: number): void {
  const { i32, i64, f32, f64 } = b;
  for (const [t, suffix] of [[i32, 'i32'], [i64, 'i64'], [f32, 'f32'], [f64, 'f64']] as const) {
    m.addFunction(`load_val_${suffix}`, b.createType([i32, t]), t, [], m.local.get(1, t));
    m.addFunction(`store_val_${suffix}`, b.createType([i32, t]), t, [], m.local.get(1, t));
  }
  m.addFunction('memory_grow_pre', b.createType([i32, address]), address, [], m.call('psharness_memory_grow', [m.local.get(1, address)], address));
  m.addFunction('memory_grow_post', b.createType([i32, address]), address, [], m.local.get(1, address));
}

/**
 * The x64 hooks: translate the driver's 64-bit address to the memory offset, check it as the x86 hooks do, and hand
 * the load or store the translated pointer. The slow path receives the address the driver used.
 *
 *     ea = ptr + offset; delta = ea <u imageEnd ? 0 : KVA; t = ea - delta
 *     if (t + bytes >u half || (delta != 0 && t <u imageEnd) || (shadow[t] | shadow[t + bytes - 1]) & bit) access(ea, ...)
 *     return ptr - delta
 */
function defineChecks64(b: Binaryen, m: Binaryen, imageEnd: number): void {
  const { i32, i64, none } = b;
  for (const name of CHECK_FUNCTIONS) if (m.getFunction(name) !== 0) m.removeFunction(name);
  m.addFunctionImport('psharness_access', 'psharness', 'access', b.createType([i64, i32, i32, i32]), none);
  m.addFunctionImport('psharness_memory_grow', 'psharness', 'memory_grow', b.createType([i64]), i64);
  const kva = X64_KERNEL_VA_CANONICAL;
  const k64 = (v: bigint) => m.i64.const(BigInt.asIntN(64, v));
  const check = (name: string, bit: number): void => {
    // params: 0 id, 1 bytes, 2 offset (i64), 3 ptr (i64); locals: 4 ea, 5 delta, 6 t, 7 half
    const ea = () => m.local.get(4, i64);
    const delta = () => m.local.get(5, i64);
    const t = () => m.local.get(6, i64);
    const half = () => m.local.get(7, i64);
    const bytes64 = () => m.i64.extend_u(m.local.get(1, i32));
    const slow = () => m.call('psharness_access', [ea(), m.local.get(1, i32), m.i32.const(bit === 1 ? 1 : 0), m.local.get(0, i32)], none);
    const shadow = (at: number) => m.i32.load8_u(0, 0, at);
    m.addFunction(name, b.createType([i32, i32, i64, i64]), i64, [i64, i64, i64, i64], m.block(null, [
      m.local.set(4, m.i64.add(m.local.get(3, i64), m.local.get(2, i64))),
      m.local.set(5, m.select(m.i64.lt_u(ea(), k64(BigInt(imageEnd))), k64(0n), k64(kva), i64)),
      m.local.set(6, m.i64.sub(ea(), delta())),
      m.local.set(7, m.i64.shl(m.memory.size(undefined, true), k64(15n))),
      m.if(
        m.i32.or(
          m.i64.gt_u(m.i64.add(t(), bytes64()), half()),
          m.i32.and(m.i64.ne(delta(), k64(0n)), m.i64.lt_u(t(), k64(BigInt(imageEnd))))),
        slow(),
        m.if(
          m.i32.and(
            m.i32.or(
              shadow(m.i64.add(half(), t())),
              shadow(m.i64.add(half(), m.i64.sub(m.i64.add(t(), bytes64()), k64(1n))))),
            m.i32.const(bit)),
          slow()),
      ),
      m.i64.sub(m.local.get(3, i64), delta()),
    ], i64));
  };
  check('load_ptr', 2);
  check('store_ptr', 1);
  defineValueHooks(b, m, i64);
}

/** The bytes /GS padding holds (MSVC's default cookie, little-endian, repeated): what an overrun must change. */
const GS_PADDING_BYTES = [0x4e, 0xe6, 0x40, 0xbb];

/**
 * /GS as MSVC lays it out: the security cookie right after the frame's last buffer. clang for WebAssembly aligns a
 * 16-byte array to 16 and puts its cookie at the top of the frame, up to 12 bytes (x86; 8 on x64) above the array's
 * end, where an overrun changes nothing clang checks: 24 characters into a 16-byte local passed. For each function
 * with a cookie (its prologue stores __stack_chk_guard at frame+G), the bytes between the end of the highest buffer
 * (DWARF: `frames.ts`) and G are filled with GS_PADDING_BYTES after that store; where the epilogue reads the cookie
 * back, it reads 0 instead when any of them changed, so clang's own check calls __stack_chk_fail: bug check 0xF7 on
 * return, as on Windows. Returns each guarded function's buffer below its cookie, by function name (for the report).
 */
function gsPadding(b: Binaryen, m: Binaryen, layouts: ReadonlyMap<string, FrameLayout>, wide: boolean): Record<string, string> {
  const { i32 } = b;
  const fields = childFields(b);
  const buffers: Record<string, string> = {};
  for (let i = 0; i < m.getNumFunctions(); i++) {
    const f = m.getFunctionByIndex(i);
    const fi = b.getFunctionInfo(f);
    const layout = layouts.get(fi.name);
    if ((fi.module ?? '') !== '' || layout === undefined || layout.arrays.length === 0) continue;
    const frame = layout.frameLocal;
    const frameType = wide ? b.i64 : i32;
    const isFrame = (e: number): boolean => e !== 0 && b.getExpressionId(e) === b.LocalGetId && (b.getExpressionInfo(e) as { index: number }).index === frame;
    // every expression with the setter that replaces it in its parent
    const all: { e: number; id: number; set: (n: number) => void }[] = [];
    const walk = (e: number, set: (n: number) => void): void => {
      if (e === 0) return;
      const id = b.getExpressionId(e);
      all.push({ e, id, set });
      const names = fields.get(id) ?? [];
      if (names.length === 0) return;
      const info = b.getExpressionInfo(e) as Record<string, unknown>;
      for (const name of names) {
        const v = info[name];
        if (Array.isArray(v)) (v as number[]).forEach((c, k) => walk(c, (n) => setChild(b, e, id, name, k, n)));
        else if (typeof v === 'number') walk(v, (n) => setChild(b, e, id, name, -1, n));
      }
    };
    let body = fi.body as number;
    walk(body, (n) => { body = n; });
    // the prologue's store of the cookie: frame+G <- load(__stack_chk_guard), a constant address
    const store = all.find(({ e, id }) => {
      if (id !== b.StoreId) return false;
      const st = b.getExpressionInfo(e) as { ptr: number; value: number };
      if (!isFrame(st.ptr) || b.getExpressionId(st.value) !== b.LoadId) return false;
      return b.getExpressionId((b.getExpressionInfo(st.value) as { ptr: number }).ptr) === b.ConstId;
    });
    if (store === undefined) continue;
    const cookie = b.getExpressionInfo(store.e) as { offset: number; bytes: number };
    const below = layout.arrays.filter((a) => a.offset + a.size <= cookie.offset);
    if (below.length === 0) continue;
    const end = Math.max(...below.map((a) => a.offset + a.size));
    const top = below.find((a) => a.offset + a.size === end);
    if (top !== undefined) buffers[fi.name] = top.name;
    const pad = cookie.offset - end;
    if (pad <= 0 || pad >= 16) continue;
    const reads = all.filter(({ e, id }) => {
      if (id !== b.LoadId || e === (b.getExpressionInfo(store.e) as { value: number }).value) return false;
      const ld = b.getExpressionInfo(e) as { ptr: number; offset: number; bytes: number };
      return isFrame(ld.ptr) && ld.offset === cookie.offset && ld.bytes === cookie.bytes;
    });
    if (reads.length === 0) continue;
    const at = (k: number): number => end + k;
    const fill = Array.from({ length: pad }, (_, k) => m.i32.store8(at(k), 1, m.local.get(frame, frameType), m.i32.const(GS_PADDING_BYTES[k % 4])));
    store.set(m.block(null, [store.e, ...fill], b.none));
    for (const r of reads) {
      const type = b.getExpressionType(r.e);
      let intact = m.i32.const(1);
      for (let k = 0; k < pad; k++) {
        intact = m.i32.and(intact, m.i32.eq(m.i32.load8_u(at(k), 1, m.local.get(frame, frameType)), m.i32.const(GS_PADDING_BYTES[k % 4])));
      }
      r.set(m.if(intact, r.e, type === b.i64 ? m.i64.const(0n) : m.i32.const(0)));
    }
    b.Function.setBody(f, body);
  }
  return buffers;
}

/** Replaces the child `field` (`index` in a list) of expression `e` (kind `id`) with `n`. */
function setChild(b: Binaryen, e: number, id: number, field: string, index: number, n: number): void {
  const setters: Record<number, Record<string, (e: number, n: number) => void>> = {
    [b.BlockId]: { children: (x, v) => b.Block.setChildAt(x, index, v) },
    [b.IfId]: { condition: b.If.setCondition, ifTrue: b.If.setIfTrue, ifFalse: b.If.setIfFalse },
    [b.LoopId]: { body: b.Loop.setBody },
    [b.BreakId]: { condition: b.Break.setCondition, value: b.Break.setValue },
    [b.SwitchId]: { condition: b.Switch.setCondition, value: b.Switch.setValue },
    [b.CallId]: { operands: (x, v) => b.Call.setOperandAt(x, index, v) },
    [b.CallIndirectId]: { target: b.CallIndirect.setTarget, operands: (x, v) => b.CallIndirect.setOperandAt(x, index, v) },
    [b.LocalSetId]: { value: b.LocalSet.setValue },
    [b.GlobalSetId]: { value: b.GlobalSet.setValue },
    [b.LoadId]: { ptr: b.Load.setPtr },
    [b.StoreId]: { ptr: b.Store.setPtr, value: b.Store.setValue },
    [b.UnaryId]: { value: b.Unary.setValue },
    [b.BinaryId]: { left: b.Binary.setLeft, right: b.Binary.setRight },
    [b.SelectId]: { ifTrue: b.Select.setIfTrue, ifFalse: b.Select.setIfFalse, condition: b.Select.setCondition },
    [b.DropId]: { value: b.Drop.setValue },
    [b.ReturnId]: { value: b.Return.setValue },
  };
  const set = setters[id]?.[field];
  if (set === undefined) throw new Error(`cannot replace the ${field} of an expression of kind ${id}`);
  set(e, n);
}

/**
 * The children of `e`, each with the setter that replaces it in `e`; undefined for an expression kind `fields` does not
 * know (each pass decides what that means).
 */
function childSlots(b: Binaryen, fields: ReadonlyMap<number, readonly string[]>, e: number): [number, (n: number) => void][] | undefined {
  const id = b.getExpressionId(e);
  const names = fields.get(id);
  if (names === undefined) return undefined;
  const out: [number, (n: number) => void][] = [];
  if (names.length === 0) return out;
  const info = b.getExpressionInfo(e) as Record<string, unknown>;
  for (const f of names) {
    const v = info[f];
    if (Array.isArray(v)) (v as number[]).forEach((c, k) => out.push([c, (n) => setChild(b, e, id, f, k, n)]));
    else if (typeof v === 'number' && v !== 0) out.push([v, (n) => setChild(b, e, id, f, -1, n)]);
  }
  return out;
}

/** Child expressions of each expression kind the C pipeline produces (binaryen's getExpressionInfo field names). */
function childFields(b: Binaryen): Map<number, readonly string[]> {
  return new Map<number, readonly string[]>([
    [b.BlockId, ['children']], [b.IfId, ['condition', 'ifTrue', 'ifFalse']], [b.LoopId, ['body']],
    [b.BreakId, ['condition', 'value']], [b.SwitchId, ['condition', 'value']], [b.CallId, ['operands']],
    [b.CallIndirectId, ['target', 'operands']], [b.LocalSetId, ['value']], [b.GlobalSetId, ['value']],
    [b.LoadId, ['ptr']], [b.StoreId, ['ptr', 'value']], [b.UnaryId, ['value']], [b.BinaryId, ['left', 'right']],
    [b.SelectId, ['ifTrue', 'ifFalse', 'condition']], [b.DropId, ['value']], [b.ReturnId, ['value']],
    [b.MemoryGrowId, ['delta']], [b.MemoryFillId, ['dest', 'value', 'size']], [b.MemoryCopyId, ['dest', 'source', 'size']],
    [b.AtomicRMWId, ['ptr', 'value']], [b.AtomicCmpxchgId, ['ptr', 'expected', 'replacement']],
    [b.ConstId, []], [b.LocalGetId, []], [b.GlobalGetId, []], [b.NopId, []], [b.UnreachableId, []], [b.MemorySizeId, []],
  ]);
}

/** Where the stack-pointer check goes: the module's stack pointer, when the image has the psharness stack layout. */
interface StackCheck {
  readonly global: string;
  readonly type: number;
}

/**
 * The kernel stack's bound (docs/verifier.md, `stack-overflow`): every store to `__stack_pointer` — a function's
 * prologue taking its frame, or its epilogue giving it back — is followed by a test that the pointer lies within
 * [psh_stack_limit, STACK_TOP]; a frame past the limit (or one so large the pointer wraps) calls the kernel. Only for
 * a module linked with the psharness layout (its stack pointer starts at STACK_TOP): of another, the stack is unknown.
 */
function stackCheck(b: Binaryen, m: Binaryen, options: InstrumentOptions): StackCheck | null {
  let internal: string | null = null;
  for (let i = 0; i < m.getNumExports(); i++) {
    const e = b.getExportInfo(m.getExportByIndex(i)) as { kind: number; name: string; value: string };
    if (e.kind === b.ExternalGlobal && e.name === '__stack_pointer') internal = e.value;
  }
  if (internal === null) return null;
  const g = b.getGlobalInfo(m.getGlobal(internal)) as { type: number; init: number; module: string | null };
  if ((g.module ?? '') !== '' || b.getExpressionId(g.init) !== b.ConstId) return null;
  // an i64 constant comes as a bigint
  const init = (b.getExpressionInfo(g.init) as { value: number | bigint }).value;
  if (BigInt(init) !== BigInt(STACK_TOP)) return null;
  const limit = STACK_TOP - KERNEL_STACK_SIZE[options.x64 !== undefined ? 'x64' : 'x86'];
  m.addGlobal(STACK_LIMIT_GLOBAL, b.i32, true, m.i32.const(limit));
  m.addGlobalExport(STACK_LIMIT_GLOBAL, STACK_LIMIT_GLOBAL);
  m.addFunctionImport('psharness_stack_overflow', 'psharness', 'stack_overflow', g.type, b.none);
  return { global: internal, type: g.type };
}

/** `global.set __stack_pointer` followed by the test of the new value against the kernel stack's bounds. */
function checkedStackStore(b: Binaryen, m: Binaryen, set: number, c: StackCheck): number {
  const wide = c.type === b.i64;
  const sp = () => m.global.get(c.global, c.type);
  const limit = () => m.global.get(STACK_LIMIT_GLOBAL, b.i32);
  const outside = wide
    ? m.i32.or(m.i64.lt_u(sp(), m.i64.extend_u(limit())), m.i64.gt_u(sp(), m.i64.const(BigInt(STACK_TOP))))
    : m.i32.or(m.i32.lt_u(sp(), limit()), m.i32.gt_u(sp(), m.i32.const(STACK_TOP)));
  return m.block(null, [set, m.if(outside, m.call('psharness_stack_overflow', [sp()], b.none))], b.none);
}

/**
 * The watchdog pass: a global budget, decremented at the top of every loop body and at every function entry;
 * below zero the driver calls `psharness.budget_exceeded` (the kernel decides: 0x133 at DISPATCH_LEVEL, a hang
 * below). The loader refills the budget before each routine it calls, so the count is the routine's own work,
 * the same on every run.
 */
function countWork(b: Binaryen, m: Binaryen, stack: StackCheck | null): void {
  const { i32, none } = b;
  m.addGlobal(BUDGET_GLOBAL, i32, true, m.i32.const(0));
  m.addGlobalExport(BUDGET_GLOBAL, BUDGET_GLOBAL);
  m.addFunctionImport('psharness_budget_exceeded', 'psharness', 'budget_exceeded', none, none);
  const tick = () => m.block(null, [
    m.global.set(BUDGET_GLOBAL, m.i32.sub(m.global.get(BUDGET_GLOBAL, i32), m.i32.const(1))),
    m.if(m.i32.lt_s(m.global.get(BUDGET_GLOBAL, i32), m.i32.const(0)), m.call('psharness_budget_exceeded', [], none)),
  ], none);
  const fields = childFields(b);
  const skip = new Set(CHECK_FUNCTIONS);
  let function_ = '';
  const visit = (e: number): void => {
    if (e === 0) return;
    const id = b.getExpressionId(e);
    // the driver's memory is the kernel's address space, which no driver grows: grown under the kernel it would
    // detach every view of it (a module built by hand, or __builtin_wasm_memory_grow). Refused at load, verifier on or off.
    if (id === b.MemoryGrowId) throw new Error(`the module executes memory.grow (in ${function_}): a driver's memory is the kernel's address space, which a driver never grows; allocate pool (ExAllocatePool2)`);
    const names = fields.get(id);
    if (names === undefined) throw new Error(`the watchdog pass meets an expression kind it does not know (id ${id})`);
    if (names.length === 0) return;
    const info = b.getExpressionInfo(e) as Record<string, unknown>;
    for (const f of names) {
      const v = info[f];
      if (Array.isArray(v)) for (const c of v as number[]) visit(c);
      else if (typeof v === 'number') visit(v);
    }
    if (id === b.LoopId) {
      const body = info.body as number;
      b.Loop.setBody(e, m.block(null, [tick(), body], b.getExpressionType(body)));
    }
  };
  /** The stores to the stack pointer, each replaced by its checked form once the walk is done. */
  const stackStores = (e: number, parent: { set: (c: number) => void } | null, out: [number, (c: number) => void][]): void => {
    if (stack === null) return;
    const id = b.getExpressionId(e);
    if (id === b.GlobalSetId && (b.getExpressionInfo(e) as { name: string }).name === stack.global && parent !== null) {
      out.push([e, parent.set]);
      return;
    }
    for (const [c, set] of childSlots(b, fields, e) ?? []) stackStores(c, { set }, out);
  };
  for (let i = 0; i < m.getNumFunctions(); i++) {
    const f = m.getFunctionByIndex(i);
    const fi = b.getFunctionInfo(f);
    // imports, the verifier's own checks, and wasm-ld's zeroing of .bss (the start function: it runs at instantiation,
    // before any budget is set, and is the loader's work, not the driver's)
    if ((fi.module ?? '') !== '' || skip.has(fi.name) || fi.name === '__wasm_init_memory') continue;
    function_ = fi.name;
    visit(fi.body);
    const stores: [number, (c: number) => void][] = [];
    let body = fi.body as number;
    stackStores(body, { set: (n) => { body = n; } }, stores);
    for (const [e, set] of stores) set(checkedStackStore(b, m, e, stack as StackCheck));
    b.Function.setBody(f, m.block(null, [tick(), body], fi.results));
  }
}
