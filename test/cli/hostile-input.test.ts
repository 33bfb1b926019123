/**
 * Hostile and careless input: every case of the issue "Contain hostile drivers and hostile inputs" — exit code,
 * the one-line message, and that no finding or file is lost.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { buildReport, writeReport } from '../../src/harness/report.js';
import { getInvariant } from '../../src/invariants/index.js';
import { runAndCheck } from '../../src/harness/check.js';
import type { DriverModule } from '../../src/driver/index.js';
import { scenario, VOL, runCli } from '../helpers.js';
import { compileDriver } from '../../src/driver/wasm/compile.js';

const run = (argv: string[]): ReturnType<typeof runCli> => runCli(argv, () => performance.now());
const tmp = (p: string): string => mkdtempSync(join(tmpdir(), p));
const oneLine = (s: string): void => expect(s.trim().split('\n').length).toBe(1);

/** A real report of the seed driver, to break in every way a hostile file can. */
let good: Record<string, unknown>;
let goodFile: string;
beforeAll(async () => {
  const dir = tmp('psh-hi-');
  const r = await run(['fuzz', '--driver', 'seed', '--runs', '50', '--reports', dir, '--invariant', 'references-balanced']);
  expect(r.code).toBe(1);
  goodFile = join(dir, readdirSync(dir).find((f) => f.endsWith('.json')) as string);
  good = JSON.parse(readFileSync(goodFile, 'utf8')) as Record<string, unknown>;
}, 60_000);

function reportWith(edit: (r: Record<string, unknown>) => void): string {
  const r = JSON.parse(JSON.stringify(good)) as Record<string, unknown>;
  edit(r);
  const f = join(tmp('psh-hr-'), 'r.json');
  writeFileSync(f, JSON.stringify(r));
  return f;
}
const sc = (r: Record<string, unknown>): Record<string, unknown> => r.scenario as Record<string, unknown>;

describe('hangs become bounded findings or clear errors', () => {
  test('a notify routine that loops forever: exit 1 with the hang named, at once', async () => {
    // one CPU: a routine spinning on shared memory costs ~0.3 s a run in the fibers build (every access a scheduling point)
    const r = await run(['fuzz', '--driver', 'test/fixtures/hostile/loops.c', '--build', 'winxp-x86', '--runs', '100', '--no-reports', '--cpus', '1']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/routine-returns: OnProcess did not return within 1,000,000 units of work/);
  }, 60_000);

  test('a DriverEntry that never returns: exit 1', async () => {
    const r = await run(['fuzz', '--driver', 'test/fixtures/hostile/entry-loops.c', '--build', 'winxp-x86', '--runs', '20', '--no-reports']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/routine-returns: DriverEntry did not return/);
  }, 60_000);

  test('a report naming such a driver replays (exit 1) instead of hanging', async () => {
    const dir = tmp('psh-hl-');
    await run(['fuzz', '--driver', 'test/fixtures/hostile/loops.c', '--build', 'winxp-x86', '--runs', '100', '--reports', dir, '--cpus', '1']);
    const f = readdirSync(dir).find((x) => x.endsWith('.json')) as string;
    const r = await run(['replay', join(dir, f)]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/record identical/);
  }, 60_000);

  test.each([
    ['crowding 10^15', (r: Record<string, unknown>) => { sc(r).crowding = { process: 1e15, thread: 0, image: 0 }; }, /crowding\.process is 1000000000000000: must be <= 64/],
    ['crowding beyond the table', (r: Record<string, unknown>) => { sc(r).crowding = { process: 64, thread: 0, image: 0 }; sc(r).build = 'winxp-x86'; }, /crowding\.process 64 exceeds the process notify table's capacity on winxp-x86 \(8\)/],
    ['10^6 operations', (r: Record<string, unknown>) => { sc(r).ops = Array.from({ length: 1_000_000 }, () => ({ op: 'LoadDriver' })); }, /scenario\.ops must NOT have more than 10000 items/],
    ['op "toString"', (r: Record<string, unknown>) => { sc(r).ops = [{ op: 'toString' }]; }, /ops\.0\.op is "toString": must be one of/],
    ['op "constructor"', (r: Record<string, unknown>) => { sc(r).ops = [{ op: 'constructor' }]; }, /ops\.0\.op is "constructor": must be one of/],
    ['major "__proto__"', (r: Record<string, unknown>) => { sc(r).ops = [{ op: 'DeviceRequest', major: '__proto__' }]; }, /ops\.0\.major is "__proto__": must be one of "IRP_MJ_CREATE"/],
    ['a negative crowding', (r: Record<string, unknown>) => { sc(r).crowding = { process: -1, thread: 0, image: 0 }; }, /crowding\.process is -1: must be >= 0/],
    ['an unknown fault DDI', (r: Record<string, unknown>) => { sc(r).faults = [{ ddi: 'NtReadFile', nth: 1, status: 1 }]; }, /faults\.0\.ddi is "NtReadFile": must be one of/],
    ['nth -1', (r: Record<string, unknown>) => { sc(r).faults = [{ ddi: 'IoCreateDevice', nth: -1, status: 1 }]; }, /faults\.0\.nth is -1: must be >= 1/],
    ['an own-property trick', (r: Record<string, unknown>) => { sc(r).ops = [JSON.parse('{"op":"LoadDriver","__proto__":{"x":1}}')]; }, /ops\.0 has an unknown field "__proto__"/],
  ])('a report with %s: exit 2, one line', async (_what, edit, msg) => {
    const t0 = performance.now();
    const r = await run(['replay', reportWith(edit)]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(msg);
    oneLine(r.err);
    expect(performance.now() - t0).toBeLessThan(20_000);
  }, 30_000);

  test('--path 4294967296: exit 2 at once', async () => {
    const r = await run(['fuzz', '--driver', 'seed', '--path', '4294967296']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--path starts at run 4294967296, beyond --runs 1000/);
  });

  test('--junit under /proc: the findings are printed, then exit 2', async () => {
    const r = await run(['fuzz', '--driver', 'seed', '--runs', '20', '--no-reports', '--junit', '/proc/nope/x.xml']);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/✗ references-balanced/);
    expect(r.err).toMatch(/cannot write --junit \/proc\/nope\/x\.xml/);
    oneLine(r.err);
  });
});

describe('crashes become findings, NULL or clear errors', () => {
  test('1 MB blocks until NULL: the driver sees NULL, nothing false is reported', async () => {
    const { loadWasmDriver } = await import('../../src/driver/wasm/loader.js');
    const d = await loadWasmDriver('test/fixtures/hostile/pool-hog.c');
    const { applicableInvariants } = await import('../../src/harness/fuzz.js');
    const r = runAndCheck(d, scenario('winxp-x86', [{ op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\hog1.exe` }]), applicableInvariants(d));
    expect(r.record.bugCheck).toBeNull();
    expect(r.violations).toEqual([]);
    const printed = r.record.callbacks.flatMap((c) => c.prints.map((p) => p.text)).join('');
    const blocks = Number(/pool-hog: (\d+) blocks before NULL/.exec(printed)?.[1] ?? -1);
    expect(blocks).toBeGreaterThan(0);
    expect(blocks).toBeLessThan(512);
    const fuzzed = await run(['fuzz', '--driver', 'test/fixtures/hostile/pool-hog.c', '--build', 'winxp-x86', '--runs', '10', '--no-reports']);
    expect(fuzzed.code).toBe(0);
  }, 60_000);

  test('16-byte blocks in an endless loop: a bounded finding, no out-of-memory crash', async () => {
    const { loadWasmDriver } = await import('../../src/driver/wasm/loader.js');
    const d = await loadWasmDriver('test/fixtures/hostile/pool-hog.c');
    const s = scenario('winxp-x86', [{ op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\hog2.exe` }]);
    const r = runAndCheck(d, s, [getInvariant('routine-returns'), getInvariant('no-bugcheck')]);
    expect(r.record.bugCheck).toBeNull();
    expect(r.violations.map((v) => v.invariant)).toEqual(['routine-returns']);
    expect(r.violations[0].message).toMatch(/100,000 DDI calls/);
  }, 60_000);

  test.each([
    ['--reports names a file', (d: string) => { writeFileSync(join(d, 'f'), 'x'); return ['--reports', join(d, 'f')]; }, /cannot write reports to .*f: .*not a directory/],
    ['--reports under /proc', () => ['--reports', '/proc/nope/r'], /cannot write reports to \/proc\/nope\/r/],
    ['--junit names a directory', (d: string) => ['--no-reports', '--junit', d], /cannot write --junit .*: EISDIR/],
  ])('%s: every finding printed first, then exit 2 with one line', async (_what, args, msg) => {
    const d = tmp('psh-hw-');
    const r = await run(['fuzz', '--driver', 'seed', '--runs', '50', ...args(d)]);
    expect(r.code).toBe(2);
    expect(r.out.match(/^✗ /gm)?.length).toBeGreaterThanOrEqual(5);
    expect(r.err).toMatch(msg);
    oneLine(r.err);
    expect(readdirSync(d).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  test('a C-driver report whose build was changed: exit 2 naming the build when the driver has no image for it', async () => {
    const dir = tmp('psh-hx-');
    const wasm32 = join(dir, 'seed32.wasm');
    writeFileSync(wasm32, (await compileDriver('examples/drivers/wssprocmon.c')).wasm);
    await run(['fuzz', '--driver', wasm32, '--runs', '30', '--build', 'winxp-x86', '--reports', dir, '--invariant', 'references-balanced']);
    const f = join(dir, readdirSync(dir).find((x) => x.endsWith('.json')) as string);
    const r0 = JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>;
    sc(r0).build = 'win10-x64';
    writeFileSync(f, JSON.stringify(r0));
    const r = await run(['replay', f]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cannot run on win10-x64: the WebAssembly driver was built for x86 only/);
  }, 60_000);

  const wasm = (...sections: number[][]): string => {
    const f = join(tmp('psh-hwasm-'), 'x.wasm');
    writeFileSync(f, new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...sections.flat()]));
    return f;
  };
  const sec = (id: number, body: number[]): number[] => [id, body.length, ...body];
  const str = (s: string): number[] => [s.length, ...[...s].map((c) => c.charCodeAt(0))];
  test.each([
    ['a start function that loops', wasm(sec(1, [1, 0x60, 0, 0]), sec(3, [1, 0]), sec(8, [0]), sec(10, [1, 7, 0, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b])), /has a start function/],
    ['a start function that traps', wasm(sec(1, [1, 0x60, 0, 0]), sec(3, [1, 0]), sec(8, [0]), sec(10, [1, 3, 0, 0x00, 0x0b])), /has a start function/],
    // wasm-ld's .bss clearing is a memory.fill with 0; a fill with anything else is the driver running code
    ['a start function that fills memory with 1', wasm(sec(1, [1, 0x60, 0, 0]), sec(2, [1, 3, 0x65, 0x6e, 0x76, 6, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 2, 0, 1]), sec(3, [1, 0]), sec(8, [0]), sec(10, [1, 11, 0, 0x41, 0, 0x41, 1, 0x41, 4, 0xfc, 0x0b, 0x00, 0x0b])), /has a start function/],
    ['a start function that only zeroes memory (wasm-ld\'s .bss clearing: allowed, the next check speaks)', wasm(sec(1, [1, 0x60, 0, 0]), sec(2, [1, 3, 0x65, 0x6e, 0x76, 6, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 2, 0, 1]), sec(3, [1, 0]), sec(8, [0]), sec(10, [1, 11, 0, 0x41, 0, 0x41, 0, 0x41, 4, 0xfc, 0x0b, 0x00, 0x0b])), /does not export __heap_base/],
    ['a 20,000-page memory import', wasm(sec(2, [1, ...str('env'), ...str('memory'), 2, 0, 0xa0, 0x9c, 0x01])), /needs at least 20000 pages of memory \(env\.memory\)/],
    ['a global import', wasm(sec(2, [1, ...str('env'), ...str('g'), 3, 0x7f, 0])), /imports a global \(env\.g\)/],
    ['a table import', wasm(sec(2, [1, ...str('env'), ...str('t'), 1, 0x70, 0, 1])), /imports a table \(env\.t\)/],
    // 15 bytes that claim 2^32 - 1 exports: read to the section's end (this loop ran for minutes), then the compiler's reason
    ['an export count of 2^32 - 1 in a 5-byte section', wasm(sec(7, [0xff, 0xff, 0xff, 0xff, 0x0f])), /is not a WebAssembly module: .*exports count of 4294967295/],
    ['a parameter count of 2^32 - 1', wasm(sec(1, [1, 0x60, 0xff, 0xff, 0xff, 0xff, 0x0f, 0])), /is not a WebAssembly module: .*param count of 4294967295/],
  ])('a foreign .wasm with %s: exit 2 with the reason', async (_what, file, msg) => {
    const r = await run(['fuzz', '--driver', file]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(msg);
    oneLine(r.err);
  });
});

describe('nothing silently wrong', () => {
  test('--max-ops 100000 is refused; a campaign cut short by --time-limit is not a pass', async () => {
    const big = await run(['fuzz', '--driver', 'reference', '--time-limit', '3', '--max-ops', '100000']);
    expect(big.code).toBe(2);
    expect(big.err).toMatch(/--max-ops must be at most 10000/);
    const few = await run(['fuzz', '--driver', 'reference', '--time-limit', '1', '--max-ops', '10000', '--min-runs', '100000', '--no-reports']);
    expect(few.code).toBe(2);
    expect(few.err).toMatch(/only \d+ run\(s\) completed before --time-limit, fewer than --min-runs 100000/);
  }, 30_000);

  test('negative numbers: one line each', async () => {
    const a = await run(['fuzz', '--driver', 'seed', '--runs', '-5']);
    expect(a.code).toBe(2);
    expect(a.err).toBe("psharness: --runs must be a positive integer, got '-5'");
    const b = await run(['fuzz', '--driver', 'seed', '--seed', '-5', '--runs', '5', '--no-reports']);
    expect(b.code).toBe(1);
    expect(b.out).toMatch(/seed=-5/);
  });

  test('a "-2" report carries its own id and replay command', () => {
    const dir = tmp('psh-h2-');
    const f = runAndCheck(wrongName, scenario('winxp-x86', [{ op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` }]), [getInvariant('kernel-memory-owned')]);
    const args = { driver: 'x', invariant: getInvariant('kernel-memory-owned'), scenario: f.record as never, shrunkFrom: 1, violations: f.violations, record: f.record, fuzz: null, reportDir: dir };
    const one = buildReport({ ...args, scenario: scenario('winxp-x86', []) });
    const first = writeReport(dir, one, f.record);
    const other = writeReport(dir, { ...one, shrunkFrom: 7 }, f.record);
    expect(other.json).toMatch(/-2\.json$/);
    const saved = JSON.parse(readFileSync(other.json, 'utf8')) as { id: string; replay: string };
    expect(saved.id).toBe(`${one.id}-2`);
    expect(saved.replay).toMatch(new RegExp(`${one.id}-2\\.json$`));
    expect(JSON.parse(readFileSync(first.json, 'utf8')).id).toBe(one.id);
  });

  test('--invariant X,X gives one JUnit case', async () => {
    const d = tmp('psh-hj-');
    await run(['fuzz', '--driver', 'seed', '--runs', '20', '--no-reports', '--invariant', 'references-balanced,references-balanced', '--junit', join(d, 'j.xml')]);
    expect(readFileSync(join(d, 'j.xml'), 'utf8').match(/<testcase /g)?.length).toBe(1);
  });

  test('output with backtick runs cannot break out of the Markdown fence; a 4 KB+ format is read whole', async () => {
    const d = tmp('psh-hm-');
    const r = await run(['fuzz', '--driver', 'test/fixtures/hostile/long-format.c', '--build', 'winxp-x86', '--runs', '20', '--reports', d]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/dbgprint-limit/);
    const md = readFileSync(join(d, readdirSync(d).find((f) => f.endsWith('.md')) as string), 'utf8');
    expect(md).toMatch(/^\s*``````$/m); // longer than the five-backtick run the driver printed
    const json = JSON.parse(readFileSync(join(d, readdirSync(d).find((f) => f.endsWith('.json')) as string), 'utf8')) as { violations: { message: string }[] };
    expect(json.violations[0].message).toMatch(/4\d{3} bytes|43\d\d/);
  }, 60_000);

  test('temp files a killed run left are cleaned by the next run', async () => {
    const d = tmp('psh-ht-');
    const stale = join(d, '.seed-x.json.999999999.tmp');
    writeFileSync(stale, '{');
    await run(['fuzz', '--driver', 'seed', '--runs', '5', '--reports', d]);
    expect(existsSync(stale)).toBe(false);
  });

  test('a C-driver report names the driver relative to itself, with its hash, and replays from there', async () => {
    const d = join(tmp('psh-hrel-'), 'deep', 'er');
    mkdirSync(d, { recursive: true });
    await run(['fuzz', '--driver', 'examples/drivers/wssprocmon.c', '--runs', '30', '--build', 'winxp-x86', '--reports', d, '--invariant', 'references-balanced']);
    const f = join(d, readdirSync(d).find((x) => x.endsWith('.json')) as string);
    const rep = JSON.parse(readFileSync(f, 'utf8')) as { driver: string; driverSha256: string };
    expect(rep.driver.startsWith('../')).toBe(true);
    expect(rep.driver.endsWith('examples/drivers/wssprocmon.c')).toBe(true);
    expect(rep.driverSha256).toMatch(/^[0-9a-f]{64}$/);
    const r = await run(['replay', f]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/record identical/);
  }, 60_000);
});

/** A TypeScript driver that writes into an EPROCESS (a finding to write reports of). */
const wrongName: DriverModule = {
  name: 'wrong-name', description: 'writes EPROCESS', imports: ['PsSetCreateProcessNotifyRoutine'], logsEvents: false, parse: () => [],
  instantiate: () => ({
    DriverEntry(ddi) {
      const ProcessNotify = (_ppid: number, pid: number, create: boolean): void => {
        const p = { value: 0 };
        if (create && ddi.PsLookupProcessByProcessId(pid, p) === 0) ddi.WRITE_ULONG(p.value + 8, 0);
      };
      return ddi.PsSetCreateProcessNotifyRoutine(ProcessNotify, false);
    },
  }),
};
