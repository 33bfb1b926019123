/**
 * The code decoder behind source lines (driver/wasm/source-lines.ts): it must list a function's calls, loads and
 * stores in binaryen's order — every opcode's immediates skipped, the code binaryen drops after an unreachable, br,
 * br_table or return left out — and give up (no lines, never wrong ones) on code it does not know.
 */
import { describe, expect, test } from 'vitest';
import { sitesOf } from '../../src/driver/wasm/source-lines.js';

/** A module of one code section holding these function bodies (no locals). */
function moduleOf(...bodies: number[][]): Uint8Array {
  const fns = bodies.map((b) => [b.length + 1, 0, ...b]);
  const payload = [fns.length, ...fns.flat()];
  if (payload.length > 127) throw new Error('keep the test bodies short');
  return new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 10, payload.length, ...payload]);
}

describe('sitesOf', () => {
  test('each call, load and store at its offset; immediates of every kind skipped; dead code after unreachable left out', () => {
    const body = [
      0x02, 0x40, // block
      0x41, 0x7f, 0x28, 0x02, 0x00, // i32.const -1; i32.load   ← site
      0x0d, 0x00, // br_if 0
      0x42, 0x80, 0x01, 0x43, 0, 0, 0, 0, 0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0x1a, 0x1a, 0x1a, // i64/f32/f64 consts, drops
      0x3f, 0x00, 0x40, 0x00, 0x1a, // memory.size, memory.grow, drop
      0x10, 0x00, // call 0 ← site
      0x11, 0x00, 0x00, // call_indirect ← site
      0xfc, 0x0a, 0x00, 0x00, 0xfc, 0x0b, 0x00, 0xfc, 0x08, 0x00, 0x00, 0xfc, 0x09, 0x00, 0xfc, 0x00, // bulk memory, trunc_sat
      0xfe, 0x03, 0x00, 0xfe, 0x10, 0x02, 0x00, // atomic.fence; i32.atomic.load ← site
      0xd0, 0x70, 0xd1, 0xd2, 0x00, 0x1c, 0x01, 0x7f, 0x20, 0x00, // ref.null, ref.is_null, ref.func, select t, local.get
      0x00, // unreachable: what follows in this block is dead
      0x36, 0x02, 0x00, 0x10, 0x00, // (dead) i32.store, call
      0x0b, // end of the block: live again
      0x0e, 0x01, 0x00, 0x00, // br_table
      0x0b,
    ];
    const sites = sitesOf(moduleOf(body));
    expect(sites).not.toBeNull();
    const [f] = sites ?? [];
    // offsets in the code section: 1 (count) + 1 (body size) + 1 (no locals), then the body
    const at = (index: number): number => 3 + index;
    expect(f.map((x) => x.address)).toEqual([at(4), at(34), at(36), at(58)]);
  });

  test('table.copy and table.init take two immediates, elem.drop one: the call after them is found where it is', () => {
    const [f] = sitesOf(moduleOf([0xfc, 0x0e, 0x00, 0x00, 0xfc, 0x0c, 0x00, 0x00, 0xfc, 0x0d, 0x00, 0x10, 0x00, 0x0b])) ?? [];
    expect(f.map((x) => x.address)).toEqual([3 + 11]);
  });

  test('code it does not know (a SIMD instruction) is no lines at all, and a truncated body is no lines', () => {
    expect(sitesOf(moduleOf([0xfd, 0x0c, 0x0b]))).toBeNull();
    const truncated = moduleOf([0x41, 0x80, 0x0b]);
    expect(sitesOf(truncated.subarray(0, truncated.length - 1))).toBeNull();
    expect(sitesOf(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]))).toEqual([]);
  });
});
