import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { cacheDir, cacheGet } from '../../src/driver/wasm/cache.js';
import { compileDriver } from '../../src/driver/wasm/compile.js';
import { InstrumentWorker } from '../../src/driver/wasm/instrument.js';
import { loadWasmDriver } from '../../src/driver/wasm/loader.js';
import { simulate } from '../../src/model/index.js';
import { scenario, VOL } from '../helpers.js';

const saved = process.env.PSHARNESS_CACHE;
afterEach(() => {
  if (saved === undefined) delete process.env.PSHARNESS_CACHE;
  else process.env.PSHARNESS_CACHE = saved;
});
const privateCache = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'psh-cache-'));
  process.env.PSHARNESS_CACHE = d;
  return d;
};
const create = scenario('winxp-x86', [{ op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` }]);
const lines = (d: Awaited<ReturnType<typeof loadWasmDriver>>): string[] => simulate(d, create).callbacks.flatMap((c) => c.prints.map((p) => p.text));

describe('the build cache heals', () => {
  test('a truncated entry is rebuilt, not reported as a bad module', async () => {
    const dir = privateCache();
    const first = await compileDriver('examples/drivers/wssprocmon.c');
    expect(first.cached).toBe(false);
    const entry = readdirSync(dir).find((f) => f.endsWith('.wasm') && !f.includes('instrumented')) as string;
    writeFileSync(join(dir, entry), readFileSync(join(dir, entry)).subarray(0, 100));
    const again = await compileDriver('examples/drivers/wssprocmon.c');
    expect(again.cached).toBe(false);
    expect(Buffer.from(again.wasm).equals(Buffer.from(first.wasm))).toBe(true);
    expect(cacheGet(entry)).toBeDefined(); // healed
  }, 60_000);

  test('an entry swapped for another valid module is rebuilt: the right driver runs', async () => {
    const dir = privateCache();
    const seed = await loadWasmDriver('examples/drivers/wssprocmon.c');
    const seedLines = lines(seed);
    const ref = await compileDriver('examples/drivers/psrefmon.c');
    const entries = readdirSync(dir).filter((f) => f.endsWith('.wasm'));
    for (const e of entries) writeFileSync(join(dir, e), ref.wasm); // every seed entry now holds psrefmon's module
    const again = await loadWasmDriver('examples/drivers/wssprocmon.c');
    expect(lines(again)).toEqual(seedLines);
  }, 60_000);

  test('a cold load instruments one target on a worker while the next compiles: the same images as inline', async () => {
    const entries = (dir: string): Map<string, string> =>
      new Map(readdirSync(dir).filter((f) => f.endsWith('.instrumented.wasm')).map((f) => [f, readFileSync(join(dir, f)).toString('hex')]));
    const sent = vi.spyOn(InstrumentWorker.prototype, 'instrument');
    const both = privateCache();
    const d = await loadWasmDriver('examples/drivers/psrefmon.c'); // x86 and x64, cold: the worker instruments
    const viaWorker = entries(both);
    expect(sent).toHaveBeenCalledTimes(2);
    const one = privateCache();
    await loadWasmDriver('examples/drivers/psrefmon.c', { targets: ['x86'] }); // one target: instrumented inline
    await loadWasmDriver('examples/drivers/psrefmon.c', { targets: ['x64'] });
    const inline = entries(one);
    expect(sent).toHaveBeenCalledTimes(2);
    sent.mockRestore();
    expect(viaWorker.size).toBe(2);
    expect(viaWorker).toEqual(inline);
    expect(lines(d).length).toBeGreaterThan(0);
  }, 120_000);

  test('a cache that cannot be written (PSHARNESS_CACHE names a file) is a warning, and the driver runs', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'psh-cf-')), 'not-a-dir');
    writeFileSync(file, 'x');
    process.env.PSHARNESS_CACHE = file;
    const d = await loadWasmDriver('examples/drivers/wssprocmon.c');
    expect(d.diagnostics).toMatch(/warning: the build cache .* cannot be written/);
    expect(lines(d).length).toBeGreaterThan(0);
  }, 60_000);

  test('by default the cache is under the package root, wherever one stands', () => {
    delete process.env.PSHARNESS_CACHE;
    expect(cacheDir()).toBe(join(process.cwd(), 'node_modules', '.cache', 'psharness'));
  });

  test('only the headers the driver includes are read, and only regular files (a FIFO or a directory named x.h)', async () => {
    privateCache();
    const dir = mkdtempSync(join(tmpdir(), 'psh-inc-'));
    copyFileSync('examples/drivers/wssprocmon.c', join(dir, 'wssprocmon.c'));
    execFileSync('mkfifo', [join(dir, 'x.h')]);
    mkdirSync(join(dir, 'y.h'));
    const d = await loadWasmDriver(join(dir, 'wssprocmon.c'));
    expect(lines(d).length).toBeGreaterThan(0);
  }, 60_000);
});
