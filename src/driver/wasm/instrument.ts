/**
 * The instrumentation stage of the C-driver pipeline (compile → instrument → cache → load): binaryen passes over
 * the compiled module, each switchable, the result cached by content hash beside the compiled module.
 *
 * `memory` (the verifier's memory checks): binaryen's `instrument-memory` pass routes every load and store
 * through `load_ptr(id, bytes, offset, ptr)` / `store_ptr(...)`; we define those inside the module instead of
 * importing them, as an inline shadow check (AddressSanitizer's design): the kernel's address space is the lower
 * half of the memory and its shadow the upper half (src/model/memory.ts), so the check is
 *
 *     ea = ptr + offset; half = memory.size << 15
 *     if (ea + bytes > half || ((shadow[ea] | shadow[ea + bytes - 1]) & (store ? 1 : 0b10))) psharness.access(...)
 *
 * and only a flagged byte costs a call into the kernel, which decides (bug check, corruption report, uninitialised
 * pool tracking). `inlining-optimizing` then folds the checks into the driver's functions.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, toolVersion } from './compile.js';

export interface InstrumentOptions {
  /** Check every load and store against the kernel's memory map (the verifier). */
  readonly memory: boolean;
}

/** The custom section the instrumented module carries: where the image's sections lie. */
export const LAYOUT_SECTION = 'psharness.layout';

export interface ImageLayout {
  /** [start, end) of .rodata, when the module has one. */
  readonly rodata: readonly [number, number] | null;
  readonly instrumented: readonly string[];
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

export interface InstrumentedModule {
  readonly wasm: Uint8Array;
  readonly cached: boolean;
}

/** Instruments `wasm` (cached by content hash). With every pass off, returns it unchanged. */
export async function instrumentDriver(wasm: Uint8Array, options: InstrumentOptions): Promise<InstrumentedModule> {
  if (!options.memory) return { wasm, cached: true };
  const key = createHash('sha256').update(wasm).update(JSON.stringify({ options, binaryen: toolVersion('binaryen'), v: 1 })).digest('hex');
  const cached = join(cacheDir(), `${key}.instrumented.wasm`);
  if (existsSync(cached)) return { wasm: new Uint8Array(readFileSync(cached)), cached: true };
  const out = await runPasses(wasm, options);
  try {
    mkdirSync(cacheDir(), { recursive: true });
    const tmp = `${cached}.${process.pid}.tmp`;
    writeFileSync(tmp, out);
    renameSync(tmp, cached);
  } catch {
    // an unwritable cache costs time, not correctness
  }
  return { wasm: out, cached: false };
}

async function runPasses(wasm: Uint8Array, options: InstrumentOptions): Promise<Uint8Array> {
  const b = await loadBinaryen();
  b.setDebugInfo(true); // keep the name section: reports name the faulting function
  b.setOptimizeLevel(2);
  b.setShrinkLevel(0);
  b.setAlwaysInlineMaxSize(64); // the checks are ~40 instructions: inline them everywhere
  b.setFlexibleInlineMaxSize(64);
  const m = b.readBinary(wasm);
  try {
    // Features as the module declares them: Features.All would emit encodings Node 20 rejects (research addendum).
    m.setFeatures(m.getFeatures() & ~(b.Features.CompactImports ?? 0));
    let rodata: [number, number] | null = null;
    for (let i = 0; i < m.getNumDataSegments(); i++) {
      const s = m.getDataSegmentInfo(m.getDataSegmentByIndex(i));
      if (s.name === '.rodata' && !s.passive && typeof s.offset === 'number') rodata = [s.offset, s.offset + s.data.byteLength];
    }
    const passes: string[] = [];
    if (options.memory) {
      m.runPasses(['instrument-memory']);
      defineChecks(b, m);
      passes.push('memory');
    }
    m.runPasses(['inlining-optimizing']);
    const layout: ImageLayout = { rodata, instrumented: passes };
    m.addCustomSection(LAYOUT_SECTION, new TextEncoder().encode(JSON.stringify(layout)));
    if (!m.validate()) throw new Error('binaryen produced an invalid module');
    return m.emitBinary() as Uint8Array;
  } finally {
    m.dispose();
  }
}

/** Replaces the pass's imported hooks with inline shadow checks and one import for the slow path. */
function defineChecks(b: Binaryen, m: Binaryen): void {
  const { i32, i64, f32, f64, none } = b;
  for (const name of CHECK_FUNCTIONS) if (m.getFunction(name) !== 0) m.removeFunction(name);
  m.addFunctionImport('psharness_access', 'psharness', 'access', b.createType([i32, i32, i32]), none);
  m.addFunctionImport('psharness_memory_grow', 'psharness', 'memory_grow', b.createType([i32]), i32);
  const check = (name: string, bit: number): void => {
    // params: 0 id, 1 bytes, 2 offset, 3 ptr; locals: 4 ea, 5 half
    const ea = () => m.local.get(4, i32);
    const half = () => m.local.get(5, i32);
    const bytes = () => m.local.get(1, i32);
    const slow = () => m.call('psharness_access', [ea(), bytes(), m.i32.const(bit === 1 ? 1 : 0)], none);
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
  for (const [t, suffix] of [[i32, 'i32'], [i64, 'i64'], [f32, 'f32'], [f64, 'f64']] as const) {
    m.addFunction(`load_val_${suffix}`, b.createType([i32, t]), t, [], m.local.get(1, t));
    m.addFunction(`store_val_${suffix}`, b.createType([i32, t]), t, [], m.local.get(1, t));
  }
  // The kernel's memory is not the driver's to grow: the host refuses (a bug check).
  m.addFunction('memory_grow_pre', b.createType([i32, i32]), i32, [], m.call('psharness_memory_grow', [m.local.get(1, i32)], i32));
  m.addFunction('memory_grow_post', b.createType([i32, i32]), i32, [], m.local.get(1, i32));
}
