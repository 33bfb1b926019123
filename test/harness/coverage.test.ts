import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, test } from 'vitest';
import { lineRows } from '../../src/driver/wasm/dwarf.js';
import { X64_KEY } from '../../src/driver/wasm/coverage.js';
import { coverageLine, lcovFromEdges, lcovFromV8, writeCoverageReports } from '../../src/harness/lcov.js';
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
    } else expect(['TN', 'BRDA', 'FN', 'FNDA', 'FNF', 'FNH'], line).toContain(key);
  }
  return out;
}

/** What writeCoverageReports puts in a fresh directory: lcov, Cobertura, the HTML pages. */
function written(files: Parameters<typeof writeCoverageReports>[1]): { lcov: string; cobertura: string; html: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'psh-istanbul-'));
  writeCoverageReports(dir, files);
  return { lcov: readFileSync(join(dir, 'lcov.info'), 'utf8'), cobertura: readFileSync(join(dir, 'cobertura-coverage.xml'), 'utf8'), html: readdirSync(join(dir, 'html')) };
}

describe('coverage of the driver under test (--coverage DIR writes lcov, Cobertura and HTML with istanbul)', () => {
  test('the x86 and x64 images\' hits of one edge are one branch: the k-th edge of a line in each image, summed', () => {
    const points = [
      { guard: 100, target: 'x86' as const, file: 'd.c', line: 5 }, { guard: 104, target: 'x86' as const, file: 'd.c', line: 5 },
      { guard: 108, target: 'x86' as const, file: 'd.c', line: 9 },
      { guard: X64_KEY + 200, target: 'x64' as const, file: 'd.c', line: 5 }, { guard: X64_KEY + 208, target: 'x64' as const, file: 'd.c', line: 5 },
      { guard: X64_KEY + 216, target: 'x64' as const, file: 'd.c', line: 12 },
    ];
    // line 5's first edge ran on x86 twice, its second on x64 once; line 9 never; line 12 (an x64-only edge) once
    const hits = new Map([[100, 2], [X64_KEY + 208, 1], [X64_KEY + 216, 1]]);
    const { files, summaries } = lcovFromEdges({ points, hits }, '/drv');
    const text = written(files).lcov;
    const [rec] = parseLcov(text);
    expect([...rec.da]).toEqual([[5, 3], [9, 0], [12, 1]]);
    expect(text).toContain('BRDA:5,0,0,2\nBRDA:5,0,1,1\nBRDA:9,1,0,0\nBRDA:12,2,0,1\n');
    expect(summaries[0]).toMatchObject({ lines: { hit: 2, total: 3 }, branches: { hit: 3, total: 4 } });
  });

  test('a C driver: edges mapped to its source lines through DWARF, with the percentages printed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psh-cov-'));
    const r = await runCli(['fuzz', '--driver', 'examples/drivers/psrefmon.c', '--runs', '300', '--coverage', dir]);
    expect(r.code).toBe(0);
    const m = /coverage of (.*psrefmon\.c): lines (\d+)\/(\d+) \([\d.]+%\), branches (\d+)\/(\d+)/.exec(r.out);
    expect(m).not.toBeNull();
    const [rec] = parseLcov(readFileSync(join(dir, 'lcov.info'), 'utf8'));
    expect(rec.file).toBe('examples/drivers/psrefmon.c'); // relative to where psharness ran
    // Cobertura and the HTML pages beside it, from the same istanbul map; no temporary directory left
    expect(readFileSync(join(dir, 'cobertura-coverage.xml'), 'utf8')).toMatch(new RegExp(`<coverage lines-valid="${m?.[3]}" lines-covered="${m?.[2]}"`));
    expect(readdirSync(join(dir, 'html'))).toContain('index.html');
    expect(readFileSync(join(dir, 'html', 'psrefmon.c.html'), 'utf8')).toContain('DriverEntry');
    expect(readdirSync(dir).sort()).toEqual(['cobertura-coverage.xml', 'html', 'lcov.info']);
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

  test('the DWARF line table reader: a hand-made DWARF 5 program (entry formats, .debug_line_str, MD5, file 1)', () => {
    const lineStr = new Uint8Array([...Buffer.from('/src'), 0]);
    const md5 = new Array<number>(16).fill(0xab);
    // version 5, address_size 4, seg 0, header_length (patched), min_inst 1, max_ops 1, default_is_stmt 1, line_base -5,
    // line_range 14, opcode_base 13, standard_opcode_lengths
    const header = [5, 0, 4, 0, 0, 0, 0, 0, 1, 1, 1, 0xfb, 14, 13, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1,
      // directories: one format (path, line_strp), one entry at offset 0 of .debug_line_str
      1, 1, 0x1f, 1, 0, 0, 0, 0,
      // files: path (string), directory_index (udata), MD5 (data16); two entries (clang repeats the main file as 0 and 1)
      3, 1, 0x08, 2, 0x0f, 5, 0x1e, 2, ...Buffer.from('b.c'), 0, 0, ...md5, ...Buffer.from('b.c'), 0, 0, ...md5];
    header.splice(4, 4, header.length - 8, 0, 0, 0);
    // set_address 0x20, advance_line 4 (line 5), copy; special opcode: address +2, line +3; end_sequence
    const program = [0, 5, 2, 0x20, 0, 0, 0, 3, 4, 1, 13 + (2 * 14) + (3 + 5), 0, 1, 1];
    const unit = [...header, ...program];
    const bytes = new Uint8Array([unit.length & 0xff, 0, 0, 0, ...unit]);
    expect(lineRows(bytes, lineStr)).toEqual([{ address: 0x20, file: '/src/b.c', line: 5 }, { address: 0x22, file: '/src/b.c', line: 8 }]);
  });

  test('lcov of a TypeScript module from V8 precise coverage: nested ranges, the smallest wins; branches from block ranges', () => {
    const dir = mkdtempSync(join(tmpdir(), 'psh-v8-'));
    const file = join(dir, 'm.js');
    const src = ['export function f(x) {', '  if (x) {', '    return 1;', '  }', '  return 2;', '}', ''].join('\n');
    writeFileSync(file, src);
    const at = (text: string): number => src.indexOf(text);
    const { files, summaries } = lcovFromV8({
      url: pathToFileURL(file).href,
      functions: [
        { isBlockCoverage: false, ranges: [{ startOffset: 0, endOffset: src.length, count: 1 }] },
        { isBlockCoverage: true, ranges: [{ startOffset: at('export function'), endOffset: src.length - 1, count: 3 }, { startOffset: at('{\n    return 1'), endOffset: at('  return 2'), count: 0 }] },
      ],
    });
    const [rec] = parseLcov(written(files).lcov);
    expect(rec.file).toBe(relative(process.cwd(), file));
    expect([...rec.da.entries()]).toEqual([[1, 3], [2, 3], [3, 0], [5, 3]]);
    expect(summaries[0].lines).toEqual({ hit: 3, total: 4 });
    expect(rec.brf).toBe(2);
    expect(rec.brh).toBe(1);
    expect(coverageLine(summaries[0])).toMatch(/lines 3\/4 \(75\.0%\), branches 1\/2 \(50\.0%\)/);
  });
});
