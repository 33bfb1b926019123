import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { checkDriverIsolated } from '../src/api.js';

/** A plain-JavaScript driver module, as a user would give one (optionally with a routine that never returns). */
function driverModule(body: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'psh-iso-')), 'driver.mjs');
  writeFileSync(f, `export const driver = {
    name: 'iso', description: 'a user driver', imports: ['PsSetCreateProcessNotifyRoutine'], logsEvents: false, parse: () => [],
    instantiate: () => ({ DriverEntry(ddi) {
      const ProcessNotify = (ppid, pid, create) => { ${body} };
      return ddi.PsSetCreateProcessNotifyRoutine(ProcessNotify, false);
    } }),
  };`);
  return f;
}

describe('checkDriverIsolated: the wall-clock watchdog for code psharness cannot count', () => {
  test('a routine looping forever in plain JavaScript is reported as a hang, labelled non-deterministic', async () => {
    const r = await checkDriverIsolated(driverModule('for (;;) {}'), 'driver', { runs: 20, watchdogMs: 3000 });
    expect(r.hung).toBe(true);
    expect(r.failed).toBe(true);
    expect(r.note).toMatch(/wall-clock watchdog — not deterministic/);
  }, 30_000);

  test('a driver that returns gets checkDriver\'s deterministic result', async () => {
    const r = await checkDriverIsolated(driverModule('return;'), 'driver', { runs: 50, watchdogMs: 20_000, invariants: ['no-bugcheck', 'routine-returns'] });
    expect(r.hung).toBe(false);
    expect(r.failed).toBe(false);
    expect(r.runs).toBe(50);
  }, 30_000);
});
