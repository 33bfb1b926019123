import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { compileDriver } from '../../src/driver/wasm/compile.js';
import { instrumentDriver, LAYOUT_SECTION, type ImageLayout } from '../../src/driver/wasm/instrument.js';
import { loadWasmDriver } from '../../src/driver/wasm/loader.js';

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
    expect(layout.rodata?.[0]).toBe(0x12000); // .rodata right after the stack
    // the name section survives: reports can name the faulting function
    expect(WebAssembly.Module.customSections(module, 'name').length).toBe(1);
    expect(readdirSync(cache).some((f) => f.endsWith('.instrumented.wasm'))).toBe(true);
    const again = await instrumentDriver(wasm, { memory: true });
    expect(again.cached).toBe(true);
    expect(Buffer.from(again.wasm).equals(Buffer.from(first.wasm))).toBe(true);
  }, 60_000);

  test('with every pass off the module is unchanged', async () => {
    const off = await instrumentDriver(wasm, { memory: false });
    expect(off.wasm).toBe(wasm);
  });

  test('a file that is not a module is named as such before binaryen sees it', async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'psh-bad-')), 'x.wasm');
    writeFileSync(f, 'not wasm');
    await expect(loadWasmDriver(f)).rejects.toThrow(/is not a WebAssembly module/);
  });
});
