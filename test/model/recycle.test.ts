/**
 * Boot on a recycled memory (KernelMemory.recycle, issue 11), with a reused DDI surface (takeDdiSurface) and a C
 * driver's reused WebAssembly instance on a reused import layer (loader.ts, issue 26): a run on what another run
 * used must give the same RunRecord, byte for byte, as a run on a new WebAssembly.Memory with a surface, imports and
 * instance built anew — for TypeScript and C drivers, x86 and x64, one CPU and several, runs that bug-check, and
 * code with the verifier off that may store anywhere.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadWasmDriver, setImportLayerReuse, setInstanceReuse } from '../../src/driver/wasm/loader.js';
import { MUTANTS, reference, wssprocmon, type DriverModule } from '../../src/driver/index.js';
import { scenarioArbitrary } from '../../src/generators/index.js';
import { weightsFor } from '../../src/harness/fuzz.js';
import { recordHash } from '../../src/harness/report.js';
import { releaseDdiSurface, setDdiSurfaceReuse, takeDdiSurface } from '../../src/model/ddi-surface.js';
import { getBuild } from '../../src/model/builds.js';
import { Kernel } from '../../src/model/kernel.js';
import { PROFILES } from '../../src/model/profile.js';
import { KernelMemory, Shadow, setMemoryRecycling } from '../../src/model/mm/memory.js';
import { simulate, type Scenario } from '../../src/model/index.js';
import { scenario } from '../helpers.js';

const withWeights = (d: DriverModule): { weights?: NonNullable<ReturnType<typeof weightsFor>> } => {
  const w = weightsFor(d);
  return w === undefined ? {} : { weights: w };
};

interface Case { readonly driver: DriverModule; readonly scenarios: readonly Scenario[] }

let cases: Case[] = [];
let wild: DriverModule;
beforeAll(async () => {
  const psrefmon = await loadWasmDriver('examples/drivers/psrefmon.c');
  const psrefmonOff = await loadWasmDriver('examples/drivers/psrefmon.c', { name: 'psrefmon.c (verifier off)', verifier: false });
  const proctable = await loadWasmDriver('examples/drivers/proctable.c', { fibers: true });
  wild = await loadWasmDriver('test/fixtures/recycle/wildstore.c', { verifier: false });
  // the DDI groups a surface builds on first use (rtl, processInfo, keEx): built again when it is rebound
  const obguard = await loadWasmDriver('examples/drivers/obguard.c');
  const timeline = await loadWasmDriver('examples/drivers/timeline.c');
  // its runs grow the memory, by how much depends on the run: the next boot of the image starts on the grown one
  const poolGrows = await loadWasmDriver('test/fixtures/recycle/pool-grows.c');
  const sample = (options: Parameters<typeof scenarioArbitrary>[0], seed: number, n: number): Scenario[] =>
    fc.sample(scenarioArbitrary(options), { seed, numRuns: n });
  const mutant = MUTANTS.find((m) => m.id === 'double-deref');
  if (mutant === undefined) throw new Error('mutant double-deref is gone');
  cases = [
    { driver: reference, scenarios: sample({ profile: 'adversarial' }, 1, 1100) },
    // long runs: their memories grow, and are reused grown (a TypeScript driver's)
    { driver: reference, scenarios: sample({ minOps: 150, maxOps: 250, cpus: 2 }, 9, 100) },
    { driver: wssprocmon, scenarios: sample({}, 2, 300) },
    { driver: mutant.driver, scenarios: sample({}, 3, 200) },
    { driver: psrefmon, scenarios: sample({ builds: ['win10-x86', 'win10-x64', 'win7-x64'], profile: 'adversarial' }, 4, 250) },
    { driver: psrefmonOff, scenarios: sample({ builds: ['win10-x86', 'winxp-x86'] }, 5, 150) },
    { driver: proctable, scenarios: sample({ builds: ['win10-x86', 'win10-x64'], cpus: 4, ...withWeights(proctable) }, 6, 150) },
    { driver: obguard, scenarios: sample({ builds: ['win10-x86', 'win10-x64'], ...withWeights(obguard) }, 7, 150) },
    { driver: timeline, scenarios: sample({ builds: ['win10-x86', 'win10-x64', 'win7-x64'], profile: 'adversarial', ...withWeights(timeline) }, 8, 150) },
    { driver: poolGrows, scenarios: sample({ builds: ['win10-x86', 'win10-x64'], cpus: 2, ...withWeights(poolGrows) }, 10, 60) },
  ];
}, 300_000);
afterAll(() => reuse(true));

/** Runs boot on recycled memories, with reused DDI surfaces and C drivers' import layers, or everything is new. */
function reuse(on: boolean): void {
  setMemoryRecycling(on);
  setDdiSurfaceReuse(on);
  setImportLayerReuse(on);
  setInstanceReuse(on);
}

/** Every case's scenarios, interleaved so that each run boots on a memory a different driver or build used last. */
function hashes(): string[] {
  const out: string[] = [];
  const longest = Math.max(...cases.map((c) => c.scenarios.length));
  for (let i = 0; i < longest; i++) {
    for (const c of cases) if (i < c.scenarios.length) out.push(`${c.driver.name} ${i} ${recordHash(simulate(c.driver, c.scenarios[i]))}`);
  }
  return out;
}

describe('a recycled memory boots like a new one', () => {
  test('the same RunRecord hashes over 2,610 scenarios with and without recycling (memories, DDI surfaces, import layers)', () => {
    reuse(true);
    const recycled = hashes();
    reuse(false);
    const fresh = hashes();
    reuse(true);
    expect(recycled.length).toBe(2610);
    expect(recycled).toEqual(fresh);
  }, 300_000);

  test('a recycled memory holds the same bytes and shadow as a new one', () => {
    setMemoryRecycling(true);
    const used = new KernelMemory(0x8000_0000, 4, 4, 0x2000);
    const blocks: number[] = [];
    for (let i = 0; i < 300; i++) blocks.push(used.alloc(16 + (i % 7) * 40, 'Test', i % 3 === 0 ? 'kernel' : 'drv', { zeroed: i % 2 === 0, paged: i % 5 === 0 }));
    for (const va of blocks.filter((_, i) => i % 4 === 0)) used.free(va);
    used.mark(0x8000_3000, 0x100, Shadow.StackGuard);
    const memory = used.wasm;
    used.recycle(false);
    const again = new KernelMemory(0x8000_0000, 4, 4, 0x2000);
    expect(again.wasm).toBe(memory);
    setMemoryRecycling(false);
    const fresh = new KernelMemory(0x8000_0000, 4, 4, 0x2000);
    setMemoryRecycling(true);
    expect(fresh.wasm).not.toBe(memory);
    expect(Buffer.compare(new Uint8Array(again.wasm.buffer), new Uint8Array(fresh.wasm.buffer))).toBe(0);
    // and the finished run's object can no longer reach it
    expect(() => used.u32(0x8000_2000)).toThrow(RangeError);
  });

  test('a memory that grew under a TypeScript driver is reused: the next run sees a new memory, and grows into the rest', () => {
    setMemoryRecycling(true);
    const base = 0xffff_8000_0000_0000 % 2 ** 48;
    const fill = (m: KernelMemory, n: number): void => {
      for (let i = 0; i < n; i++) m.alloc(200 + (i % 5) * 300, 'Test', i % 2 === 0 ? 'kernel' : 'drv', { zeroed: i % 3 === 0 });
    };
    const visible = (m: KernelMemory): Uint8Array => new Uint8Array(m.wasm.buffer, 0, 2 * m.size);
    const used = new KernelMemory(base, 8, 2, 0, 0, true);
    fill(used, 600); // 128 KB of address space grows twice, to 512 KB
    expect(used.size).toBe(4 * 2 * 0x10000);
    const memory = used.wasm;
    used.recycle(false);
    const again = new KernelMemory(base, 8, 2, 0, 0, true);
    expect(again.wasm).toBe(memory);
    expect(again.wasm.buffer.byteLength).toBeGreaterThan(2 * again.size);
    setMemoryRecycling(false);
    const fresh = new KernelMemory(base, 8, 2, 0, 0, true);
    setMemoryRecycling(true);
    expect(Buffer.compare(visible(again), visible(fresh))).toBe(0);
    fill(again, 400);
    fill(fresh, 400);
    expect(again.size).toBe(fresh.size);
    expect(again.wasm.buffer.byteLength).toBe(memory.buffer.byteLength); // grown in place, no WebAssembly grow
    expect(Buffer.compare(visible(again), visible(fresh))).toBe(0);
  });

  test('a memory that grew under a C driver is reused larger, its address space as asked for; not after unchecked stores', () => {
    setMemoryRecycling(false); // nothing pooled
    setMemoryRecycling(true);
    const fill = (m: KernelMemory, n: number): void => {
      for (let i = 0; i < n; i++) m.alloc(200 + (i % 5) * 300, 'Test', i % 2 === 0 ? 'kernel' : 'drv', { zeroed: i % 3 === 0 });
    };
    const shared = new KernelMemory(0x8000_0000, 4, 2);
    fill(shared, 600);
    expect(shared.size).toBe(4 * 2 * 0x10000);
    const grown = shared.wasm.buffer.byteLength;
    shared.recycle(false);
    const again = new KernelMemory(0x8000_0000, 4, 2);
    expect(again.wasm).toBe(shared.wasm);
    expect(again.wasm.buffer.byteLength).toBe(grown);
    expect(again.size).toBe(2 * 0x10000);
    // the driver finds the shadow at half the memory's size; what it finds there and below, a new memory holds
    const all = new Uint8Array(again.wasm.buffer);
    expect(all.subarray(0, 0x1000).every((b) => b === 0xfe)).toBe(true);
    expect(all.subarray(0x1000, grown / 2).every((b) => b === 0)).toBe(true);
    expect(all.subarray(grown / 2).every((b) => b === Shadow.Unmapped)).toBe(true);
    // it grows as a new one does, into the room it has (no WebAssembly grow): the same blocks, the same address space
    setMemoryRecycling(false);
    const fresh = new KernelMemory(0x8000_0000, 4, 2);
    setMemoryRecycling(true);
    const vas = (m: KernelMemory, n: number): number[] => Array.from({ length: n }, (_, i) => m.alloc(100 + (i % 9) * 200, 'Test', 'drv'));
    expect(vas(again, 300)).toEqual(vas(fresh, 300));
    expect(again.size).toBe(fresh.size);
    expect(again.size).toBeGreaterThan(2 * 0x10000);
    expect(again.wasm.buffer.byteLength).toBe(grown);
    for (const va of [0x8000_0000 + 0x30000, 0x8000_0000 + again.size - 1, 0x8000_0000 + again.size, 0x8000_0000 + grown / 2]) {
      expect([again.offsetOf(va, 1), again.shadowAt(va), again.firstUnmapped(va, 64)]).toEqual([fresh.offsetOf(va, 1), fresh.shadowAt(va), fresh.firstUnmapped(va, 64)]);
    }
    // and past the room, as a new one does
    expect(vas(again, 1500)).toEqual(vas(fresh, 1500));
    expect(again.wasm.buffer.byteLength).toBe(fresh.wasm.buffer.byteLength);
    // code with the verifier off may have stored anywhere in it, the old shadows included: not reused
    shared.recycle(false); // twice: nothing
    again.recycle(true);
    expect(new KernelMemory(0x8000_0000, 4, 2).wasm).not.toBe(again.wasm);
  });

  test('what a run releases twice serves one later run, not two', () => {
    reuse(false); // nothing pooled
    reuse(true);
    const used = new KernelMemory(0x8000_0000, 4, 4, 0x2000);
    used.recycle(false);
    used.recycle(false);
    const a = new KernelMemory(0x8000_0000, 4, 4, 0x2000);
    const b = new KernelMemory(0x8000_0000, 4, 4, 0x2000);
    expect(a.wasm).toBe(used.wasm);
    expect(b.wasm).not.toBe(a.wasm);
    const kernel = new Kernel({ build: getBuild('win10-x64'), profile: PROFILES.documented, reusePolicy: 'nt52', driver: reference, faults: [], crowding: { process: 0, thread: 0, image: 0 } });
    const surface = takeDdiSurface(kernel);
    releaseDdiSurface(surface);
    releaseDdiSurface(surface);
    expect(takeDdiSurface(kernel)).toBe(surface);
    expect(takeDdiSurface(kernel)).not.toBe(surface);
  });

  test('a reused instance shows each run what a new one would: .data, .bss, routine addresses, a stack left mid-call', async () => {
    reuse(true);
    const image = await loadWasmDriver('test/fixtures/recycle/image-state.c', { fibers: true });
    const deep = await loadWasmDriver('test/fixtures/recycle/image-state.c', { name: 'image-state-deep', defines: { PSH_DEEP: '1' }, fibers: true });
    const entry = (d: DriverModule, build: string, cpus?: number): string => {
      const r = simulate(d, { ...scenario(build, [{ op: 'UnloadDriver' }, { op: 'LoadDriver' }]), ...(cpus === undefined ? {} : { schedule: { cpus, kind: 'random' as const, seed: 1 } }) });
      return `${recordHash(r)} ${r.phases.filter((p) => p.phase === 'DriverEntry').flatMap((p) => p.prints.map((x) => x.text)).join('|')}`;
    };
    const counted = (f: () => string[]): { out: string[]; instances: number } => {
      let instances = 0;
      const Instance = WebAssembly.Instance;
      WebAssembly.Instance = new Proxy(Instance, { construct: (t, a: ConstructorParameters<typeof Instance>) => (instances++, new t(...a)) });
      try {
        return { out: f(), instances };
      } finally {
        WebAssembly.Instance = Instance;
      }
    };
    const runs = (): string[] => ['win10-x86', 'win10-x64', 'win10-x86', 'win10-x64', 'win10-x86', 'win10-x64', 'win10-x86', 'win10-x64'].flatMap((b) => [entry(image, b), entry(deep, b), entry(image, b, 2), entry(deep, b, 3)]);
    const kept = counted(runs);
    reuse(false);
    const fresh = counted(runs);
    reuse(true);
    expect(kept.out).toEqual(fresh.out);
    expect(kept.out[0]).toMatch(/ data 7 bss 0 routine ([0-9A-F]+)\n\|data 7 bss 0 routine \1\n$/);
    expect(fresh.out[1]).toContain('data 7 bss 0');
    // every load instantiates (48, and a trampoline module per layer); reused, only each image's first load on each
    // build, with fibers and without (8, and their layers' trampolines)
    expect(fresh.instances).toBeGreaterThanOrEqual(48);
    expect(kept.instances).toBeLessThanOrEqual(18);
  }, 120_000);

  test('code with the verifier off may store anywhere: the whole memory is restored', () => {
    setMemoryRecycling(true);
    const s = scenario('win10-x86', []);
    const lines = [0, 1, 2].map(() => simulate(wild, s).phases.find((p) => p.phase === 'DriverEntry')?.prints.map((p) => p.text).join(''));
    // the driver's store reached the last byte of the address space; the next boot sees 0 again
    expect(lines).toEqual(['wild byte 0\n', 'wild byte 0\n', 'wild byte 0\n']);
  }, 60_000);
});
