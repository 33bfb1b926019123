/**
 * Kernel memory: one flat byte address space per kernel instance, backed by a WebAssembly.Memory so that a
 * driver compiled to WebAssembly can share it. Virtual addresses (VAs) are `kernelVaBase + offset`; on x64 they
 * are kept in 48-bit form (bit 47 set) and sign-extended to canonical 64-bit values only when written to memory
 * or printed, so every address stays an exact JS number.
 *
 * Pool: a bump allocator with per-size quarantined free lists. The first page is never mapped (NULL and small
 * offsets fault). Freed blocks are poisoned and marked freed: touching one is treated as Driver Verifier's
 * special pool does (bug check 0xD5) — a modelling choice, see docs/kernel-semantics.md.
 */
import {
  BugCheck,
  BUGCHECK_DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL,
  BUGCHECK_PAGE_FAULT_IN_NONPAGED_AREA,
} from './bugcheck.js';
import type { PointerSize } from './builds.js';

const PAGE = 0x10000; // WebAssembly page
const GRANULE_SHIFT = 4;
const GUARD = 0x1000;
const QUARANTINE = 64;
// granule states: 0 never allocated, then:
const STATE_ALLOCATED = 1;
const STATE_FREED = 2;
const TWO32 = 0x1_0000_0000;
const BIT47 = 0x8000_0000_0000;

export interface PoolBlock {
  readonly va: number;
  readonly size: number;
  readonly tag: string;
  /** Who allocated it: 'kernel' or a driver's name. */
  readonly owner: string;
}

export class KernelMemory {
  readonly wasm: WebAssembly.Memory;
  readonly base: number;
  readonly pointerSize: PointerSize;
  private bytes: Uint8Array;
  private view: DataView;
  private state: Uint8Array;
  private top = GUARD;
  private readonly blocks = new Map<number, PoolBlock>();
  private readonly freeLists = new Map<number, number[]>();

  /** `reservedLow`: bytes at the bottom that belong to a WebAssembly driver image (stack, data), not to pool. */
  constructor(base: number, pointerSize: PointerSize, initialPages = 16, reservedLow = 0) {
    this.base = base;
    this.top = Math.max(GUARD, (reservedLow + 15) & ~15);
    this.pointerSize = pointerSize;
    this.wasm = new WebAssembly.Memory({ initial: initialPages, maximum: 16384 });
    this.bytes = new Uint8Array(this.wasm.buffer);
    this.view = new DataView(this.wasm.buffer);
    this.state = new Uint8Array(this.bytes.length >>> GRANULE_SHIFT);
    this.state.fill(STATE_ALLOCATED, GUARD >>> GRANULE_SHIFT, this.top >>> GRANULE_SHIFT);
    // The NULL page holds 0xFE bytes: a pointer loaded through NULL by WebAssembly code (which cannot trap there)
    // is then 0xFEFEFEFE, and the next dereference faults (research: wasm-feasibility §5).
    this.bytes.fill(0xfe, 0, GUARD);
  }

  get size(): number {
    return this.bytes.length;
  }

  /** Pool allocation (kernel objects, strings, driver pool). Returns a VA, 16-byte aligned, zero-filled. */
  alloc(size: number, tag: string, owner: string): number {
    const rounded = Math.max(16, (size + 15) & ~15);
    let off: number;
    const list = this.freeLists.get(rounded);
    if (list !== undefined && list.length > QUARANTINE) {
      off = list.shift() as number;
      this.bytes.fill(0, off, off + rounded);
    } else {
      off = this.top;
      while (off + rounded > this.bytes.length) this.grow();
      this.top = off + rounded;
    }
    this.state.fill(STATE_ALLOCATED, off >>> GRANULE_SHIFT, (off + rounded) >>> GRANULE_SHIFT);
    const va = this.base + off;
    this.blocks.set(va, { va, size: rounded, tag, owner });
    return va;
  }

  /** Frees a block allocated by alloc. Returns false if `va` is not the start of a live block. */
  free(va: number): boolean {
    const b = this.blocks.get(va);
    if (b === undefined) return false;
    this.blocks.delete(va);
    const off = va - this.base;
    this.bytes.fill(0xdf, off, off + b.size);
    this.state.fill(STATE_FREED, off >>> GRANULE_SHIFT, (off + b.size) >>> GRANULE_SHIFT);
    let list = this.freeLists.get(b.size);
    if (list === undefined) this.freeLists.set(b.size, (list = []));
    list.push(off);
    return true;
  }

  block(va: number): PoolBlock | undefined {
    return this.blocks.get(va);
  }

  liveBlocks(): PoolBlock[] {
    return [...this.blocks.values()];
  }

  private grow(): void {
    const pages = this.bytes.length / PAGE;
    this.wasm.grow(pages); // doubling: growing by small steps costs a third of the throughput (research §4)
    const old = this.state;
    this.bytes = new Uint8Array(this.wasm.buffer);
    this.view = new DataView(this.wasm.buffer);
    this.state = new Uint8Array(this.bytes.length >>> GRANULE_SHIFT);
    this.state.set(old);
  }

  /** True if [va, va+len) is mapped (not necessarily allocated). */
  isMapped(va: number, len = 1): boolean {
    const off = va - this.base;
    return off >= GUARD && off + len <= this.bytes.length;
  }

  /**
   * The check every driver access goes through: unmapped → 0x50, freed pool → 0xD5.
   * Parameters follow the WDK: P1 = address referenced, P2 = 0 read / 1 write.
   */
  check(va: number, len: number, write: boolean): number {
    const off = va - this.base;
    if (!(off >= GUARD && off + len <= this.bytes.length) || !Number.isFinite(va)) {
      throw new BugCheck(BUGCHECK_PAGE_FAULT_IN_NONPAGED_AREA, [this.canonical(va), write ? 1 : 0, 0, 0],
        `${write ? 'write to' : 'read from'} unmapped address ${this.format(va)}`);
    }
    const s = this.state;
    const first = off >>> GRANULE_SHIFT;
    const last = (off + len - 1) >>> GRANULE_SHIFT;
    for (let g = first; g <= last; g++) {
      if (s[g] === STATE_FREED) {
        throw new BugCheck(BUGCHECK_DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL, [this.canonical(va), write ? 1 : 0, 0, 0],
          `${write ? 'write to' : 'read from'} freed pool at ${this.format(va)}`);
      }
    }
    return off;
  }

  // Kernel-internal accessors (trusted, unchecked but for the mapping).
  u8(va: number): number { return this.bytes[va - this.base]; }
  u16(va: number): number { return this.view.getUint16(va - this.base, true); }
  u32(va: number): number { return this.view.getUint32(va - this.base, true); }
  setU8(va: number, v: number): void { this.bytes[va - this.base] = v; }
  setU16(va: number, v: number): void { this.view.setUint16(va - this.base, v, true); }
  setU32(va: number, v: number): void { this.view.setUint32(va - this.base, v >>> 0, true); }
  setBytes(va: number, data: ArrayLike<number>): void { this.bytes.set(data, va - this.base); }
  fill(va: number, len: number, value: number): void {
    const off = va - this.base;
    this.bytes.fill(value, off, off + len);
  }
  slice(va: number, len: number): Uint8Array {
    const off = va - this.base;
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
    if (this.pointerSize === 4) return '0x' + (value >>> 0).toString(16).toUpperCase();
    if (value >= BIT47 && value < 2 * BIT47) return '0xFFFF' + value.toString(16).toUpperCase().padStart(12, '0');
    if (value >= 0 && value < 2 ** 53) return '0x' + value.toString(16).toUpperCase();
    return '0x' + this.canonical(value).toString(16).toUpperCase();
  }
}
