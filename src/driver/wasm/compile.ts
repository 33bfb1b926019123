/**
 * Compiling a C driver to WebAssembly with @yowasp/clang (clang + wasm-ld built to WebAssembly, from npm: no
 * native toolchain, no download at run time). Builds are cached by the sha256 of the sources, the shim headers,
 * the flags and the compiler version, under node_modules/.cache/psharness (or $PSHARNESS_CACHE).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { INPUT_LIMITS, readInputText } from '../input-files.js';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheGet, cacheHas, cachePut } from './cache.js';

/**
 * Flags from the feasibility study: freestanding wasm32, 16-bit WCHAR, NULL dereferences trap. Also: no bulk
 * memory (block copies and fills become calls to the kernel's memcpy/memset, which check them), locals the code
 * reads before writing hold a fixed garbage pattern as a real stack would (so an unset pointer faults, the same
 * way every run), the stack is [0, 0x1A000): the NULL page, a guard page, then 96 KB, 24 KB for each of 4 CPUs (docs/verifier.md); and the
 * WDK's default /GS: a security cookie after each local buffer, checked on return (-fstack-protector-strong; the
 * cookie is the shim's __stack_chk_guard, an overrun bug check 0xF7); DWARF 4 for the frame layouts the /GS padding check
 * reads (frames.ts) and the source lines of coverage (dwarf.ts): it changes no code.
 */
export const STACK_TOP = 0x1a000;
export const CLANG_FLAGS: readonly string[] = [
  '--target=wasm32', '-O2', '-ffreestanding', '-nostdlib', '-fshort-wchar',
  '-fsanitize=null', '-fno-sanitize-recover=null', '-fno-ms-extensions', '-mno-bulk-memory', '-mno-bulk-memory-opt', '-ftrivial-auto-var-init=pattern',
  '-fstack-protector-strong', '-g', '-gdwarf-4', '-Wno-multichar', '-Wno-unused-parameter',
  '-Wl,--no-entry', '-Wl,--export=DriverEntry', '-Wl,--import-memory', '-Wl,--export-table', '-Wl,--growable-table',
  '-Wl,--export=__heap_base', '-Wl,--export=__stack_pointer', '-Wl,--stack-first', `-Wl,-z,stack-size=${STACK_TOP}`,
  '-Wl,--allow-undefined',
];

/** The target a C driver is compiled for: x86 (wasm32, ILP32) or x64 (wasm64 with the shim's LLP64 types). */
export type DriverTarget = 'x86' | 'x64';

/**
 * x64: wasm64 (8-byte pointers, SIZE_T, ULONG_PTR, HANDLE) with _WIN64 defined, so the shim headers give LONG and
 * ULONG 4 bytes (LLP64) and the x64 structure layouts. The module's 64-bit memory is lowered to the kernel's 32-bit
 * one by the instrumentation stage, which translates every address (docs/x64.md).
 */
export function clangFlags(target: DriverTarget): readonly string[] {
  return target === 'x86' ? CLANG_FLAGS : ['--target=wasm64', '-D_WIN64', '-D_AMD64_', ...CLANG_FLAGS.slice(1)];
}

export class CompileError extends Error {
  constructor(readonly diagnostics: string, message: string) {
    super(message);
    this.name = 'CompileError';
  }
}

/** The shim headers shipped with psharness (include/ next to dist/ or src/). */
export function includeDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../../include', '../../../../include']) {
    const p = resolve(here, up);
    if (existsSync(join(p, 'ntddk.h'))) return p;
  }
  throw new Error('psharness: the WDK shim headers (include/ntddk.h) are missing from the installation');
}

function readTree(dir: string, filter: (name: string) => boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) if (filter(f) && isRegularFile(join(dir, f))) out[f] = readFileSync(join(dir, f), 'utf8');
  return out;
}

function isRegularFile(path: string): boolean {
  try {
    return statSync(path).isFile(); // a symbolic link to a file is the file (as for the compiler)
  } catch {
    return false;
  }
}

/**
 * The driver's own sources: the .c file and the headers it includes with #include "…" from its directory,
 * transitively — only those, and only regular files (a FIFO or a directory named x.h is never opened).
 */
function driverSources(dir: string, main: string): Record<string, string> {
  const out: Record<string, string> = {};
  const queue = [main];
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (name in out || Object.keys(out).length > 256) continue;
    const path = join(dir, name);
    if (!isRegularFile(path)) continue; // clang names what is missing
    const text = readInputText(path, 'source file', INPUT_LIMITS.source);
    out[name] = text;
    for (const m of text.matchAll(/^\s*#\s*include\s*"([^"/\\]+)"/gm)) queue.push(m[1]);
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** The version of a dependency as package.json pins it (part of every cache key). */
export function toolVersion(name: string): string {
  const pkg = JSON.parse(readFileSync(resolve(dirname(fileURLToPath(import.meta.url)), '../../../package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  return pkg.dependencies?.[name] ?? '?';
}

export { cacheDir } from './cache.js';

type ToolCommand = (args: string[], files: Record<string, unknown>, options: Record<string, unknown>) => Promise<Record<string, unknown>> | Record<string, unknown> | undefined;

interface ClangModule {
  commands: { clang: ToolCommand; 'wasm-ld': ToolCommand };
  runLLVM: (args: null, files: Record<string, unknown>, options: Record<string, unknown>) => unknown;
}

let clang: Promise<ClangModule> | null = null;

async function loadClang(): Promise<ClangModule> {
  clang ??= (async () => {
    const mod = (await import('@yowasp/clang')) as unknown as ClangModule;
    // The first call unpacks the toolchain and reports progress through console.log; do it quietly once.
    await mod.runLLVM(null, {}, { fetchProgress: () => {} });
    return mod;
  })();
  return clang;
}

export interface CompiledDriver {
  readonly wasm: Uint8Array;
  readonly diagnostics: string;
  readonly cached: boolean;
}

function compileInputs(source: string, defines: Readonly<Record<string, string>>, extraFlags: readonly string[], target: DriverTarget): {
  extra: string[]; main: string; sources: Record<string, string>; headers: Record<string, string>; key: string;
} {
  const extra = [...Object.entries(defines).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `-D${k}=${v}`), ...extraFlags];
  const dir = dirname(resolve(source));
  const main = basename(source);
  const sources = driverSources(dir, main);
  const headers = readTree(includeDir(), (f) => f.endsWith('.h'));
  const key = createHash('sha256')
    .update(JSON.stringify({ sources, headers, flags: [...clangFlags(target), ...extra], clang: toolVersion('@yowasp/clang'), pipeline: PIPELINE }))
    .digest('hex');
  return { extra, main, sources, headers, key };
}

/** Whether compiling `source` for `target` would be a cache hit (the loader then needs no instrumentation worker). */
export function isCompiled(source: string, defines: Readonly<Record<string, string>> = {}, extraFlags: readonly string[] = [], target: DriverTarget = 'x86'): boolean {
  return cacheHas(`${compileInputs(source, defines, extraFlags, target).key}.wasm`);
}

/**
 * How a driver is built (part of the cache key): compiled to an object on stdout, then linked by wasm-ld. Not in one
 * clang call: the toolchain's in-memory file system copies a file whole on every write, and a WebAssembly object
 * holds its zero-initialised data as bytes, so a 100 MB `.bss` took minutes to write; stdout arrives in chunks. The
 * link enables bulk memory for one function only: wasm-ld then zeroes `.bss` with a `memory.fill` at instantiation
 * (`__wasm_init_memory`, the start function) rather than writing it out — the memory is the kernel's, imported, so
 * not known to be zero. The driver's own code is still compiled without bulk memory (block copies stay checked calls).
 */
const PIPELINE = 2;

/**
 * What a compile error from the shim's own macros means, in the driver author's words: the x64 DbgPrint macros
 * widen each argument to its 8-byte slot (include/ntddk.h) and count up to 32 of them; past that the expansion names
 * a macro that does not exist (`__PSH_S33`). Windows' DbgPrint has no such limit: the shim's, said here.
 */
function shimLimitHint(diagnostics: string): string {
  return /__PSH_S(?:\d{2,}|[^\w])/.test(diagnostics)
    ? ': DbgPrint, DbgPrintEx and the printf routines take at most 32 arguments after the format in psharness\'s x64 shim (each is widened to its 8-byte slot); split the call'
    : '';
}

/** CLANG_FLAGS split into what the compiler takes and what the linker does (`-Wl,a,b` is `a b`). */
function splitFlags(flags: readonly string[]): { readonly compile: string[]; readonly link: string[] } {
  const compile: string[] = [];
  const link: string[] = [];
  for (const f of flags) {
    if (f.startsWith('-Wl,')) link.push(...f.slice(4).split(','));
    else if (f !== '-nostdlib') compile.push(f);
  }
  return { compile, link };
}

/** Compiles `source` (a .c file; its directory's .c/.h files come along for #include "..."). */
export async function compileDriver(source: string, defines: Readonly<Record<string, string>> = {}, extraFlags: readonly string[] = [], target: DriverTarget = 'x86'): Promise<CompiledDriver> {
  const { extra, main, sources, headers, key } = compileInputs(source, defines, extraFlags, target);
  const hit = cacheGet(`${key}.wasm`);
  if (hit !== undefined) return { wasm: hit, diagnostics: '', cached: true };
  const { commands } = await loadClang();
  let diagnostics = '';
  const decoder = new TextDecoder();
  const options = { stderr: (b: Uint8Array | null) => { if (b !== null) diagnostics += decoder.decode(b); }, fetchProgress: () => {} };
  const { compile, link } = splitFlags(clangFlags(target));
  const chunks: Uint8Array[] = [];
  try {
    await commands.clang([...compile, ...extra, '-Iinclude', '-c', `drv/${main}`, '-o', '-'], { include: headers, drv: sources },
      { ...options, stdout: (b: Uint8Array | null) => { if (b !== null) chunks.push(b.slice()); } });
  } catch (e) {
    const code = (e as { code?: number }).code;
    throw new CompileError(diagnostics.trim(), `${source} does not compile${code !== undefined ? ` (clang exit ${code})` : ''}${shimLimitHint(diagnostics)}`);
  }
  const object = Buffer.concat(chunks);
  let tree: Record<string, unknown> | undefined;
  try {
    tree = (await commands['wasm-ld'](['-m', target === 'x86' ? 'wasm32' : 'wasm64', ...link, '--extra-features=bulk-memory', 'driver.o', '-o', 'driver.wasm'],
      { 'driver.o': new Uint8Array(object.buffer, object.byteOffset, object.byteLength) }, options)) ?? undefined;
  } catch (e) {
    const code = (e as { code?: number }).code;
    throw new CompileError(diagnostics.trim(), `${source} does not link${code !== undefined ? ` (wasm-ld exit ${code})` : ''}`);
  }
  const wasm = tree?.['driver.wasm'];
  if (!(wasm instanceof Uint8Array)) throw new CompileError(diagnostics.trim(), `${source}: the compiler produced no module`);
  const warning = cachePut(`${key}.wasm`, wasm);
  return { wasm, diagnostics: [diagnostics.trim(), warning ?? ''].filter((x) => x !== '').join('\n'), cached: false };
}
