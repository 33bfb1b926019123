/**
 * Kernel memory: one flat byte address space per kernel instance, backed by a WebAssembly.Memory so that a
 * driver compiled to WebAssembly can share it. Virtual addresses (VAs) are `kernelVaBase + offset`; on x64 they
 * are kept in 48-bit form (bit 47 set) and sign-extended to canonical 64-bit values only when written to memory
 * or printed, so every address stays an exact JS number.
 *
 * The memory map: the lower half of the WebAssembly memory is the kernel's address space, the upper half its
 * shadow — one byte per byte of address space saying who may touch it (`Shadow` below), the way
 * AddressSanitizer keeps its shadow and Driver Verifier's special pool keeps guard pages. An instrumented C
 * driver reads the shadow inline on every load and store (src/driver/wasm/instrument.ts) and calls the kernel
 * only when the byte is not plain driver memory; the DDI accessors go through `check` below.
 *
 * Pool: a bump allocator with per-size quarantined free lists. The first page is never mapped (NULL and small
 * offsets fault). A driver's pool block sits between guard bytes (16 before, the rest of its 16-byte slot plus
 * 16 after) and starts uninitialised; freed blocks are poisoned and quarantined — see docs/verifier.md.
 */
import { BugCheck, BUGCHECK_DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL, BUGCHECK_PAGE_FAULT_IN_NONPAGED_AREA } from '../ke/bugcheck.js';
import type { PointerSize } from '../builds.js';
import { hex12, hexDigits32, hexUpper } from '../rtl/hex.js';
import { memoryRecycling, poolMemory, unpoolMemory } from './recycled-memories.js';

export { setMemoryRecycling } from './recycled-memories.js';

const PAGE = 0x10000; // WebAssembly page
const GUARD = 0x1000;
const QUARANTINE = 64;
/** Guard bytes on each side of a driver's pool block. */
export const REDZONE = 16;
const TWO32 = 0x1_0000_0000;
const BIT47 = 0x8000_0000_0000;
const MAX_PAGES = 16384;

/** The characters `readUnits` returns (grown on demand). */
let UNITS = new Uint16Array(4096);

/**
 * Shadow byte values: what the driver may do with one byte of kernel memory. Bit 0: a store needs the kernel's
 * attention; bit 1: a load does; the kind is in bits 2-6; bit 7 marks pageable memory. The inline check of an
 * instrumented driver only tests bit 0 or bit 1 of the first and last byte of an access.
 */
export const Shadow = {
  /** The driver's own memory (its stack, data, and initialised pool): read and write. */
  Owned: 0,
  /** The driver's pool, never written since allocation: reads are tracked (uninitialised values). */
  Uninitialised: (1 << 2) | 3,
  /** A kernel structure (EPROCESS, ETHREAD, strings, IMAGE_INFO...): the driver may read it, never write it. */
  Kernel: (2 << 2) | 1,
  /** Guard bytes around a pool block: any access is an overrun or underrun. */
  PoolGuard: (3 << 2) | 3,
  /** A freed pool block in quarantine: any access is a use after free. */
  Freed: (4 << 2) | 3,
  /** Not mapped: the NULL page and pool space never allocated. */
  Unmapped: (5 << 2) | 3,
  /** The guard page below the driver's stack: reaching it is a kernel stack overflow. */
  StackGuard: (6 << 2) | 3,
  /** The driver image's read-only data (.rodata). */
  ImageReadOnly: (7 << 2) | 1,
  /**
   * Several CPUs: the driver's own memory that they share (its image data and its pool): read and write, every
   * access reported to the race detector.
   */
  Shared: (8 << 2) | 3,
  /** Flag: pageable memory (paged pool), which must not be touched at DISPATCH_LEVEL or above. */
  Paged: 0x80 | 3,
  StoreBit: 1,
  LoadBit: 2,
  KindMask: 0x7c,
} as const;

/** A pool tag as the ULONG drivers pass ('Proc' is 0x636F7250: the first character in the low byte). */
export function poolTagValue(tag: string): number {
  let v = 0;
  for (let i = 0; i < 4; i++) v |= (tag.charCodeAt(i) & 0xff) << (8 * i);
  return v >>> 0;
}

export interface PoolBlock {
  readonly va: number;
  /** Bytes the caller asked for. */
  readonly size: number;
  readonly tag: string;
  /** Who allocated it: 'kernel' or a driver's name. */
  readonly owner: string;
  /** What the block holds, for reports ('EPROCESS', 'IRP', ...; a driver's blocks: 'pool'). */
  readonly type: string;
  readonly paged: boolean;
  /** First byte and length of the whole slot (guard bytes included). */
  readonly slot: number;
  readonly slotSize: number;
}

export interface AllocOptions {
  /** For reports: what the block holds. */
  readonly type?: string;
  /** Kernel objects: whether the driver may write them (its DRIVER_OBJECT, device objects, IRPs it owns). */
  readonly driverWritable?: boolean;
  /** Driver pool: contents start initialised (zeroed), as ExAllocatePool2 does. */
  readonly zeroed?: boolean;
  readonly paged?: boolean;
  /** Another driver's pool (not the driver under test's): laid out like pool, never the tested driver's to write. */
  readonly foreign?: boolean;
}

export class KernelMemory {
  readonly wasm: WebAssembly.Memory;
  readonly base: number;
  /**
   * An x64 WebAssembly driver's image (its stack and data, at the bottom of the memory) keeps the low addresses
   * the linker gave it, while everything the kernel allocates lies at `base + offset`: VAs below `imageEnd` are
   * offsets, the others are `base + offset` (and `base + offset` below `imageEnd` is unmapped). 0 elsewhere.
   */
  readonly imageEnd: number;
  readonly pointerSize: PointerSize;
  private bytes: Uint8Array;
  private view: DataView;
  /** The shadow: a view of the memory's upper half. */
  private shadow: Uint8Array;
  private covered: number;
  private top = GUARD;
  private readonly blocks = new Map<number, PoolBlock>();
  private readonly freeLists = new Map<number, number[]>();
  /** Slots of freed blocks still in quarantine, for naming what a stale pointer points into. */
  private readonly freedSlots = new Map<number, PoolBlock>();
  /** Bytes of pool each driver holds now (for its quota). */
  private readonly held = new Map<string, number>();

  /**
   * `reservedLow`: bytes at the bottom that belong to a WebAssembly driver image (stack, data), not to pool.
   * `elastic`: no WebAssembly code sees this memory (a TypeScript driver's kernel), so the WebAssembly.Memory may be
   * larger than twice the address space (an instrumented driver finds the shadow at half the memory's size).
   */
  constructor(base: number, pointerSize: PointerSize, initialPages = 16, reservedLow = 0, imageEnd = 0, elastic = false, affinity?: object) {
    this.affinity = affinity;
    this.base = base;
    this.imageEnd = imageEnd;
    this.elastic = elastic;
    this.top = Math.max(GUARD, (reservedLow + 15) & ~15);
    this.pointerSize = pointerSize;
    let pages = Math.max(1, initialPages);
    while (pages * PAGE < this.top + PAGE) pages *= 2;
    const recycled = unpoolMemory(elastic, 2 * pages, affinity);
    this.wasm = recycled ?? new WebAssembly.Memory({ initial: 2 * pages, maximum: MAX_PAGES });
    this.requestedPages = 2 * pages;
    this.covered = pages * PAGE;
    this.initialCovered = this.covered;
    this.bytes = new Uint8Array(this.wasm.buffer);
    this.view = new DataView(this.wasm.buffer);
    // a driver's instrumented code finds the shadow at half the memory's size (a recycled memory may have grown)
    this.shadowBase = elastic ? this.covered : this.bytes.length / 2;
    this.shadow = this.bytes.subarray(this.shadowBase, this.shadowBase + (elastic ? this.covered : this.shadowBase));
    if (recycled === undefined) this.shadow.fill(Shadow.Unmapped);
    // Below `top` (a WebAssembly driver's stack and data): the driver's own, until the loader marks it finer.
    this.shadow.fill(Shadow.Owned, GUARD, this.top);
    // The NULL page holds 0xFE bytes: a pointer loaded through NULL by uninstrumented WebAssembly code (which
    // cannot trap there) is then 0xFEFEFEFE, and the next dereference faults (research: wasm-feasibility §5).
    this.bytes.fill(0xfe, 0, GUARD);
  }

  private readonly initialCovered: number;
  /**
   * Where the shadow starts: the end of the address space (`covered`), or for a driver's recycled memory that grew in
   * an earlier run, half of it (then beyond `covered` lies room, unmapped, that `grow` covers without moving it).
   */
  private shadowBase: number;
  /** The shadow moved this run: each earlier one is address space now, with stale bytes above `top`. */
  private shadowMoved = false;
  /** The pages the boot asked for: the pool this memory goes back to, whatever it grew to. */
  private readonly requestedPages: number;
  private readonly elastic: boolean;
  /** The image this memory is for (a WebAssembly driver's address space): see Recycled. */
  private readonly affinity: object | undefined;
  private recycled = false;

  /**
   * The run is over: its memory goes back for the next boot of the same size, restored to a new one's state. Only
   * the bytes below the allocation high-water mark can differ from a new memory's, unless code that is not
   * instrumented (a WebAssembly driver with the verifier off) ran: it may have stored anywhere, so all is cleared.
   * Nothing may use this object afterwards: its views become empty (a DataView read then throws).
   */
  recycle(untrustedStores: boolean): void {
    if (this.recycled) return; // twice would hand one memory to two kernels
    this.recycled = true;
    const initial = this.initialCovered;
    const pages = this.requestedPages;
    const recycling = memoryRecycling();
    if (recycling && this.covered === initial) {
      const used = untrustedStores ? this.covered : this.top;
      this.bytes.fill(0, 0, used);
      this.shadow.fill(Shadow.Unmapped, 0, used);
      poolMemory(this.elastic, pages, this.wasm, this.affinity);
    } else if (recycling && this.elastic) {
      // it grew: all of the first address space was used, and the first shadow is address space now
      this.bytes.fill(0, 0, initial);
      this.bytes.fill(Shadow.Unmapped, initial, 2 * initial);
      poolMemory(true, pages, this.wasm, this.affinity);
    } else if (recycling && !untrustedStores) {
      // a driver's memory that grew, every store of the run checked (no store beyond `top`): restored whole if its
      // shadow moved (each earlier shadow is stale bytes in the address space now), else below `top`
      const used = this.shadowMoved ? this.shadowBase : this.top;
      this.bytes.fill(0, 0, used);
      this.shadow.fill(Shadow.Unmapped, 0, used);
      poolMemory(false, pages, this.wasm, this.affinity);
    }
    this.bytes = new Uint8Array(0);
    this.shadow = this.bytes;
    this.view = new DataView(this.bytes.buffer);
  }

  /** Bytes of address space (the lower half of the WebAssembly memory). */
  get size(): number {
    return this.covered;
  }

  /** Pool allocation (kernel objects, strings, driver pool). Returns a VA, 16-byte aligned, zero-filled. */
  alloc(size: number, tag: string, owner: string, options: AllocOptions = {}): number {
    const rounded = Math.max(16, (size + 15) & ~15);
    const driverPool = owner !== 'kernel';
    const foreign = options.foreign === true;
    const slotSize = driverPool ? rounded + 2 * REDZONE : rounded;
    let slot: number;
    const list = this.freeLists.get(slotSize);
    if (list !== undefined && list.length > QUARANTINE) {
      slot = list.shift() as number;
      this.freedSlots.delete(slot);
    } else {
      slot = this.top;
      while (slot + slotSize > this.covered) this.grow();
      this.top = slot + slotSize;
    }
    this.bytes.fill(0, slot, slot + slotSize);
    const off = driverPool ? slot + REDZONE : slot;
    const paged = options.paged === true ? Shadow.Paged : 0;
    if (driverPool) {
      this.shadow.fill(Shadow.PoolGuard, slot, slot + slotSize);
      this.shadow.fill(foreign ? Shadow.Kernel : (options.zeroed === true ? this.ownedKind : Shadow.Uninitialised) | paged, off, off + size);
    } else {
      this.shadow.fill((options.driverWritable === true ? Shadow.Owned : Shadow.Kernel) | paged, slot, slot + slotSize);
    }
    const va = this.base + off;
    if (driverPool && !foreign) this.held.set(owner, (this.held.get(owner) ?? 0) + size);
    this.blocks.set(va, {
      va, size: driverPool ? size : rounded, tag, owner, type: options.type ?? (driverPool ? 'pool' : 'kernel pool'),
      paged: paged !== 0, slot, slotSize,
    });
    return va;
  }

  /** Frees a block allocated by alloc. Returns false if `va` is not the start of a live block. */
  free(va: number): boolean {
    const b = this.blocks.get(va);
    if (b === undefined) return false;
    this.blocks.delete(va);
    this.freeObserver?.blockFreed(b.va, b.size, b.owner);
    if (b.owner !== 'kernel') this.held.set(b.owner, (this.held.get(b.owner) ?? 0) - b.size);
    this.bytes.fill(0xdf, b.slot, b.slot + b.slotSize);
    this.shadow.fill(Shadow.Freed, b.slot, b.slot + b.slotSize);
    let list = this.freeLists.get(b.slotSize);
    if (list === undefined) this.freeLists.set(b.slotSize, (list = []));
    list.push(b.slot);
    this.freedSlots.set(b.slot, b);
    return true;
  }

  /** Bytes of pool `owner` holds now. */
  heldBy(owner: string): number {
    return this.held.get(owner) ?? 0;
  }

  /** The kernel's address space in bytes: no allocation larger than it can succeed. */
  get capacity(): number {
    return MAX_PAGES * PAGE / 2;
  }

  /** Whether an allocation of `size` bytes would leave the kernel's address space (it cannot grow further). */
  wouldExhaust(size: number): boolean {
    return this.top + size + 2 * REDZONE > MAX_PAGES * PAGE / 2;
  }

  block(va: number): PoolBlock | undefined {
    return this.blocks.get(va);
  }

  liveBlocks(): PoolBlock[] {
    return [...this.blocks.values()];
  }

  /** The live or quarantined block whose slot holds `va` (a linear scan: for reports only). */
  blockAt(va: number): { readonly block: PoolBlock; readonly freed: boolean } | undefined {
    const off = this.off(va);
    for (const b of this.blocks.values()) if (off >= b.slot && off < b.slot + b.slotSize) return { block: b, freed: false };
    for (const b of this.freedSlots.values()) if (off >= b.slot && off < b.slot + b.slotSize) return { block: b, freed: true };
    return undefined;
  }

  private grow(): void {
    const old = this.covered;
    if (4 * old / PAGE > MAX_PAGES) throw new PoolExhausted(old);
    if (!this.elastic && 2 * old <= this.shadowBase) {
      this.covered = 2 * old; // room a recycled memory already has: its shadow there is Unmapped
      return;
    }
    const missing = 4 * old - this.bytes.length; // an elastic memory may already hold it (a recycled one that grew)
    if (missing > 0) {
      try {
        this.wasm.grow(missing / PAGE); // doubling: growing by small steps costs a third of the throughput (research §4)
      } catch {
        throw new PoolExhausted(old); // the host refused the memory: the machine is out of it, the driver is not at fault
      }
      this.bytes = new Uint8Array(this.wasm.buffer);
      this.view = new DataView(this.wasm.buffer);
    }
    this.covered = 2 * old;
    const shadow = this.bytes.subarray(this.covered, 2 * this.covered);
    shadow.set(this.bytes.subarray(old, 2 * old), 0);
    shadow.fill(Shadow.Unmapped, old);
    this.shadow = shadow;
    this.shadowBase = this.covered;
    this.shadowMoved = true;
  }

  /** True if [va, va+len) is mapped (not necessarily allocated). */
  isMapped(va: number, len = 1): boolean {
    const off = this.offsetOf(va, len);
    return off >= GUARD;
  }

  /** The memory offset of a VA (unchecked: for VAs known to be mapped). */
  private off(va: number): number {
    return va < this.imageEnd ? va : va - this.base;
  }

  /** Offset of `va` if [va, va+len) lies in the address space, else -1. */
  offsetOf(va: number, len: number): number {
    const off = this.off(va);
    if (!(Number.isFinite(off) && off >= 0 && off + len <= this.covered)) return -1;
    // an x64 image VA range must not run into the kernel's, nor a kernel VA alias the image
    if (va < this.imageEnd ? va + len > this.imageEnd : off < this.imageEnd) return -1;
    return off;
  }

  /**
   * The first byte of [va, va+len) the CPU would fault on: outside the address space or unmapped. An access running
   * off the end (a length from an underflowed subtraction) faults there, not at its start. `va + len` when none does.
   */
  firstUnmapped(va: number, len: number): number {
    const start = this.offsetOf(va, 1);
    if (start < 0) return va;
    // an x64 image address range ends at the image's end; the kernel's at the end of the address space
    const limit = va < this.imageEnd ? this.imageEnd : this.covered;
    const end = Math.min(limit, start + len);
    const s = this.shadow;
    const unmapped = Shadow.Unmapped & Shadow.KindMask;
    for (let o = start; o < end; o++) if ((s[o] & Shadow.KindMask) === unmapped) return va + (o - start);
    return va + (end - start);
  }

  /** The shadow byte of one address (Shadow.Unmapped outside the address space). */
  shadowAt(va: number): number {
    const off = this.offsetOf(va, 1);
    return off >= 0 ? this.shadow[off] : Shadow.Unmapped;
  }

  /** Marks [va, va+len) with one shadow value (the loader: image sections, stack guard). */
  mark(va: number, len: number, value: number): void {
    const off = this.off(va);
    this.shadow.fill(value, off, off + len);
  }

  /** Bytes of [va, va+len) the driver has now written: uninitialised pool becomes initialised. */
  markWritten(va: number, len: number): void {
    const off = this.off(va);
    const s = this.shadow;
    for (let i = off; i < off + len; i++) if ((s[i] & Shadow.KindMask) === (Shadow.Uninitialised & Shadow.KindMask)) s[i] = s[i] & 0x80 ? Shadow.Paged | this.ownedKind : this.ownedKind;
  }

  /** Several CPUs: the driver's own bytes in [va, va+len) become shared (tracked); other kinds stay. */
  share(va: number, len: number): void {
    const off = this.off(va);
    const s = this.shadow;
    for (let i = off; i < off + len; i++) if ((s[i] & Shadow.KindMask) === 0) s[i] = s[i] & 0x80 ? Shadow.Paged | Shadow.Shared : Shadow.Shared;
  }

  /**
   * Several CPUs: told of every block freed (the race detector forgets its history). An object with a method, not a
   * closure of the run's: see ob/objects.ts DeleteProcedures.
   */
  freeObserver: { blockFreed(va: number, size: number, owner: string): void } | null = null;

  /** What the driver's initialised pool becomes: Owned, or Shared when several CPUs run (every access tracked). */
  ownedKind: number = Shadow.Owned;

  /** Whether any byte of [va, va+len) is uninitialised driver pool. */
  anyUninitialised(va: number, len: number): boolean {
    const off = this.off(va);
    const s = this.shadow;
    for (let i = off; i < off + len; i++) if ((s[i] & Shadow.KindMask) === (Shadow.Uninitialised & Shadow.KindMask)) return true;
    return false;
  }

  /**
   * The check every driver access goes through when the shadow says the bytes are not plain driver memory.
   * Set by the kernel (the verifier), which knows the IRQL and the names of things.
   */
  violation: (va: number, len: number, write: boolean) => void = (va, len, write) => this.fault(va, len, write);

  /** Without a verifier: what any machine notices — unmapped memory (0x50) and, as special pool would, freed pool (0xD5). */
  private fault(va: number, len: number, write: boolean): void {
    const what = write ? 'write to' : 'read from';
    const off = this.offsetOf(va, len);
    if (off < 0 || !Number.isFinite(va)) {
      const at = Number.isFinite(va) ? this.firstUnmapped(Math.max(0, va), len) : 0;
      throw new BugCheck(BUGCHECK_PAGE_FAULT_IN_NONPAGED_AREA, [this.canonical(at), write ? 1 : 0, 0, 0], `${what} unmapped address ${this.format(at)}`);
    }
    for (let i = 0; i < len; i++) {
      const kind = this.shadow[off + i] & Shadow.KindMask;
      if (kind === (Shadow.Unmapped & Shadow.KindMask)) {
        throw new BugCheck(BUGCHECK_PAGE_FAULT_IN_NONPAGED_AREA, [this.canonical(va + i), write ? 1 : 0, 0, 0], `${what} unmapped address ${this.format(va + i)}`);
      }
      if (kind === (Shadow.Freed & Shadow.KindMask)) {
        throw new BugCheck(BUGCHECK_DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL, [this.canonical(va + i), write ? 1 : 0, 0, 0], `${what} freed pool at ${this.format(va + i)}`);
      }
    }
    if (write) this.markWritten(va, len);
  }

  /** Checks a driver access to [va, va+len); returns the offset. */
  check(va: number, len: number, write: boolean): number {
    const off = this.imageEnd === 0 ? va - this.base : this.offsetOf(va, len);
    if (!(off >= 0 && off + len <= this.covered) || !Number.isFinite(va)) {
      this.violation(va, len, write);
      return off;
    }
    const s = this.shadow;
    const bit = write ? Shadow.StoreBit : Shadow.LoadBit;
    for (let i = 0; i < len; i++) {
      if ((s[off + i] & bit) !== 0) {
        this.violation(va, len, write);
        break;
      }
    }
    return off;
  }

  /**
   * A driver's read of a string: up to `max` characters of `unit` bytes from `va`, stopping before a NUL when
   * `nulTerminated`. Each character is checked as a load of its own, in order, exactly as `check` would (a fault
   * ends the read where the CPU's would); the characters come back in a scratch array that the next call reuses.
   */
  readUnits(va: number, max: number, unit: 1 | 2, nulTerminated: boolean): Uint16Array {
    let out = UNITS;
    const s = this.shadow;
    const b = this.bytes;
    const plain = this.imageEnd === 0;
    let n = 0;
    for (; n < max; n++) {
      const at = va + unit * n;
      const o = plain ? at - this.base : this.offsetOf(at, unit);
      let c: number;
      if (o >= 0 && o + unit <= this.covered && ((unit === 1 ? s[o] : s[o] | s[o + 1]) & Shadow.LoadBit) === 0) {
        c = unit === 1 ? b[o] : b[o] | (b[o + 1] << 8); // the fast path of `check` then `u8`/`u16`
      } else {
        this.check(at, unit, false);
        c = unit === 1 ? this.u8(at) : this.u16(at);
      }
      if (c === 0 && nulTerminated) break;
      // grown as characters are read, not to `max`: a driver's precision can be 2^31 (hostile input)
      if (n === out.length) {
        const bigger = new Uint16Array(2 * out.length);
        bigger.set(out);
        UNITS = out = bigger;
      }
      out[n] = c;
    }
    return out.subarray(0, n);
  }

  // Kernel-internal accessors (trusted, unchecked but for the mapping).
  u8(va: number): number { return this.bytes[this.off(va)]; }
  u16(va: number): number { return this.view.getUint16(this.off(va), true); }
  u32(va: number): number { return this.view.getUint32(this.off(va), true); }
  setU8(va: number, v: number): void { this.bytes[this.off(va)] = v; }
  setU16(va: number, v: number): void { this.view.setUint16(this.off(va), v, true); }
  setU32(va: number, v: number): void { this.view.setUint32(this.off(va), v >>> 0, true); }
  setBytes(va: number, data: ArrayLike<number>): void { this.bytes.set(data, this.off(va)); }
  /** `text` as UTF-16LE code units at `va` (no terminator). */
  setWide(va: number, text: string): void {
    const b = this.bytes;
    let o = this.off(va);
    for (let i = 0; i < text.length; i++, o += 2) {
      const c = text.charCodeAt(i);
      b[o] = c & 0xff;
      b[o + 1] = c >>> 8;
    }
  }
  fill(va: number, len: number, value: number): void {
    const off = this.off(va);
    this.bytes.fill(value, off, off + len);
  }
  slice(va: number, len: number): Uint8Array {
    const off = this.off(va);
    return this.bytes.subarray(off, off + len);
  }

  /** Reads a pointer-sized value; x64 canonical kernel values come back in 48-bit form. */
  ptr(va: number): number {
    if (this.pointerSize === 4) return this.u32(va);
    const lo = this.u32(va);
    const hi = this.u32(va + 4);
    if (hi >= 0xffff8000) return (hi & 0xffff) * TWO32 + lo;
    return hi * TWO32 + lo; // user-mode or non-canonical values (beyond 2^48: never mapped)
  }

  setPtr(va: number, value: number): void {
    if (this.pointerSize === 4) {
      this.setU32(va, value);
      return;
    }
    const lo = value % TWO32;
    let hi = Math.floor(value / TWO32);
    if (value >= BIT47 && value < 2 * BIT47) hi = (hi | 0xffff0000) >>> 0;
    this.setU32(va, lo);
    this.setU32(va + 4, hi);
  }

  /** The value as the CPU sees it: x64 kernel addresses sign-extended from bit 47. */
  canonical(value: number): bigint {
    if (this.pointerSize === 4) return BigInt(value >>> 0);
    if (value >= BIT47 && value < 2 * BIT47) return BigInt(value) | 0xffff_0000_0000_0000n;
    return BigInt(Math.max(0, Math.floor(value)));
  }

  format(value: number): string {
    return '0x' + this.canonical(value).toString(16).toUpperCase().padStart(this.pointerSize * 2, '0');
  }

  /** '0x' + the canonical value in upper-case hex, without leading zeros (the record's address format). */
  hex(value: number): string {
    // the same addresses (a process's EPROCESS, its strings) are formatted for every callback: kept for the run
    let text = this.hexText.get(value);
    if (text === undefined) {
      if (this.hexText.size >= 4096) this.hexText.clear();
      this.hexText.set(value, (text = this.formatHex(value)));
    }
    return text;
  }

  private readonly hexText = new Map<number, string>();

  private formatHex(value: number): string {
    if (this.pointerSize === 4) return '0x' + hexDigits32(value);
    const integer = Number.isInteger(value); // a VA always is; anything else is printed as toString(16) prints it
    if (value >= BIT47 && value < 2 * BIT47) {
      const hi = Math.floor(value / TWO32);
      return '0xFFFF' + (integer ? hex12(hi, value - hi * TWO32) : value.toString(16).toUpperCase().padStart(12, '0'));
    }
    if (value >= 0 && value < 2 ** 53) return '0x' + (integer ? hexUpper(value) : value.toString(16).toUpperCase());
    return '0x' + this.canonical(value).toString(16).toUpperCase();
  }
}

/** The simulated machine has no pool left: not the driver's bug, and not a bug check. */
export class PoolExhausted extends Error {
  constructor(readonly bytes: number) {
    super(`kernel memory exhausted (${bytes} bytes of address space in use)`);
    this.name = 'PoolExhausted';
  }
}
