/**
 * inspectModule's `instance` (module-info.ts): what instantiating a module writes, so that a kept instance can be given it again
 * (loader.ts KeptInstance). Hand-assembled modules: what is recognised, and every shape that is refused (null).
 */
import { describe, expect, test } from 'vitest';
import { inspectModule } from '../../src/driver/wasm/module-info.js';

const instanceState = (bytes: Uint8Array): ReturnType<typeof inspectModule>['instance'] => inspectModule(bytes).instance;

const section = (id: number, body: number[]): number[] => [id, body.length, ...body];
const module = (...sections: number[][]): Uint8Array => new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...sections.flat()]);
const str = (s: string): number[] => [s.length, ...[...s].map((c) => c.charCodeAt(0))];

// (global $g (mut i32) (i32.const 5)) exported as "g"; (global (mut i64) (i64.const -3)) not exported; an immutable one
const globals = section(6, [3, 0x7f, 1, 0x41, 5, 0x0b, 0x7e, 1, 0x42, 0x7d, 0x0b, 0x7f, 0, 0x41, 9, 0x0b]);
const exportG = section(7, [2, ...str('g'), 3, 0, ...str('k'), 3, 2]);
// an active segment at 16: bytes 1 2 3
const data = section(11, [1, 0, 0x41, 16, 0x0b, 3, 1, 2, 3]);
/** A start function: `body` (its instructions, without locals and end). */
const start = (body: number[]): number[][] => [
  section(1, [1, 0x60, 0, 0]),
  section(3, [1, 0]),
  section(8, [0]),
  section(10, [1, body.length + 2, 0, ...body, 0x0b]),
];

describe('what instantiation writes (inspectModule().instance)', () => {
  test('exported mutable globals with their values, hidden ones counted, active segments, a start that zeroes', () => {
    const s = instanceState(module(globals, exportG, data));
    expect(s).toEqual({ globals: [{ name: 'g', value: 5 }], hidden: 1, data: [{ offset: 16, bytes: new Uint8Array([1, 2, 3]) }], zeroes: [] });
    // binaryen's memory64 lowering (an x64 image) wraps the start's i64 constants: i64.const 32, i32.wrap_i64 ...
    const zeroing = [0x42, 32, 0xa7, 0x41, 0, 0x42, 8, 0xa7, 0xfc, 0x0b, 0];
    const ts = start(zeroing);
    const withStart = module(ts[0], ts[1], globals, exportG, ts[2], ts[3], data);
    expect(inspectModule(withStart).startZeroes).toEqual([[32, 8]]);
    expect(instanceState(withStart)?.zeroes).toEqual([[32, 8]]);
  });

  test('refused: a start that does more than zero, a non-constant initial value, a passive segment, an imported global', () => {
    const ts = start([0x41, 0, 0x41, 1, 0x41, 8, 0xfc, 0x0b, 0]); // fills with 1
    expect(instanceState(module(ts[0], ts[1], ts[2], ts[3]))).toBeNull();
    expect(instanceState(module(section(6, [1, 0x7f, 1, 0x23, 0, 0x0b])))).toBeNull(); // global.get 0
    expect(instanceState(module(section(11, [1, 1, 2, 7, 7])))).toBeNull(); // passive
    expect(instanceState(module(section(11, [1, 0, 0x23, 0, 0x0b, 0])))).toBeNull(); // offset from a global
    expect(instanceState(module(section(2, [1, ...str('m'), ...str('g'), 3, 0x7f, 0])))).toBeNull();
    // a count far larger than the section holds: read to the section's end, not 2^28 times
    expect(instanceState(module(section(7, [0xff, 0xff, 0xff, 0xff, 0x01]), exportG, data))?.data).toHaveLength(1);
  });
});
