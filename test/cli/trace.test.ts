import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { VOL, runCli } from '../helpers.js';

const run = (argv: string[]): ReturnType<typeof runCli> => runCli(argv);

describe('psharness trace: one scenario, pass or fail, with everything the driver printed', () => {
  test('a passing run shows its timeline and output, exit 0', async () => {
    const r = await run(['trace', '--driver', 'reference', '--seed', '1', '--run', '3', '--build', 'winxp-x86']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^# trace: reference on winxp-x86/);
    expect(r.out).toMatch(/PROCESS CREATE pid=\d+ ppid=\d+ name=/);
    expect(r.out).toMatch(/all \d+ hold/);
    const again = await run(['trace', '--driver', 'reference', '--seed', '1', '--run', '3', '--build', 'winxp-x86']);
    expect(again.out).toBe(r.out); // the same scenario every time
  });

  test('--seed --run draws as fuzz does, with the driver\'s own operations: a driver with a device client gets its client', async () => {
    // proctable.c declares its I/O control codes, so fuzz draws a user-mode client on its device; trace must too
    const shown: string[] = [];
    for (let k = 1; k <= 5; k++) shown.push((await run(['trace', '--driver', 'examples/drivers/proctable.c', '--seed', '1', '--run', String(k), '--build', 'win10-x64'])).out);
    expect(shown.filter((out) => /OpenDevice|DeviceIoControl/.test(out)).length).toBeGreaterThan(0);
  }, 60_000);

  test('a report: its scenario, its driver; exit 1 with the violations', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psh-tr-'));
    await run(['fuzz', '--driver', 'seed', '--runs', '30', '--reports', dir, '--invariant', 'references-balanced']);
    const f = join(dir, readdirSync(dir).find((x) => x.endsWith('.json')) as string);
    const r = await run(['trace', '--report', f]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/✗ references-balanced: callback leaked 1 object reference/);
  });

  test('a scenario file, validated like a report', async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'psh-ts-')), 's.json');
    writeFileSync(f, JSON.stringify({ build: 'win10-x64', profile: 'documented', reusePolicy: 'nt52', crowding: { process: 0, thread: 0, image: 0 }, faults: [],
      ops: [{ op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\notepad.exe` }] }));
    const r = await run(['trace', '--driver', 'reference', '--scenario', f]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/name=notepad\.exe/);
    writeFileSync(f, JSON.stringify({ build: 'win10-x64' }));
    const bad = await run(['trace', '--driver', 'reference', '--scenario', f]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/must have required property/);
  });

  test('bad usage is one line, exit 2', async () => {
    for (const argv of [['trace', '--driver', 'seed'], ['trace', '--driver', 'seed', '--seed', '1'], ['trace', '--seed', '1', '--run', '0', '--driver', 'seed']]) {
      const r = await run(argv);
      expect(r.code).toBe(2);
      expect(r.err.split('\n').length).toBe(1);
    }
  });
});
