import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { compileDriver, STACK_TOP } from '../../src/driver/wasm/compile.js';
import { instrumentDriver, LAYOUT_SECTION, STACK_LIMIT_GLOBAL, type ImageLayout } from '../../src/driver/wasm/instrument.js';
import { loadWasmDriver } from '../../src/driver/wasm/loader.js';
import { frameLayouts } from '../../src/driver/wasm/frames.js';
import { customSections, inspectModule, withoutDebugSections } from '../../src/driver/wasm/module-info.js';
import { CODE_SECTIONS_SECTION, decodeCodeSections } from '../../src/driver/wasm/code-sections.js';
import { decodeInlineChains, INLINE_SECTION } from '../../src/driver/wasm/inline-frames.js';
import { siteReader, SITES_SECTION, SOURCE_MAP_SECTION, symbolizer } from '../../src/driver/wasm/source-lines.js';

// A private cache: the instrumentation really runs here (the shared cache may already hold the result).
const saved = process.env.PSHARNESS_CACHE;
const cache = mkdtempSync(join(tmpdir(), 'psh-cache-'));
let wasm: Uint8Array;
beforeAll(async () => {
  process.env.PSHARNESS_CACHE = cache;
  wasm = (await compileDriver('examples/drivers/procwatch.c')).wasm;
}, 120_000);
afterAll(() => {
  if (saved === undefined) delete process.env.PSHARNESS_CACHE;
  else process.env.PSHARNESS_CACHE = saved;
});

describe('the instrumentation stage of the C-driver pipeline', () => {
  test('every load and store goes through an inline shadow check; one import for the slow path', async () => {
    const first = await instrumentDriver(wasm, { memory: true });
    expect(first.cached).toBe(false);
    const module = new WebAssembly.Module(new Uint8Array(first.wasm));
    const imports = WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}`);
    expect(imports).toContain('psharness.access');
    // the pass's hooks are defined inside the module, not imported: no host call per access
    expect(imports.filter((i) => /load_ptr|store_ptr|load_val|store_val/.test(i))).toEqual([]);
    const layout = JSON.parse(new TextDecoder().decode(WebAssembly.Module.customSections(module, LAYOUT_SECTION)[0])) as ImageLayout;
    expect(layout.instrumented).toEqual(['memory']);
    expect(layout.rodata?.[0]).toBe(STACK_TOP); // .rodata right after the stack
    // the name section survives: reports can name the faulting function
    expect(WebAssembly.Module.customSections(module, 'name').length).toBe(1);
    expect(readdirSync(cache).some((f) => f.endsWith('.instrumented.wasm'))).toBe(true);
    const again = await instrumentDriver(wasm, { memory: true });
    expect(again.cached).toBe(true);
    expect(Buffer.from(again.wasm).equals(Buffer.from(first.wasm))).toBe(true);
  }, 60_000);

  test('the budget pass bounds the stack: each store to __stack_pointer is tested against the kernel stack\'s limit', async () => {
    for (const [x64, limit] of [[false, STACK_TOP - 12 * 1024], [true, STACK_TOP - 24 * 1024]] as const) {
      const source = x64 ? (await compileDriver('examples/drivers/procwatch.c', {}, [], 'x64')).wasm : wasm;
      const out = await instrumentDriver(source, { memory: true, budget: true, ...(x64 ? { x64: { imageEnd: STACK_TOP + 0x10000 } } : {}) });
      const module = new WebAssembly.Module(new Uint8Array(out.wasm));
      expect(WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}`)).toContain('psharness.stack_overflow');
      const memory = new WebAssembly.Memory({ initial: 8 });
      const imports: WebAssembly.Imports = {};
      for (const i of WebAssembly.Module.imports(module)) {
        imports[i.module] ??= {};
        imports[i.module][i.name] = i.kind === 'memory' ? memory : i.kind === 'function' ? () => 0 : 0;
      }
      const instance = new WebAssembly.Instance(module, imports);
      expect((instance.exports[STACK_LIMIT_GLOBAL] as WebAssembly.Global).value).toBe(limit);
    }
    // a module not linked with the psharness stack layout has no such test: its stack is not known
    const b = (await import('binaryen')).default;
    const m = new b.Module();
    m.setFeatures(b.Features.MutableGlobals);
    m.addGlobal('__stack_pointer', b.i32, true, m.i32.const(0x10000));
    m.addGlobalExport('__stack_pointer', '__stack_pointer');
    m.addFunction('f', b.none, b.none, [], m.global.set('__stack_pointer', m.i32.sub(m.global.get('__stack_pointer', b.i32), m.i32.const(16))));
    const bare = m.emitBinary() as Uint8Array;
    m.dispose();
    const none = await instrumentDriver(bare, { memory: false, budget: true });
    expect(WebAssembly.Module.imports(new WebAssembly.Module(new Uint8Array(none.wasm))).map((i) => i.name)).not.toContain('stack_overflow');
  }, 120_000);

  test('DWARF gives each frame\'s buffers (frames.ts); none, or DWARF it cannot read, gives no layout and no error', async () => {
    for (const target of ['x86', 'x64'] as const) {
      const built = (await compileDriver('test/fixtures/hostile/gs-overrun.c', {}, [], target)).wasm;
      const layouts = frameLayouts(customSections(built));
      expect(layouts.get('CopyName')?.arrays).toEqual([{ name: 'local', offset: 16, size: 16 }]);
      expect(layouts.get('OnProcess')?.arrays).toEqual([]);
      // the instrumentation reads the module without its DWARF
      expect([...customSections(withoutDebugSections(built)).keys()].filter((n) => n.startsWith('.debug_'))).toEqual([]);
    }
    expect(frameLayouts(new Map()).size).toBe(0);
    const garbage = new Uint8Array(64).fill(0xff);
    expect(frameLayouts(new Map([['.debug_info', garbage], ['.debug_abbrev', garbage]])).size).toBe(0);
  }, 120_000);

  test('/GS padding is filled in the frames DWARF describes, on x86 and x64, with every pass the loader runs', async () => {
    for (const target of ['x86', 'x64'] as const) {
      const built = (await compileDriver('test/fixtures/hostile/gs-overrun.c', {}, [], target)).wasm;
      const out = await instrumentDriver(built, {
        memory: true, budget: true, fibers: true, ...(target === 'x64' ? { x64: { imageEnd: STACK_TOP + 0x10000 } } : {}),
      });
      expect(out.cached).toBe(false); // the private cache: the passes ran here
      const module = new WebAssembly.Module(new Uint8Array(out.wasm));
      const layout = JSON.parse(new TextDecoder().decode(WebAssembly.Module.customSections(module, LAYOUT_SECTION)[0])) as ImageLayout;
      // the function whose cookie now guards its buffer, and the buffer reports name
      expect(layout.gsBuffers).toEqual({ CopyName: 'local' });
      expect(layout.instrumented).toEqual(target === 'x64' ? ['memory', 'x64', 'budget', 'fibers'] : ['memory', 'budget', 'fibers']);
      // the DWARF is not carried into the instrumented image
      expect(WebAssembly.Module.customSections(module, '.debug_info').length).toBe(0);
    }
  }, 120_000);

  test('source lines survive every pass: a source map of the instrumented module and each checked access\'s line, on x86 and x64', async () => {
    const fault = 11; // deep-fault.c: `slot->Pid = pid;`
    for (const target of ['x86', 'x64'] as const) {
      const built = (await compileDriver('test/fixtures/stacks/deep-fault.c', {}, [], target)).wasm;
      const out = await instrumentDriver(built, { memory: true, budget: true, fibers: true, ...(target === 'x64' ? { x64: { imageEnd: STACK_TOP + 0x10000 } } : {}) });
      expect(out.cached).toBe(false);
      const module = new WebAssembly.Module(new Uint8Array(out.wasm));
      const map = JSON.parse(new TextDecoder().decode(WebAssembly.Module.customSections(module, SOURCE_MAP_SECTION)[0])) as { sources: string[]; mappings: string };
      expect(map.sources).toContain('drv/deep-fault.c');
      expect(map.mappings.length).toBeGreaterThan(10);
      const line = siteReader(WebAssembly.Module.customSections(module, SITES_SECTION)[0]);
      const named = Array.from({ length: 200 }, (_, id) => line(id)).filter((x) => x !== undefined);
      expect(named).toContain(`deep-fault.c:${fault}`);
      // the stack of a trap in StoreName, as V8 writes it, named through the map
      const symbolize = symbolizer(new Uint8Array(out.wasm), WebAssembly.Module.imports(module).filter((i) => i.kind === 'function').length);
      expect(symbolize(undefined)).toEqual([]);
      expect(symbolize('    at Object.f (file:///x.js:1:1)')).toEqual([]);
    }
    // a module without DWARF gets no lines, and is instrumented all the same
    const bare = withoutDebugSections((await compileDriver('test/fixtures/stacks/deep-fault.c')).wasm);
    const plain = await instrumentDriver(bare, { memory: true, budget: true });
    expect(WebAssembly.Module.customSections(new WebAssembly.Module(new Uint8Array(plain.wasm)), SOURCE_MAP_SECTION)).toEqual([]);
    expect(siteReader(undefined)(1)).toBeUndefined();
    expect(siteReader(new TextEncoder().encode('{not json').buffer)(1)).toBeUndefined();
  }, 120_000);

  test('with every pass off the module is unchanged', async () => {
    const off = await instrumentDriver(wasm, { memory: false });
    expect(off.wasm).toBe(wasm);
  });

  test('code sections: each PAGE or INIT function tells the kernel at its entry and before its calls, on x86 and x64', async () => {
    for (const x64 of [false, true]) {
      const placed = (await compileDriver('test/fixtures/sections/pagedmon.c', {}, [], x64 ? 'x64' : 'x86')).wasm;
      expect(decodeCodeSections(customSections(placed).get(CODE_SECTIONS_SECTION)).map(([f, kind]) => `${f}:${kind}`))
        .toEqual(['DriverEntry:discardable', 'PmUnload:pageable', 'PmOnProcess:pageable']);
      const out = await instrumentDriver(placed, { memory: true, budget: true, ...(x64 ? { x64: { imageEnd: STACK_TOP + 0x10000 } } : {}) });
      expect(out.cached).toBe(false);
      expect(inspectModule(out.wasm).imports.map((i) => `${i.module}.${i.name}`)).toContain('psharness.code_section');
      // the list rides along: the loader numbers the functions as the instrumentation did
      expect(decodeCodeSections(customSections(out.wasm).get(CODE_SECTIONS_SECTION))).toHaveLength(3);
    }
  }, 300_000);

  test('inline chains survive every pass: the inlined helpers of each access, innermost first, on x86 and x64', async () => {
    for (const x64 of [false, true]) {
      const built = (await compileDriver('test/fixtures/stacks/inlined-fault.c', {}, [], x64 ? 'x64' : 'x86')).wasm;
      const out = await instrumentDriver(built, { memory: true, budget: true, ...(x64 ? { x64: { imageEnd: STACK_TOP + 0x10000 } } : {}) });
      const chains = decodeInlineChains(customSections(out.wasm).get(INLINE_SECTION));
      expect(chains.map((c) => c.map((l) => l.function).join(' < ')), x64 ? 'x64' : 'x86').toContain('Peek < Lookup');
      const peek = chains.find((c) => c[0]?.function === 'Peek');
      expect(peek?.[0]).toMatchObject({ callFile: 'drv/inlined-fault.c' });
      expect(peek?.[0].callLine).toBeGreaterThan(10);
    }
  }, 300_000);

  test('a file that is not a module is named as such before binaryen sees it', async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'psh-bad-')), 'x.wasm');
    writeFileSync(f, 'not wasm');
    await expect(loadWasmDriver(f)).rejects.toThrow(/is not a WebAssembly module/);
  });
});
