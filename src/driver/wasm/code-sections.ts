/**
 * The image sections a driver puts its code in: `#pragma alloc_text(PAGE, f)`, `#pragma code_seg("PAGE")` and
 * `__declspec(code_seg("INIT"))`. On Windows the memory manager pages the sections whose names begin with PAGE and
 * frees INIT once DriverEntry has returned ([WRK] mm/sysload.c: MiEnablePagingTheExecutive tests the name 'PAGE',
 * MiFindInitializationCode frees 'INIT'; [DOC] "Writing a DriverEntry Routine": "should be in an INIT segment so it
 * will be discarded"). A WebAssembly object keeps no section for a function, so the compiler's IR says where each
 * function went (clang sets `section "PAGE"` on its definition under -fms-extensions), and the linked image carries
 * the list in a custom section that the instrumentation and the loader read (docs/verifier.md, rules `irql` and
 * `init-discarded`).
 */

/**
 * The JSON list a custom section psharness wrote holds, at most `max` items; anything malformed reads as an empty
 * list (an image is input like any other: a section read from it never throws).
 */
export function jsonList(payload: Uint8Array | ArrayBuffer | undefined, max: number): unknown[] {
  if (payload === undefined) return [];
  try {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(payload));
    return Array.isArray(parsed) ? parsed.slice(0, max) as unknown[] : [];
  } catch {
    return [];
  }
}

/** The custom section holding the list: JSON `[[function, section], …]`, function names as the name section has them. */
export const CODE_SECTIONS_SECTION = 'psharness.code-sections';

/** At most this many entries are read from an image (a hostile module's list is bounded like every input). */
export const MAX_CODE_SECTION_ENTRIES = 65536;

export type CodeSectionKind = 'pageable' | 'discardable';

/** What the memory manager does with a section: pages it (PAGE…), frees it after DriverEntry (INIT…), or neither. */
export function sectionKind(section: string): CodeSectionKind | undefined {
  if (section.startsWith('PAGE')) return 'pageable';
  if (section.startsWith('INIT')) return 'discardable';
  return undefined;
}

/** Whether a project's sources name a code section at all (the IR is read only then: no cost for other drivers). */
export function mentionsCodeSections(files: ReadonlyMap<string, string>): boolean {
  for (const text of files.values()) if (/\b(?:alloc_text|code_seg)\b/.test(text)) return true;
  return false;
}

/**
 * The defined functions of one unit's LLVM IR that lie in a PAGE or INIT section, by their symbol (a C++ symbol
 * mangled). Lines are read one by one with a fixed pattern: no work grows with what the source chose.
 */
export function sectionsFromIr(ir: string): [string, string][] {
  const out: [string, string][] = [];
  for (const line of ir.split('\n')) {
    const name = definedSymbol(line);
    const section = name === undefined ? undefined : / section "([^"]*)"/.exec(line)?.[1];
    if (name !== undefined && section !== undefined && sectionKind(section) !== undefined) out.push([name, section]);
  }
  return out;
}

/** The list as an image's custom section carries it. */
export function encodeCodeSections(entries: readonly (readonly [string, string])[]): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(entries));
}

/** An image's list, checked: anything malformed reads as no list (the image then has no section rules). */
export function decodeCodeSections(payload: Uint8Array | ArrayBuffer | undefined): [string, CodeSectionKind, string][] {
  const out: [string, CodeSectionKind, string][] = [];
  for (const e of jsonList(payload, MAX_CODE_SECTION_ENTRIES)) {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || typeof e[1] !== 'string') continue;
    const kind = sectionKind(e[1]);
    if (kind !== undefined) out.push([e[0], kind, e[1]]);
  }
  return out;
}

/** A `define` line's symbol (a quoted one unquoted), or undefined. */
function definedSymbol(line: string): string | undefined {
  const at = line.indexOf(' @');
  if (!line.startsWith('define ') || at < 0) return undefined;
  const rest = line.slice(at + 2);
  const name = rest.startsWith('"') ? rest.slice(1, rest.indexOf('"', 1)) : rest.slice(0, rest.indexOf('('));
  return name === '' ? undefined : name;
}

/**
 * The unit's IR with inlining across sections forbidden: a function placed in a section is not inlined into a caller
 * (its code would run where its section is not), and a function it calls that lies in another section is not inlined
 * into it (a non-paged helper that takes a spin lock stays non-paged). Both by `noinline` on the callee, as MSVC's
 * debug builds inline nothing; `__forceinline` (alwaysinline) functions are left to be inlined, as MSVC does. The
 * pattern per line is fixed: the work is linear in the IR.
 */
export function withoutCrossSectionInlining(ir: string): string {
  const lines = ir.split('\n');
  const sectionOf = new Map<string, string>();
  for (const line of lines) {
    const name = definedSymbol(line);
    if (name !== undefined) sectionOf.set(name, / section "([^"]*)"/.exec(line)?.[1] ?? '');
  }
  const placed = [...sectionOf].filter(([, s]) => sectionKind(s) !== undefined);
  if (placed.length === 0) return ir;
  const blocked = new Set(placed.map(([n]) => n));
  let caller: string | undefined;
  for (const line of lines) {
    const name = definedSymbol(line);
    if (name !== undefined) caller = name;
    else if (line === '}') caller = undefined;
    else if (caller !== undefined && sectionKind(sectionOf.get(caller) ?? '') !== undefined) {
      for (const m of line.matchAll(/ call [^@]*@("[^"]+"|[\w.$]+)\(/g)) {
        const callee = m[1].startsWith('"') ? m[1].slice(1, -1) : m[1];
        if (sectionOf.has(callee) && sectionOf.get(callee) !== sectionOf.get(caller)) blocked.add(callee);
      }
    }
  }
  const alwaysInline = new Set<string>();
  for (const line of lines) {
    const g = /^attributes (#\d+) = \{(.*)\}/.exec(line);
    if (g !== null && /\balwaysinline\b/.test(g[2])) alwaysInline.add(g[1]);
  }
  return lines.map((line) => {
    const name = definedSymbol(line);
    if (name === undefined || !blocked.has(name) || /\b(?:noinline|alwaysinline)\b/.test(line)) return line;
    const group = / (#\d+)\b/.exec(line);
    if (group !== null && alwaysInline.has(group[1])) return line;
    if (group !== null) return `${line.slice(0, group.index)} noinline${line.slice(group.index)}`;
    const brace = line.lastIndexOf(' {');
    return brace < 0 ? line : `${line.slice(0, brace)} noinline${line.slice(brace)}`;
  }).join('\n');
}
