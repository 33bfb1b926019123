import { beforeAll, describe, expect, test } from 'vitest';
import { loadWasmDriver } from '../../src/driver/wasm/loader.js';
import { linesOf, wssprocmon, type DriverModule } from '../../src/driver/index.js';
import { simulate, type Scenario } from '../../src/model/index.js';

let cseed: DriverModule;
beforeAll(async () => {
  cseed = await loadWasmDriver('examples/drivers/wssprocmon.c');
}, 120_000);

const VOL = '\\Device\\HarddiskVolume1\\Windows';
const sc = (build: string, ops: Scenario['ops'], extra: Partial<Scenario> = {}): Scenario => ({
  build, profile: 'documented', reusePolicy: 'nt52', crowding: { process: 0, thread: 0, image: 0 }, faults: [], ops, ...extra,
});

describe('the seed compiled from C', () => {
  test('prints what the TypeScript port prints', () => {
    const ops: Scenario['ops'] = [
      { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\notepad.exe` },
      { op: 'CreateThread', id: 'T2', process: 'P1' },
      { op: 'LoadImage', process: 'P1', path: `${VOL}\\x.dll` },
      { op: 'ExitProcess', process: 'P1' },
    ];
    const c = simulate(cseed, sc('win2000-x86', ops));
    const t = simulate(wssprocmon, sc('win2000-x86', ops));
    const mask = (ls: string[]) => ls.map((l) => l.replace(/ADDRESS [0-9a-f]+/, 'ADDRESS *'));
    expect(mask(c.callbacks.flatMap((x) => linesOf(x.prints)))).toEqual(mask(t.callbacks.flatMap((x) => linesOf(x.prints))));
    console.log(c.callbacks.flatMap((x) => linesOf(x.prints)));
    expect(c.bugCheck).toBeNull();
  });
});
