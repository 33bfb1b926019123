import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { lineRows } from '../../src/driver/wasm/dwarf.js';
import { runCli } from '../helpers.js';

/** The records of an lcov file, checked for the shape genhtml reads. */
function parseLcov(text: string): { file: string; lf: number; lh: number; brf: number; brh: number; da: Map<number, number> }[] {
  const out: { file: string; lf: number; lh: number; brf: number; brh: number; da: Map<number, number> }[] = [];
  let cur: (typeof out)[number] | null = null;
  for (const line of text.trim().split('\n')) {
    const [key, value = ''] = line.split(/:(.*)/s);
    if (key === 'SF') cur = { file: value, lf: -1, lh: -1, brf: -1, brh: -1, da: new Map() };
    else if (key === 'DA') cur?.da.set(Number(value.split(',')[0]), Number(value.split(',')[1]));
    else if (key === 'LF' && cur) cur.lf = Number(value);
    else if (key === 'LH' && cur) cur.lh = Number(value);
    else if (key === 'BRF' && cur) cur.brf = Number(value);
    else if (key === 'BRH' && cur) cur.brh = Number(value);
    else if (key === 'end_of_record' && cur) {
      out.push(cur);
      cur = null;
    } else expect(['TN', 'BRDA'], line).toContain(key);
  }
  return out;
}

describe('coverage of the driver under test (--coverage DIR writes lcov)', () => {
  test('a C driver: edges mapped to its source lines through DWARF, with the percentages printed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psh-cov-'));
    const r = await runCli(['fuzz', '--driver', 'examples/drivers/psrefmon.c', '--runs', '300', '--coverage', dir]);
    expect(r.code).toBe(0);
    const m = /coverage of (.*psrefmon\.c): lines (\d+)\/(\d+) \([\d.]+%\), branches (\d+)\/(\d+)/.exec(r.out);
    expect(m).not.toBeNull();
    const [rec] = parseLcov(readFileSync(join(dir, 'lcov.info'), 'utf8'));
    expect(rec.file).toBe(resolve('examples/drivers/psrefmon.c'));
    expect([rec.lh, rec.lf, rec.brh, rec.brf]).toEqual([Number(m?.[2]), Number(m?.[3]), Number(m?.[4]), Number(m?.[5])]);
    expect(rec.lh).toBeGreaterThan(rec.lf / 2);
    expect(rec.lh).toBeLessThanOrEqual(rec.lf);
    // DriverEntry's first line ran on every load; the lines are lines of the source file
    const source = readFileSync('examples/drivers/psrefmon.c', 'utf8').split('\n');
    const entry = source.findIndex((l) => l.startsWith('NTSTATUS DriverEntry(')) + 1;
    expect([...rec.da.entries()].some(([line, hits]) => line > entry && line < entry + 12 && hits > 0)).toBe(true);
    for (const line of rec.da.keys()) expect(line).toBeLessThanOrEqual(source.length);
  }, 60_000);

  test('a TypeScript driver: V8 precise coverage of its module', () => {
    const dir = mkdtempSync(join(tmpdir(), 'psh-covts-'));
    const r = spawnSync(process.execPath, ['bin/psharness.js', 'fuzz', '--driver', 'reference', '--runs', '200', '--coverage', dir], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/coverage of .*reference\.js: lines \d+\/\d+/);
    const [rec] = parseLcov(readFileSync(join(dir, 'lcov.info'), 'utf8'));
    expect(rec.file.endsWith('reference.js')).toBe(true);
    expect(rec.lh).toBeGreaterThan(0);
    expect(rec.brf).toBeGreaterThan(0);
  }, 60_000);

  test('the DWARF line table reader: a hand-made DWARF 4 program', () => {
    // header: version 4, min_inst 1, max_ops 1, default_is_stmt 1, line_base -5, line_range 14, opcode_base 13
    const header = [4, 0, 0, 0, 0, 0, 1, 1, 1, 0xfb, 14, 13, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1, 0, ...Buffer.from('a.c'), 0, 0, 0, 0, 0];
    const headerLength = header.length - 6;
    header.splice(2, 4, headerLength & 0xff, 0, 0, 0);
    // set_address 0x10, advance_line 9 (line 10), copy; special opcode: address +1, line +1
    const program = [0, 5, 2, 0x10, 0, 0, 0, 3, 9, 1, 13 + (1 * 14) + (1 + 5), 0, 1, 1];
    const unit = [...header, ...program];
    const bytes = new Uint8Array([unit.length & 0xff, 0, 0, 0, ...unit]);
    expect(lineRows(bytes)).toEqual([{ address: 0x10, file: 'a.c', line: 10 }, { address: 0x11, file: 'a.c', line: 11 }]);
  });
});
