/**
 * The WDK surface a C driver can use, read from the shim headers themselves (so the list cannot drift from what
 * compiles): each routine with the header that declares it, whether the simulated kernel implements it (an import)
 * or the header does (inline C, for the CRT and the compiler intrinsics), and the builds that export it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILDS, isExported } from '../../model/builds.js';
import { includeDir } from './compile.js';
import { WASM_DDI_NAMES } from './loader.js';

export interface ShimRoutine {
  readonly name: string;
  /** The shim header that declares it; null for an export the WDK leaves undeclared (declare it yourself). */
  readonly header: string | null;
  readonly implementedBy: 'kernel' | 'header';
  /** Ids of the builds that export it. */
  readonly builds: readonly string[];
}

/** Names the loader serves that are psharness's own plumbing, not WDK routines. */
const INTERNAL = new Set(['PSH_OBJECT_TYPE_VARIABLE', '__sanitizer_cov_trace_pc_guard', '__sanitizer_cov_trace_pc_guard_init', '__ubsan_handle_type_mismatch_v1_abort', 'memcpy', 'memmove', 'memset', 'memcmp']);

export function shimCatalogue(): ShimRoutine[] {
  const dir = includeDir();
  const found = new Map<string, { header: string; implementedBy: 'kernel' | 'header' }>();
  for (const header of readdirSync(dir).filter((f) => f.endsWith('.h')).sort()) {
    const text = readFileSync(join(dir, header), 'utf8');
    // declarations, one statement at a time (comments and preprocessor lines out): `RET Name(args) KIMPORT(Import);`
    const code = text.replace(/\/\*[\s\S]*?\*\//g, ' ').split('\n').filter((l) => !/^\s*#/.test(l)).join('\n');
    for (const statement of code.split(/[;{}]/)) {
      const imp = /KIMPORT\((\w+)\)/.exec(statement);
      if (imp === null) continue;
      const declared = /([A-Za-z_][A-Za-z0-9_]*)\s*\(/.exec(statement)?.[1];
      const name = declared === undefined || declared.startsWith('__psh') ? imp[1] : declared;
      if (!found.has(name)) found.set(name, { header, implementedBy: 'kernel' });
    }
    for (const m of text.matchAll(/^(?:static inline|FORCEINLINE)\s+[^(]*?\b([A-Za-z_][A-Za-z0-9_]*)\s*\(/gm)) {
      if (!m[1].startsWith('__psh') && !found.has(m[1])) found.set(m[1], { header, implementedBy: 'header' });
    }
    for (const m of text.matchAll(/^__PSH_ILK\(\w+, (\w+),/gm)) if (!found.has(m[1])) found.set(m[1], { header, implementedBy: 'header' });
    // a macro that stands for a routine: `#define ExFreePool(p) ExFreePoolWithTag(p, 0)`
    for (const m of text.matchAll(/^#define ((?:Rtl|Ex|Ke|Io|Ob|Ps|Kd|Nt|Zw)[A-Za-z0-9_]*)[( ]/gm)) {
      if (!found.has(m[1])) found.set(m[1], { header, implementedBy: 'header' });
    }
  }
  // imports a driver declares itself (undocumented exports such as PsGetProcessImageFileName)
  for (const name of WASM_DDI_NAMES) {
    if (!found.has(name) && !INTERNAL.has(name) && !name.startsWith('Kf')) found.set(name, { header: '', implementedBy: 'kernel' });
  }
  return [...found].filter(([name]) => !INTERNAL.has(name)).sort(([a], [b]) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1)).map(([name, f]) => ({
    name,
    header: f.header === '' ? null : f.header,
    implementedBy: f.implementedBy,
    builds: BUILDS.filter((b) => isExported(b, name)).map((b) => b.id),
  }));
}

/** "every build", or from which build on (per pointer size), as `psharness list --ddis` prints it. */
export function describeBuilds(builds: readonly string[]): string {
  if (builds.length === BUILDS.length) return 'every build';
  const firstOf = (pointerSize: 4 | 8): string | undefined => BUILDS.find((b) => b.pointerSize === pointerSize && builds.includes(b.id))?.id;
  return `from ${[firstOf(4), firstOf(8)].filter((x) => x !== undefined).join(' and ')} on (${builds.length} of ${BUILDS.length} builds)`;
}
