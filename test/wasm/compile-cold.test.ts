import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { compileDriver } from '../../src/driver/wasm/compile.js';
import { resolveProject } from '../../src/driver/wasm/project.js';

// A private, empty cache: the compiler and linker really run here whatever the shared cache holds (a CI run's
// `npm test` fills the shared one before its coverage run), then the second compile really hits.
const saved = process.env.PSHARNESS_CACHE;
const cache = mkdtempSync(join(tmpdir(), 'psh-cold-'));
const work = mkdtempSync(join(tmpdir(), 'psh-cold-src-'));
beforeAll(() => {
  process.env.PSHARNESS_CACHE = cache;
});
afterAll(() => {
  if (saved === undefined) delete process.env.PSHARNESS_CACHE;
  else process.env.PSHARNESS_CACHE = saved;
  rmSync(cache, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

describe('a cold compile, then the same build from the cache', () => {
  test('a C++ driver: built and linked (its symbols demangled for the stacks), then a cache hit with the same bytes', async () => {
    const build = resolveProject('examples/drivers/cxxmon').builds.x86;
    if (build === undefined) throw new Error('cxxmon has no x86 build');
    const cold = await compileDriver(build);
    expect(cold.cached).toBe(false);
    const hot = await compileDriver(build);
    expect(hot.cached).toBe(true);
    expect(Buffer.from(hot.wasm).equals(Buffer.from(cold.wasm))).toBe(true);
    expect(hot.diagnostics).toBe(cold.diagnostics);
  }, 240_000);

  test('a build\'s warnings are said again on a cache hit, as the compiler said them', async () => {
    const src = join(work, 'warns.c');
    writeFileSync(src, '#include <ntddk.h>\nNTSTATUS DriverEntry(PDRIVER_OBJECT d, PUNICODE_STRING r) { UNREFERENCED_PARAMETER(r); d->DriverUnload = NULL; return STATUS_SUCCESS; }\nint Half(int x) { if (x > 0) return x / 2; }\n');
    const cold = await compileDriver(src);
    expect(cold.cached).toBe(false);
    expect(cold.diagnostics).toMatch(/warns\.c:3:\d+: warning: non-void function does not return a value in all control paths/);
    const hot = await compileDriver(src);
    expect(hot.cached).toBe(true);
    expect(hot.diagnostics).toBe(cold.diagnostics);
  }, 240_000);
});
