/**
 * Compiling a C driver to WebAssembly with @yowasp/clang (clang + wasm-ld built to WebAssembly, from npm: no
 * native toolchain, no download at run time). Builds are cached by the sha256 of the sources, the shim headers,
 * the flags and the compiler version, under node_modules/.cache/psharness (or $PSHARNESS_CACHE).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { directoryEntries, INPUT_LIMITS, readInputText } from '../input-files.js';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheGet, cacheHas, cachePut } from './cache.js';
import { CODE_SECTIONS_SECTION, encodeCodeSections, mentionsCodeSections, sectionsFromIr, withoutCrossSectionInlining } from './code-sections.js';
import type { DriverTarget, SourceBuild } from './project.js';
import { withCustomSection } from './source-lines.js';

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
  '-fsanitize=null', '-fno-sanitize-recover=null', '-fms-extensions', '-fms-compatibility', '-Wno-error=implicit-function-declaration', '-mno-bulk-memory', '-mno-bulk-memory-opt', '-ftrivial-auto-var-init=pattern',
  '-fstack-protector-strong', '-g', '-gdwarf-4', '-Wno-multichar', '-Wno-unused-parameter',
  '-Wl,--no-entry', '-Wl,--export=DriverEntry', '-Wl,--import-memory', '-Wl,--export-table', '-Wl,--growable-table',
  '-Wl,--export=__heap_base', '-Wl,--export=__stack_pointer', '-Wl,--stack-first', `-Wl,-z,stack-size=${STACK_TOP}`,
  '-Wl,--allow-undefined',
];

export type { DriverTarget } from './project.js';

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

/** The version of a dependency as package.json pins it (part of every cache key). */
export function toolVersion(name: string): string {
  const pkg = JSON.parse(readFileSync(resolve(dirname(fileURLToPath(import.meta.url)), '../../../package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  return pkg.dependencies?.[name] ?? '?';
}

export { cacheDir } from './cache.js';

type ToolCommand = (args: string[], files: Record<string, unknown>, options: Record<string, unknown>) => Promise<Record<string, unknown>> | Record<string, unknown> | undefined;

interface ClangModule {
  commands: { clang: ToolCommand; 'wasm-ld': ToolCommand; 'c++filt': ToolCommand };
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
  /** The directory the module's DWARF file names are relative to (what `drv/` stood for in the compile). */
  readonly root: string;
}

/** The most files (sources and the headers they include) a project's compile reads. */
export const MAX_PROJECT_FILES = 1024;

/** An absolute path as the user would name it: relative to the working directory when it lies inside it. */
export function userPath(abs: string): string {
  const rel = relative(process.cwd(), abs);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
}

function commonAncestor(dirs: readonly string[]): string {
  let base = dirs[0];
  for (const d of dirs.slice(1)) while (base !== dirname(base) && relative(base, d).startsWith('..')) base = dirname(base);
  return base;
}

/**
 * `p` when it is a regular file; else the file of the same name in another case (Windows' file systems ignore case:
 * `#include "Driver.h"` opens `driver.h`), from a bounded listing of its directory.
 */
function findFile(p: string): string | undefined {
  if (isRegularFile(p)) return p;
  const want = basename(p).toLowerCase();
  try {
    const e = directoryEntries(dirname(p), 4096).find((x) => x.name.toLowerCase() === want && isRegularFile(join(dirname(p), x.name)));
    return e === undefined ? undefined : join(dirname(p), e.name);
  } catch {
    return undefined; // no such directory
  }
}

const INCLUDE = /^([ \t]*#[ \t]*include[ \t]*)(["<])([^">\n]+)([">])/gm;

/** The files a project's compile reads, relative to `base` (the directory `drv/` stands for), with their text. */
interface ProjectFiles {
  readonly base: string;
  readonly files: ReadonlyMap<string, string>;
}

/**
 * Reads the translation units and, transitively, the headers they include that lie in the project: `#include "x"`
 * from the including file's directory, then the include directories; `#include <x>` from the include directories
 * (the WDK's own headers are the shim's). A backslash in an include path is a separator, as for MSVC; a name in
 * another case finds the file, as on Windows (the file is also given under the name the source spells). Only regular
 * files, at most MAX_PROJECT_FILES of them, each within the source bound.
 */
function projectFiles(build: SourceBuild): ProjectFiles {
  let base = commonAncestor([...build.units.map((u) => dirname(u)), ...build.includeDirs]);
  for (let attempt = 0; ; attempt++) {
    const files = new Map<string, string>();
    const seen = new Set<string>();
    const queue: { path: string; as: string }[] = build.units.map((u) => ({ path: u, as: u }));
    let outside: string | undefined;
    while (queue.length > 0) {
      const { path, as } = queue.shift() as { path: string; as: string };
      const key = `${path}\0${as}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (files.size >= MAX_PROJECT_FILES) throw new CompileError('', `the project includes more than ${MAX_PROJECT_FILES} files`);
      const rel = relative(base, as);
      if (rel.startsWith('..') || isAbsolute(rel)) {
        outside = as;
        break;
      }
      const found = findFile(path);
      if (found === undefined) continue; // clang names what is missing
      const raw = readInputText(found, 'source file', INPUT_LIMITS.source);
      const text = raw.replace(INCLUDE, (m: string, pre: string, open: string, spelledName: string, close: string) => {
        const name = spelledName.trim().replace(/\\/g, '/');
        const dirs = open === '"' ? [dirname(as), ...build.includeDirs] : build.includeDirs;
        for (const d of dirs) {
          const spelled = resolve(d, name);
          const file = findFile(spelled);
          if (file !== undefined) {
            queue.push({ path: file, as: spelled });
            // the toolchain's file system has no `..`: such a path is given from the root (/drv/…), once base holds it
            const r = relative(base, spelled);
            return name.split('/').includes('..') && !r.startsWith('..') ? `${pre}"/drv/${r.split(sep).join('/')}"` : `${pre}${open}${name}${close}`;
          }
        }
        return open === '"' || name !== spelledName ? `${pre}${open}${name}${close}` : m;
      });
      files.set(rel.split(sep).join('/'), text);
    }
    if (outside === undefined) return { base, files };
    if (attempt >= 16) throw new CompileError('', `${userPath(outside)}: the project's files are too far apart`);
    base = commonAncestor([base, dirname(outside)]);
  }
}

/** The files by relative path, in code-point order (what keys and digests are computed over). */
const sortedFiles = (files: ReadonlyMap<string, string>): [string, string][] => [...files].sort(([a], [b]) => (a < b ? -1 : 1));

/** The relative paths as the nested directories the toolchain's in-memory file system takes. */
function tree(files: ReadonlyMap<string, string>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [rel, text] of files) {
    const parts = rel.split('/');
    let dir = root;
    for (const p of parts.slice(0, -1)) dir = (dir[p] ??= {}) as Record<string, unknown>;
    dir[parts[parts.length - 1]] = text;
  }
  return root;
}

/** A source build from what callers pass: a path (one translation unit) or a project's build. */
function asBuild(source: string | SourceBuild): SourceBuild {
  return typeof source === 'string' ? { units: [resolve(source)], includeDirs: [], defines: [] } : source;
}

const isCxx = (unit: string): boolean => /\.(cpp|cc|cxx)$/i.test(unit);

/**
 * What MSVC's /kernel does to C++ (learn.microsoft.com/cpp/build/reference/kernel-create-kernel-mode-binary): no
 * exceptions (`throw` and `try` are errors), no RTTI (`typeid`, a dynamic `dynamic_cast` are errors), and no default
 * `new` or `delete` (the driver defines them). Function-local statics are not thread-safe (no CRT to guard them).
 * And MSVC tests what operator new returned before it constructs, whatever its exception specification, so the
 * `if (p == nullptr)` after a `new` that drivers write stays: -fcheck-new (clang otherwise assumes a non-noexcept
 * operator new never returns NULL and drops that test: a false NULL dereference under low resources).
 */
const CXX_FLAGS: readonly string[] = ['-fno-exceptions', '-fno-rtti', '-fno-threadsafe-statics', '-fcheck-new'];

/**
 * Linking C++: with global constructors and no `_start`, wasm-ld wraps every export in a call to `__wasm_call_ctors`
 * (its "command" model), so each DriverEntry would run them again. Exporting the function tells wasm-ld the embedder
 * calls it; psharness never does, as no CRT does on Windows.
 */
const linkFlags = (units: readonly string[]): readonly string[] => (units.some(isCxx) ? ['--export-if-defined=__wasm_call_ctors'] : []);

/** The compiler's arguments for one unit (its path under drv/). */
function unitFlags(build: SourceBuild, base: string, unit: string): string[] {
  const dirs = build.includeDirs.map((d) => `-Idrv/${relative(base, d).split(sep).join('/') || '.'}`);
  return [...(isCxx(unit) ? [...CXX_FLAGS, `-std=${build.cxxStandard ?? 'c++14'}`] : []), ...build.defines.map((d) => `-D${d}`), ...dirs, '-Iinclude'];
}

function compileInputs(source: string | SourceBuild, defines: Readonly<Record<string, string>>, extraFlags: readonly string[], target: DriverTarget): {
  build: SourceBuild; extra: string[]; project: ProjectFiles; units: string[]; headers: Record<string, string>; key: string; sections: boolean;
} {
  const build = asBuild(source);
  const extra = [...Object.entries(defines).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `-D${k}=${v}`), ...extraFlags];
  const project = projectFiles(build);
  const units = build.units.map((u) => relative(project.base, u).split(sep).join('/'));
  const headers = readTree(includeDir(), (f) => f.endsWith('.h'));
  const sections = mentionsCodeSections(project.files);
  const key = createHash('sha256')
    .update(JSON.stringify({
      files: sortedFiles(project.files), units: units.map((u) => [u, unitFlags(build, project.base, u)]), headers, flags: [...clangFlags(target), ...extra, ...linkFlags(units)],
      clang: toolVersion('@yowasp/clang'), pipeline: PIPELINE,
      // only a project that names code sections gets the list (other builds keep their cached images)
      ...(sections ? { sections: 3 } : {}),
    }))
    .digest('hex');
  return { build, extra, project, units, headers, key, sections };
}

/** Whether compiling `source` for `target` would be a cache hit (the loader then needs no instrumentation worker). */
export function isCompiled(source: string | SourceBuild, defines: Readonly<Record<string, string>> = {}, extraFlags: readonly string[] = [], target: DriverTarget = 'x86'): boolean {
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
const PIPELINE = 3;

/**
 * What a compile error from the shim's own macros means, in the driver author's words: the x64 DbgPrint macros
 * widen each argument to its 8-byte slot (include/wdm.h) and count up to 32 of them; past that the expansion names
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

/**
 * Clang's diagnostics in the user's terms: `drv/x.c:41:26:` is the project's file as the user names it, and
 * `include/ntddk.h` the shim's header where it is installed, so editors and CI problem matchers open them.
 */
function userDiagnostics(text: string, base: string): string {
  return text.replace(/(^|[\s'"(])\/?(drv|include)\/([^\s:'"()]+)/gm, (_m, pre: string, root: string, rel: string) =>
    `${pre}${userPath(root === 'drv' ? resolve(base, rel) : resolve(includeDir(), rel))}`);
}

/**
 * Compiles a driver: one translation unit (a path) or a project's units, each on its own, linked into one image.
 * A C++ unit that defines global objects with dynamic initialisers is said once in the diagnostics: MSVC's /kernel
 * links no CRT to run them, so Windows never does and psharness does not either (their storage stays zero).
 */
export async function compileDriver(source: string | SourceBuild, defines: Readonly<Record<string, string>> = {}, extraFlags: readonly string[] = [], target: DriverTarget = 'x86'): Promise<CompiledDriver> {
  const { build, extra, project, units, headers, key, sections } = compileInputs(source, defines, extraFlags, target);
  const hit = cacheGet(`${key}.wasm`);
  // a cache hit says what the build said (as ccache replays a compiler's warnings): the output does not depend on the cache
  if (hit !== undefined) return { wasm: hit, diagnostics: cachedDiagnostics(key, project.base), cached: true, root: project.base };
  const shown = typeof source === 'string' ? source : userPath(build.units[0]);
  const userText = (): string => userDiagnostics(diagnostics.trim(), project.base);
  const { commands } = await loadClang();
  let diagnostics = '';
  const decoder = new TextDecoder();
  const options = { stderr: (b: Uint8Array | null) => { if (b !== null) diagnostics += decoder.decode(b); }, fetchProgress: () => {} };
  const { compile, link } = splitFlags(clangFlags(target));
  const fs = { include: headers, drv: tree(project.files) };
  const objects: Record<string, Uint8Array> = {};
  const notes: string[] = [];
  const placed: [string, string][] = [];
  const failed = (unit: string, code?: number): CompileError => new CompileError(userText(),
    `${userPath(resolve(project.base, unit))} does not compile (${code !== undefined ? `clang exit ${code}, ` : ''}clang ${toolVersion('@yowasp/clang')})${shimLimitHint(diagnostics)}`);
  for (const [k, unit] of units.entries()) {
    const chunks: Uint8Array[] = [];
    const flags = [...compile, ...extra, ...unitFlags(build, project.base, unit)];
    const sink = { ...options, stdout: (b: Uint8Array | null) => { if (b !== null) chunks.push(b.slice()); } };
    try {
      if (!sections) await commands.clang([...flags, '-c', `drv/${unit}`, '-o', '-'], fs, sink);
      else {
        // the front end's IR says where each function went; the optimiser then runs on it as it would have
        await commands.clang([...flags, '-S', '-emit-llvm', '-Xclang', '-disable-llvm-passes', `drv/${unit}`, '-o', '-'], fs, sink);
        const ir = Buffer.concat(chunks.splice(0)).toString('utf8');
        placed.push(...sectionsFromIr(ir));
        // the passes the flags ask for (edge coverage is one) run here: the same flags, the front end's unused
        await commands.clang([...compile, ...extra, '-Wno-unused-command-line-argument', '-c', `u${k}.ll`, '-o', '-'], { ...fs, [`u${k}.ll`]: withoutCrossSectionInlining(ir) }, sink);
      }
    } catch (e) {
      throw failed(unit, (e as { code?: number }).code);
    }
    // the x64 shim's DbgPrint past 32 arguments names a macro that does not exist: an undeclared call is only a warning now
    if (/undeclared function '__PSH_S\d+/.test(diagnostics)) throw failed(unit);
    const object = Buffer.concat(chunks);
    if (isCxx(unit) && object.includes('_GLOBAL__sub_I_')) {
      notes.push(`drv/${unit}: warning: global objects with dynamic initialisers are not constructed: MSVC's /kernel links no CRT to run them (Windows never does; their storage stays zero)`);
    }
    objects[`u${k}.o`] = new Uint8Array(object.buffer, object.byteOffset, object.byteLength);
  }
  let out: Record<string, unknown> | undefined;
  try {
    out = (await commands['wasm-ld'](['-m', target === 'x86' ? 'wasm32' : 'wasm64', ...link, '--extra-features=bulk-memory', ...linkFlags(units), ...Object.keys(objects), '-o', 'driver.wasm'],
      objects, options)) ?? undefined;
  } catch (e) {
    const code = (e as { code?: number }).code;
    throw new CompileError(userText(), `${shown} does not link${code !== undefined ? ` (wasm-ld exit ${code})` : ''}`);
  }
  const linked = out?.['driver.wasm'];
  if (!(linked instanceof Uint8Array)) throw new CompileError(userText(), `${shown}: the compiler produced no module`);
  const wasm = placed.length === 0 ? linked : withCustomSection(linked, CODE_SECTIONS_SECTION, encodeCodeSections(await demangled(commands['c++filt'], placed)));
  const said = [diagnostics.trim(), ...notes].filter((x) => x !== '').join('\n');
  // the log first: a module in the cache then always has what its build said beside it
  const logWarning = said === '' ? undefined : cachePut(`${key}.log`, new TextEncoder().encode(said));
  const warning = cachePut(`${key}.wasm`, wasm) ?? logWarning;
  return { wasm, diagnostics: [userDiagnostics(said, project.base), warning ?? ''].filter((x) => x !== '').join('\n'), cached: false, root: project.base };
}

/** C++ symbols demangled as wasm-ld writes them into the name section (the same LLVM demangler: c++filt). */
async function demangled(filt: ToolCommand, entries: readonly [string, string][]): Promise<[string, string][]> {
  const mangled = entries.filter(([n]) => n.startsWith('_Z')).map(([n]) => n);
  if (mangled.length === 0) return [...entries];
  let text = '';
  const decoder = new TextDecoder();
  await filt(mangled, {}, { stdout: (b: Uint8Array | null) => { if (b !== null) text += decoder.decode(b, { stream: true }); }, stderr: () => {}, fetchProgress: () => {} });
  const names = text.split('\n');
  const map = new Map(mangled.map((m, i) => [m, names[i] !== undefined && names[i] !== '' ? names[i] : m]));
  return entries.map(([n, s]) => [map.get(n) ?? n, s]);
}

/** What a cached build said when it was made (clang's diagnostics and psharness's notes), in the user's terms. */
function cachedDiagnostics(key: string, base: string): string {
  const log = cacheGet(`${key}.log`);
  return log === undefined ? '' : userDiagnostics(new TextDecoder().decode(log), base);
}

/** The sha256 of what a build compiles: its units and the project's headers they include, by relative path. */
export function projectSha256(source: string | SourceBuild): string {
  return createHash('sha256').update(JSON.stringify(sortedFiles(projectFiles(asBuild(source)).files))).digest('hex');
}
