import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { main, type Io } from '../../src/cli/main.js';
import { validateLogSpec, linePattern, parserFromSpec, LogSpecError } from '../../src/driver/log-spec.js';
import { compileDriver } from '../../src/driver/wasm/compile.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), now: () => 0 };
  return { code: await main(argv, io), out: out.join('\n'), err: err.join('\n') };
}

function driverFile(name: string, text: string, spec?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'psh-c-'));
  writeFileSync(join(dir, name), text);
  if (spec !== undefined) writeFileSync(join(dir, name.replace(/\.c$/, '.psharness.json')), spec);
  return join(dir, name);
}

describe('C drivers: bad input gets a clear error and exit 2', () => {
  test('a driver that does not compile: the compiler\'s diagnostics, then one line', async () => {
    const f = driverFile('broken.c', '#include <ntddk.h>\nNTSTATUS DriverEntry(PDRIVER_OBJECT d, PUNICODE_STRING r) { return undeclared_thing; }\n');
    const r = await run(['fuzz', '--driver', f, '--runs', '5']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/broken\.c:2:\d+: error: use of undeclared identifier 'undeclared_thing'/);
    expect(r.err.split('\n').at(-1)).toMatch(/^psharness: .*broken\.c does not compile/);
  }, 60_000);

  test('a driver importing a routine the kernel lacks: named', async () => {
    const f = driverFile('needs.c', '#include <ntddk.h>\nNTSTATUS ZwFrobnicate(void);\nNTSTATUS DriverEntry(PDRIVER_OBJECT d, PUNICODE_STRING r) { return ZwFrobnicate(); }\n');
    const r = await run(['fuzz', '--driver', f, '--runs', '5']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/imports routines the simulated kernel lacks: env\.ZwFrobnicate/);
  }, 60_000);

  test('no log spec: only the invariants that need no output, and asking for one is refused', async () => {
    const src = '#include <ntddk.h>\nstatic VOID P(HANDLE a, HANDLE b, BOOLEAN c) { }\n'
      + 'NTSTATUS DriverEntry(PDRIVER_OBJECT d, PUNICODE_STRING r) { return PsSetCreateProcessNotifyRoutine(P, FALSE); }\n';
    const f = driverFile('quiet.c', src);
    const ok = await run(['fuzz', '--driver', f, '--runs', '50', '--no-reports']);
    expect(ok.err).toContain('has no log spec: checking only the invariants that need no output');
    // it never removes its routine and has no DriverUnload: caught without reading any output
    expect(ok.code).toBe(1);
    expect(ok.out).toMatch(/driver-unloadable/);
    const refused = await run(['fuzz', '--driver', f, '--invariant', 'events-logged-once']);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/reads the driver's log, and .*quiet\.c has no log spec/);
  }, 60_000);

  test('a malformed log spec is named', async () => {
    const f = driverFile('spec.c', '#include <ntddk.h>\nNTSTATUS DriverEntry(PDRIVER_OBJECT d, PUNICODE_STRING r) { return 0; }\n', '{"format": "psharness-log/1", "events": [{"kind": "boot", "pattern": "x"}]}');
    const r = await run(['fuzz', '--driver', f, '--runs', '5']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/events\.0\.kind must be one of/);
  }, 60_000);

  test('a prebuilt wasm32 module on an x64 build is refused (a .c driver is compiled for both)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psh-w32-'));
    const f = join(dir, 'seed32.wasm');
    writeFileSync(f, (await compileDriver('examples/drivers/wssprocmon.c')).wasm);
    const r = await run(['fuzz', '--driver', f, '--build', 'win10-x64']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cannot run on win10-x64: the WebAssembly driver was built for x86 only/);
    // the same module runs on the x86 builds
    expect((await run(['fuzz', '--driver', f, '--build', 'winxp-x86', '--runs', '5', '--no-reports'])).err).not.toMatch(/cannot run/);
  }, 60_000);

  test('missing file and wrong extension', async () => {
    expect((await run(['fuzz', '--driver', '/nonexistent/x.c'])).err).toMatch(/no such driver file/);
    const f = driverFile('x.wasm', 'not wasm');
    const r = await run(['fuzz', '--driver', f]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/is not a WebAssembly module/);
  });
});

const EV = [{ kind: 'process-create', pattern: '^x (?<pid>\\d+)$' }];
/** kind at 0, pid at 4 (x86) or 8 (x64), pointer-sized */
const FIELDS = [{ name: 'kind', offset: 0, type: 'ULONG' }, { name: 'pid', offset: { x86: 4, x64: 8 }, type: 'ULONG_PTR' }];

describe('log specs', () => {
  test.each([
    [null, /is not an object/],
    [{ format: 'x', events: [] }, /format must be "psharness-log\/1"/],
    [{ format: 'psharness-log/1', events: [] }, /events is empty and none of device.events, registry and files declares anything/],
    [{ format: 'psharness-log/1', events: [], files: { guards: [{ path: 'Windows\\x.sys', writers: [] }] } }, /files\.guards\.0\.path must match pattern/],
    [{ format: 'psharness-log/1', events: [], files: { guards: [] } }, /files\.guards must be a non-empty array/],
    [{ format: 'psharness-log/1', events: [{ kind: 'image-load', pattern: '^(a)\\1$' }] }, /not a linear-time \(RE2\) regular expression/],
    [{ format: 'psharness-log/1', events: [{ kind: 'image-load', pattern: 'x', colour: 1 }] }, /events\.0 has an unknown field "colour"/],
    [{ format: 'psharness-log/1', events: [{ kind: 'image-load', pattern: '(' }] }, /not a valid regular expression/],
    [{ format: 'psharness-log/1', events: [{ kind: 'image-load', pattern: '(?<colour>x)' }] }, /unknown field 'colour'/],
    // each family has its own fields: a file line names no key, a registry line no path, a notification no value
    [{ format: 'psharness-log/1', events: [{ kind: 'file-write', pattern: '^W (?<key>.*)$' }] }, /a file-write event has no field 'key' \(its fields: pid, path\)/],
    [{ format: 'psharness-log/1', events: [{ kind: 'registry-set-value', pattern: '^S (?<path>.*)$' }] }, /a registry-set-value event has no field 'path'/],
    [{ format: 'psharness-log/1', events: [{ kind: 'process-create', pattern: '^C (?<value>.*)$' }] }, /a process-create event has no field 'value'/],
    [{ format: 'psharness-log/1', events: [{ kind: 'file-write', pattern: 'x' }], monitors: ['file-open'] }, /monitors\.0 must be one of/],
    [{ format: 'psharness-log/1', events: EV, notMonitoring: [{ kind: 'file-write', pattern: 'x' }] }, /notMonitoring\.0\.kind must be one of process-create/],
    [{ format: 'psharness-log/1', events: EV, device: { ioctls: [{ code: '222000' }] } }, /device\.ioctls\.0\.code must match pattern/],
    [{ format: 'psharness-log/1', events: EV, device: { events: { ioctl: '0x222000', size: 8, fields: [{ name: 'pid', offset: 0, type: 'ULONG' }, { name: 'tid', offset: 4, type: 'ULONG' }], kinds: { 1: 'process-create' } } } }, /device\.events\.fields has no "kind" field/],
    [{ format: 'psharness-log/1', events: EV, device: { events: { ioctl: '0x222000', size: { x86: 8, x64: 12 }, fields: FIELDS, kinds: { 1: 'process-create' } } } }, /device\.events field "pid" ends past the record's 12 bytes \(x64\)/],
    [{ format: 'psharness-log/1', events: EV, device: { events: { size: 16, fields: FIELDS, kinds: { 1: 'process-create' } } } }, /says neither which ioctl nor whether ReadFile returns the records/],
    [{ format: 'psharness-log/1', events: EV, device: { events: { ioctl: '0x222002', size: 16, fields: FIELDS, kinds: { 1: 'process-create' } } } }, /uses direct I\/O \(MDLs\), which is not modelled/],
    [{ format: 'psharness-log/1', events: EV, device: { events: { ioctl: '0x222000', size: 16, fields: FIELDS, kinds: { 1: 'process-birth' } } } }, /must be one of process-create/],
  ])('%j is refused', (spec, msg) => {
    expect(() => validateLogSpec(spec, 'spec.json')).toThrow(LogSpecError);
    expect(() => validateLogSpec(spec, 'spec.json')).toThrow(msg);
  });

  test('registry and file lines read back with their fields: pid, key and value; pid and path', () => {
    const parse = parserFromSpec(validateLogSpec({ format: 'psharness-log/1', monitors: ['registry-set-value', 'file-write'], events: [
      { kind: 'registry-set-value', pattern: '^SET (?<pid>\\d+) (?<key>\\\\\\S+) (?<value>.*)$' },
      { kind: 'file-write', pattern: '^WRITE (?<pid>\\d+) (?:\\?|(?<path>.+))$' },
    ] }, 'x'));
    expect(parse(['SET 12 \\REGISTRY\\MACHINE\\X Updater', 'WRITE 4 \\Users\\a.txt', 'WRITE 4 ?'])).toEqual([
      { kind: 'registry-set-value', pid: 12, key: '\\REGISTRY\\MACHINE\\X', value: 'Updater', line: 'SET 12 \\REGISTRY\\MACHINE\\X Updater' },
      { kind: 'file-write', pid: 4, path: '\\Users\\a.txt', line: 'WRITE 4 \\Users\\a.txt' },
      { kind: 'file-write', pid: 4, line: 'WRITE 4 ?' },
    ]);
  });

  test('a spec that only guards files is a spec: the guards come through', () => {
    const spec = validateLogSpec({ format: 'psharness-log/1', events: [], files: { guards: [{ path: '\\Windows\\System32\\drivers\\%SERVICE%.sys', writers: ['System'] }] } }, 'x');
    expect(spec.files?.guards).toEqual([{ path: '\\Windows\\System32\\drivers\\%SERVICE%.sys', writers: ['System'] }]);
  });

  test('a pattern that backtracks catastrophically (^CREATE (a+)+$) matches in linear time', () => {
    const parse = parserFromSpec(validateLogSpec({ format: 'psharness-log/1', events: [{ kind: 'process-create', pattern: '^CREATE (a+)+$' }] }, 'x'));
    const line = `CREATE ${'a'.repeat(5000)}b`; // exponential on a backtracking engine alone
    const t0 = performance.now();
    expect(parse([line, 'CREATE aaa'])).toEqual([{ kind: 'process-create', line: 'CREATE aaa' }]);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  test('a pattern V8\'s linear engine refuses ((.*a){20}, (a{1,20}){1,20}) runs on RE2: linear, the same events', () => {
    const spec = { format: 'psharness-log/1', events: [
      { kind: 'process-create', pattern: '^PROC CREATE pid=(?<pid>\\d+) (?<name>x)?(.*a){20}$' },
      { kind: 'process-exit', pattern: '^PROC EXIT (?<pid>\\d+) (a{1,20}){1,20}$' },
    ] };
    const parse = parserFromSpec(validateLogSpec(spec, 'x'));
    const t0 = performance.now();
    expect(parse([`PROC CREATE pid=12 ${'a'.repeat(40)}b`, `PROC EXIT 9 ${'a'.repeat(40)}b`, `PROC CREATE pid=12 ${'a'.repeat(21)}`, `PROC EXIT 9 ${'a'.repeat(25)}`])).toEqual([
      { kind: 'process-create', pid: 12, line: `PROC CREATE pid=12 ${'a'.repeat(21)}` },
      { kind: 'process-exit', pid: 9, line: `PROC EXIT 9 ${'a'.repeat(25)}` },
    ]);
    expect(performance.now() - t0).toBeLessThan(2000); // V8's backtracking: minutes on the first two lines
    // RE2's match gives the groups a JavaScript match gives, in the same order
    const re2 = linePattern('^(?<pid>\\d+) (?<name>\\S+)?(.*a){20}$');
    expect(re2).not.toBeInstanceOf(RegExp);
    expect(re2.exec(`7 n ${'a'.repeat(20)}`)?.groups).toEqual({ pid: '7', name: 'n' });
    expect(re2.exec(`7 ${'a'.repeat(20)}`)?.groups).toEqual({ pid: '7', name: undefined });
    expect(re2.test('7 b')).toBe(false);
    expect(linePattern('^(?<pid>\\d+)$')).toBeInstanceOf(RegExp); // the fast engine where the linear one stands behind it
  });

  test('fields, hex, next lines, continuations and the null path', () => {
    const parse = parserFromSpec(validateLogSpec({
      format: 'psharness-log/1',
      events: [
        { kind: 'process-create', pattern: '^P (?<pid>[0-9a-f]+) (?<name>\\S+)$', hex: ['pid'] },
        { kind: 'image-load', pattern: '^I (?<pid>\\d+) (?<imagePath>.*)$', next: '^B (?<base>[0-9a-f]+) (?<size>\\d+)$', continue: '^\\+ (?<imagePath>.*)$' },
      ],
    }, 'x'));
    expect(parse(['P 1c a.exe', 'I 4 \\a', 'B 7ff 10', '+ \\b', 'noise', 'I 0 (null)'])).toEqual([
      { kind: 'process-create', pid: 28, name: 'a.exe', line: 'P 1c a.exe' },
      { kind: 'image-load', pid: 4, imagePath: '\\a\\b', base: '0x7FF', size: 10, line: 'I 4 \\a\nB 7ff 10\n+ \\b' },
      { kind: 'image-load', pid: 0, imagePath: null, line: 'I 0 (null)' },
    ]);
  });

  test('a path logged only in pieces: no piece is an empty path, an empty piece is counted', () => {
    const parse = parserFromSpec(validateLogSpec({
      format: 'psharness-log/1',
      events: [{ kind: 'image-load', pattern: '^I (?<pid>\\d+)$', next: '^  (?<imagePath>.*)$', continue: '^  (?<imagePath>.*)$', null: '(no name)' }],
    }, 'x'));
    expect(parse(['I 4', 'I 8', '  (no name)', 'I 12', '  \\a', '  \\b', '  '])).toEqual([
      { kind: 'image-load', pid: 4, imagePath: '', line: 'I 4' },
      { kind: 'image-load', pid: 8, imagePath: null, line: 'I 8\n  (no name)' },
      { kind: 'image-load', pid: 12, imagePath: '\\a\\b', emptyContinuations: 1, line: 'I 12\n  \\a\n  \\b\n  ' },
    ]);
  });
});
