/**
 * Inline frames, as WinDbg shows them in a stack (`kn`: an inlined function is a frame of its own): from a C or C++
 * driver's DWARF, the code ranges of each `DW_TAG_inlined_subroutine`, the function it inlines, and where it was
 * called from (`DW_AT_call_file`, `DW_AT_call_line`). The source-line annotation (source-lines.ts) tags each call,
 * load and store with the chain of inlined functions it lies in; the symbolizer then expands a frame into the
 * inlined functions, innermost first, down to the function the code physically belongs to. Anything unexpected in
 * the DWARF gives no inline frames (the stack is what it was without them), never an error.
 */
import { jsonList } from './code-sections.js';
import { type Die, readDies } from './frames.js';

/** One inlined function a piece of code lies in, and the call that was inlined. */
export interface InlineLevel {
  /** The inlined function, qualified for C++ (`pc::Counter::Bump`). */
  readonly function: string;
  readonly callFile: string;
  readonly callLine: number;
}

/** The custom section the instrumentation writes: JSON, a list of chains (innermost level first). */
export const INLINE_SECTION = 'psharness.inline';

/** The most chains a section is read with (a hostile module's list is bounded like every input). */
export const MAX_INLINE_CHAINS = 65536;

const TAG = { compileUnit: 0x11, subprogram: 0x2e, inlined: 0x1d, namespace: 0x39, classType: 0x02, structType: 0x13, unionType: 0x17, lexicalBlock: 0x0b } as const;
const AT = { name: 0x03, lowPc: 0x11, highPc: 0x12, ranges: 0x55, stmtList: 0x10, abstractOrigin: 0x31, specification: 0x47, callFile: 0x58, callLine: 0x59 } as const;

interface Node {
  readonly lo: number;
  readonly hi: number;
  readonly level: InlineLevel;
  readonly children: Node[];
}

/** Inline ranges of a module's DWARF, looked up by code address (what wasm DWARF calls an address). */
export interface InlineIndex {
  /** The chain (innermost first) the code at `address` lies in; empty when it is not inlined code. */
  chainAt(address: number): readonly InlineLevel[];
}

const NONE: InlineIndex = { chainAt: () => [] };

/**
 * The index of a module's inline ranges. `files` gives each unit's line-table file names by its `DW_AT_stmt_list`
 * offset (dwarf.ts); `.debug_ranges` is DWARF 4's range lists (clang's -gdwarf-4).
 */
export function inlineIndex(sections: ReadonlyMap<string, Uint8Array>, files: ReadonlyMap<number, readonly string[]>): InlineIndex {
  const info = sections.get('.debug_info');
  const abbrev = sections.get('.debug_abbrev');
  if (info === undefined || abbrev === undefined) return NONE;
  try {
    const { units, byOffset, addressSize } = readDies(info, abbrev, sections.get('.debug_str'));
    const parent = new Map<Die, Die>();
    const link = (d: Die): void => {
      for (const c of d.children) {
        parent.set(c, d);
        link(c);
      }
    };
    units.forEach(link);
    const rangesSection = sections.get('.debug_ranges');
    const tops: Node[] = [];
    for (const unit of units) {
      const stmt = unit.attrs.get(AT.stmtList);
      const unitFiles = typeof stmt === 'number' ? files.get(stmt) ?? [] : [];
      const unitBase = typeof unit.attrs.get(AT.lowPc) === 'number' ? unit.attrs.get(AT.lowPc) as number : 0;
      const visit = (d: Die, into: Node[]): void => {
        for (const c of d.children) {
          if (c.tag === TAG.inlined) {
            const origin = c.attrs.get(AT.abstractOrigin);
            const fn = typeof origin === 'number' ? byOffset.get(origin) : undefined;
            const name = fn === undefined ? undefined : qualifiedName(fn, byOffset, parent);
            const callFile = c.attrs.get(AT.callFile);
            const callLine = c.attrs.get(AT.callLine);
            const level: InlineLevel = {
              function: name ?? '?',
              callFile: typeof callFile === 'number' ? (unitFiles[callFile] ?? '?') : '?',
              callLine: typeof callLine === 'number' ? callLine : 0,
            };
            const kids: Node[] = [];
            visit(c, kids);
            for (const [lo, hi] of rangesOf(c, rangesSection, unitBase, addressSize)) into.push({ lo, hi, level, children: kids });
          } else if (c.tag === TAG.subprogram || c.tag === TAG.lexicalBlock || c.tag === TAG.namespace || c.tag === TAG.classType || c.tag === TAG.structType) {
            visit(c, into);
          }
        }
      };
      visit(unit, tops);
    }
    if (tops.length === 0) return NONE;
    tops.sort((a, b) => a.lo - b.lo);
    return {
      chainAt(address) {
        const chain: InlineLevel[] = [];
        let level: readonly Node[] = tops;
        for (let depth = 0; depth < 64; depth++) {
          const n = find(level, address);
          if (n === undefined) break;
          chain.unshift(n.level);
          level = n.children;
        }
        return chain;
      },
    };
  } catch {
    return NONE;
  }
}

/** The node of `nodes` whose range holds `address` (top level: sorted, binary search; nested: few, a scan). */
function find(nodes: readonly Node[], address: number): Node | undefined {
  if (nodes.length > 8) {
    let lo = 0;
    let hi = nodes.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (nodes[mid].lo <= address) lo = mid + 1;
      else hi = mid;
    }
    // ranges of different inlined calls do not overlap; look back over the few that start at the same place
    for (let k = lo - 1; k >= 0 && k >= lo - 8; k--) if (address >= nodes[k].lo && address < nodes[k].hi) return nodes[k];
    return undefined;
  }
  return nodes.find((n) => address >= n.lo && address < n.hi);
}

/** The [lo, hi) ranges of a DIE: low_pc and high_pc (an offset when a constant), or its DWARF 4 range list. */
function rangesOf(d: Die, ranges: Uint8Array | undefined, base: number, addressSize: number): [number, number][] {
  const lo = d.attrs.get(AT.lowPc);
  const hi = d.attrs.get(AT.highPc);
  if (typeof lo === 'number' && typeof hi === 'number') return [[lo, hi > lo ? hi : lo + hi]];
  const at = d.attrs.get(AT.ranges);
  if (typeof at !== 'number' || ranges === undefined) return [];
  const out: [number, number][] = [];
  const read = (i: number): number => (addressSize === 8
    ? ranges[i] + ranges[i + 1] * 2 ** 8 + ranges[i + 2] * 2 ** 16 + ranges[i + 3] * 2 ** 24 + (ranges[i + 4] + ranges[i + 5] * 2 ** 8 + ranges[i + 6] * 2 ** 16 + ranges[i + 7] * 2 ** 24) * 2 ** 32
    : ranges[i] + ranges[i + 1] * 2 ** 8 + ranges[i + 2] * 2 ** 16 + ranges[i + 3] * 2 ** 24);
  const max = addressSize === 8 ? 2 ** 64 - 1 : 0xffffffff;
  let b = base;
  for (let i = at; i + 2 * addressSize <= ranges.length && out.length < 4096; i += 2 * addressSize) {
    const start = read(i);
    const end = read(i + addressSize);
    if (start === 0 && end === 0) break;
    if (start === max || (addressSize === 8 && start >= 2 ** 64 - 2 ** 11)) {
      b = end; // a base address selection entry
      continue;
    }
    out.push([b + start, b + end]);
  }
  return out;
}

/** A function's name as WinDbg shows it: its namespaces and classes before it (`pc::Counter::Bump`). */
function qualifiedName(fn: Die, byOffset: ReadonlyMap<number, Die>, parent: ReadonlyMap<Die, Die>): string | undefined {
  let d: Die | undefined = fn;
  // a member defined out of line names its declaration; an abstract instance may name another
  for (let hops = 0; d !== undefined && d.attrs.get(AT.name) === undefined && hops < 4; hops++) {
    const next: number | Uint8Array | string | undefined = d.attrs.get(AT.specification) ?? d.attrs.get(AT.abstractOrigin);
    d = typeof next === 'number' ? byOffset.get(next) : undefined;
  }
  const name = d?.attrs.get(AT.name);
  if (d === undefined || typeof name !== 'string') return undefined;
  const parts = [name];
  for (let p = parent.get(d), hops = 0; p !== undefined && hops < 32; p = parent.get(p), hops++) {
    const n = p.attrs.get(AT.name);
    if (p.tag === TAG.compileUnit) break;
    if ((p.tag === TAG.namespace || p.tag === TAG.classType || p.tag === TAG.structType || p.tag === TAG.unionType) && typeof n === 'string') parts.unshift(n);
  }
  return parts.join('::');
}

/** The chains an image's section carries, checked: anything malformed reads as none. */
export function decodeInlineChains(payload: Uint8Array | ArrayBuffer | undefined): (readonly InlineLevel[])[] {
  return jsonList(payload, MAX_INLINE_CHAINS).map((chain) => (Array.isArray(chain) ? chain.slice(0, 64) : []).flatMap((l: unknown) => {
    if (!Array.isArray(l) || typeof l[0] !== 'string' || typeof l[1] !== 'string' || typeof l[2] !== 'number') return [];
    return [{ function: l[0], callFile: l[1], callLine: l[2] }];
  }));
}

/** The chains as the section carries them: `[[function, callFile, callLine], …]` per chain. */
export function encodeInlineChains(chains: readonly (readonly InlineLevel[])[]): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(chains.map((c) => c.map((l) => [l.function, l.callFile, l.callLine]))));
}
