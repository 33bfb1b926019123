import { beforeAll, describe, expect, test } from 'vitest';
import type { DriverModule } from '../../src/driver/index.js';
import { loadWasmDriver } from '../../src/driver/wasm/loader.js';
import { fuzz } from '../../src/harness/fuzz.js';
import { BUILDS } from '../../src/model/index.js';

/**
 * A C driver that reads EPROCESS.ImageFileName at an offset hard-coded for one release: right on the releases whose
 * layout puts the name there, process-name-correct everywhere else — the seed's 0x1FC bug, on today's x64 releases.
 */
const pinned = new Map<number, DriverModule>();
beforeAll(async () => {
  for (const offset of [0x448, 0x5a8]) {
    pinned.set(offset, await loadWasmDriver('test/fixtures/offsets/pinned.c', { defines: { NAME_OFFSET: `0x${offset.toString(16)}` } }));
  }
}, 120_000);

describe('a driver pinned to one release\'s ImageFileName offset', () => {
  test.each([
    [0x448, ['win10-x64-1507']],
    [0x5a8, ['win10-x64', 'win11-x64-21h2', 'win11-x64-22h2']],
  ] as const)('offset 0x%s passes exactly where the layout has the name there, and fails elsewhere', (offset, where) => {
    const driver = pinned.get(offset) as DriverModule;
    const x64 = BUILDS.filter((b) => b.pointerSize === 8);
    expect(x64.filter((b) => b.eprocess.ImageFileName === offset).map((b) => b.id)).toEqual(where);
    for (const b of BUILDS) {
      const r = fuzz({ driver, seed: 1, runs: 60, builds: [b.id] });
      if (where.includes(b.id as never)) {
        expect(r.failed, b.id).toBe(false);
      } else {
        expect(r.failed, b.id).toBe(true);
        // on x64 the wrong bytes are read and logged as the name; on x86 the offset may also run off the EPROCESS
        if (b.pointerSize === 8) expect(r.findings.map((f) => f.invariant.id), b.id).toContain('process-name-correct');
      }
    }
  });
});
