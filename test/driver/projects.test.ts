/**
 * A driver is a project (issue 22): several sources, a directory, a Visual Studio project with its configurations
 * and platforms; C++ as MSVC's /kernel builds it; the WDK's header layout; compile errors in the user's own paths.
 * Each example has a broken twin caught with the finding it exists for, and the correct one passes.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { describe, expect, test } from 'vitest';
import { conditionHolds, DriverProjectError, isSourceProject, resolveProject } from '../../src/driver/wasm/project.js';
import { inspectModule, shortFunctionName } from '../../src/driver/wasm/module-info.js';
import { compileDriver } from '../../src/driver/wasm/compile.js';
import { runCli } from '../helpers.js';

const MULTIFILE = 'examples/drivers/multifile/multifile.vcxproj';

describe('resolving --driver to a project', () => {
  test('a .vcxproj: its ClCompile items, include directories and definitions for the configuration, per platform', () => {
    const p = resolveProject(MULTIFILE);
    expect(p.name).toBe('multifile');
    expect(p.configuration).toBe('Debug|Win32, Debug|x64'); // ARM64 has no build here
    for (const t of ['x86', 'x64'] as const) {
      const b = p.builds[t];
      expect(b?.units.map((u) => u.split('/').pop())).toEqual(['entry.c', 'callbacks.c', 'ioctl.c']); // unused.c is excluded
      expect(b?.includeDirs).toEqual([resolve('examples/drivers/multifile/inc')]); // $(DDK_INC_PATH) is the shim's
      expect(b?.defines).toEqual(['POOL_NX_OPTIN=1', 'DBG=1']);
    }
    expect(resolveProject(MULTIFILE, 'Broken').builds.x64?.defines).toEqual(['POOL_NX_OPTIN=1', 'MF_FORGET_IMAGE_ROUTINE']);
    // the directory holding the project is the project
    expect(resolveProject('examples/drivers/multifile').builds).toEqual(p.builds);
    expect(() => resolveProject(MULTIFILE, 'Release')).toThrow(/has no configuration 'Release' \(it has Debug, Broken; --configuration picks one\)/);
  });

  test('several files joined by commas, and a directory of sources', () => {
    const p = resolveProject('examples/drivers/multifile/entry.c,examples/drivers/multifile/callbacks.c');
    expect(p.name).toBe('entry');
    expect(p.builds.x86?.units).toHaveLength(2);
    expect(resolveProject('examples/drivers/cxxmon').builds.x64?.units.map((u) => u.split('/').pop())).toEqual(['cxxmon.cpp']);
    expect(isSourceProject('examples/drivers/cxxmon')).toBe(true);
    expect(isSourceProject('seed')).toBe(false);
    expect(() => resolveProject('a.c,notes.txt')).toThrow(DriverProjectError);
  });

  test('MSBuild conditions: the forms projects use, case-insensitive; any other form guards nothing', () => {
    const vars = { Configuration: 'Debug', Platform: 'x64' };
    expect(conditionHolds("'$(Configuration)|$(Platform)'=='Debug|x64'", vars)).toBe(true);
    expect(conditionHolds("'$(Configuration)|$(Platform)'=='debug|X64'", vars)).toBe(true);
    expect(conditionHolds("'$(Configuration)'!='Debug'", vars)).toBe(false);
    expect(conditionHolds("'$(Platform)'=='Win32' Or '$(Platform)'=='x64'", vars)).toBe(true);
    expect(conditionHolds("'$(Platform)'=='x64' and '$(Configuration)'=='Release'", vars)).toBe(false);
    expect(conditionHolds("Exists('foo.props')", vars)).toBe(false);
    expect(conditionHolds(undefined, vars)).toBe(true);
  });

  test('hostile or wrong projects: one line each, no crash', () => {
    const dir = mkdtempSync(join(tmpdir(), 'psh-proj-'));
    const write = (name: string, text: string): string => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    expect(() => resolveProject(write('a.vcxproj', '<Project><ItemGroup>'))).toThrow(/not a Visual Studio project/);
    expect(() => resolveProject(write('b.vcxproj', '<NotAProject/>'))).toThrow(/no <Project> element/);
    expect(() => resolveProject(write('c.vcxproj', '<Project><PropertyGroup><ConfigurationType>Application</ConfigurationType></PropertyGroup></Project>')))
      .toThrow(/is a Visual Studio 'Application' project, not a driver/);
    const deep = `<Project>${'<a>'.repeat(200)}${'</a>'.repeat(200)}</Project>`;
    expect(() => resolveProject(write('d.vcxproj', deep))).toThrow(DriverProjectError);
    // entity expansion is bounded (a billion laughs is refused, not expanded)
    const laughs = `<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]><Project><ItemGroup><ClCompile Include="&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;.c"/></ItemGroup></Project>`;
    expect(() => resolveProject(write('e.vcxproj', laughs))).toThrow(DriverProjectError);
    mkdirSync(join(dir, 'empty'));
    expect(() => resolveProject(join(dir, 'empty'))).toThrow(/holds no driver sources/);
  });

  test('C++ names as WinDbg shows them: qualified, without parameters', () => {
    expect(shortFunctionName('cxxmon::OnProcess(void*, void*, unsigned char)')).toBe('cxxmon::OnProcess');
    expect(shortFunctionName('cxxmon::AutoLock<cxxmon::FastMutex>::~AutoLock()')).toBe('cxxmon::AutoLock<cxxmon::FastMutex>::~AutoLock');
    expect(shortFunctionName('operator new(unsigned long, _POOL_TYPE, unsigned long)')).toBe('operator new');
    expect(shortFunctionName('Foo::operator()(int) const')).toBe('Foo::operator()');
    expect(shortFunctionName('DriverEntry')).toBe('DriverEntry');
  });
});

describe('the examples and their twins, on every build they load on', () => {
  const fuzz = (driver: string, ...more: string[]) => runCli(['fuzz', '--driver', driver, '--runs', '300', '--no-reports', '--profile', 'adversarial', ...more]);

  test('a multi-file C driver with a .vcxproj passes; its Broken configuration leaves a routine registered', async () => {
    const ok = await fuzz(MULTIFILE);
    expect(ok.err).not.toMatch(/error|warning/);
    expect(ok.code).toBe(0);
    const broken = await fuzz('examples/drivers/multifile', '--configuration', 'Broken');
    expect(broken.code).toBe(1);
    expect(broken.out).toMatch(/✗ unload-clean: after DriverUnload: image notify MfOnImage/);
    expect(broken.out).toMatch(/: 1 distinct finding\(s\) in 1 invariant\(s\)/); // the 0xCE it causes is the same finding
    // SARIF names the routine left registered, in the project's own file (a directory is no location)
    const sarif = join(mkdtempSync(join(tmpdir(), 'psh-sarif-')), 'r.sarif');
    expect((await fuzz('examples/drivers/multifile', '--configuration', 'Broken', '--sarif', sarif)).code).toBe(1);
    const [result] = (JSON.parse(readFileSync(sarif, 'utf8')) as { runs: { results: { locations: { physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number } }; logicalLocations?: { name: string }[] }[] }[] }[] }).runs[0].results;
    expect(result.locations.map((l) => [l.physicalLocation.artifactLocation.uri, l.logicalLocations?.[0].name])).toEqual([['examples/drivers/multifile/callbacks.c', 'MfOnImage']]);
    expect(result.locations[0].physicalLocation.region?.startLine).toBeGreaterThan(20);
  }, 300_000);

  test('a C++ monitor (RAII guard template, pool-backed new/delete, a bounded list read with ReadFile) passes; its twins leak at unload and deliver an event twice', async () => {
    const ok = await fuzz('examples/drivers/cxxmon');
    expect(ok.code).toBe(0);
    expect(ok.err).not.toMatch(/error/);
    expect(ok.err).toMatch(/prints no events \(its log spec declares none; they go to a client\)/);
    const leak = await fuzz('examples/drivers/cxxmon-leak/cxxmon-leak.cpp');
    expect(leak.code).toBe(1);
    expect(leak.out).toMatch(/✗ pool-released: after DriverUnload: \d+ pool block\(s\) not freed \(Xmon:/);
    // the client opens \\.\CxxMon and reads; a read that leaves the events queued hands one out twice: one finding
    // whichever event it is
    const reread = await fuzz('examples/drivers/cxxmon-reread/cxxmon-reread.cpp');
    expect(reread.code).toBe(1);
    expect(reread.out).toMatch(/✗ device-events-delivered: the client read the [a-z-]+ of PID \d+( TID \d+)? (a second time|\d+ times)/);
    expect(reread.out).toMatch(/ReadFile on F\d+: \d+ bytes/);
    expect(reread.out).toMatch(/: 1 distinct finding\(s\) in 1 invariant\(s\)/);
  }, 300_000);

  test('an ObRegisterCallbacks driver through ntddk.h alone compiles and passes', async () => {
    const r = await fuzz('examples/drivers/obguard.c', '--runs', '100');
    expect(r.err).not.toMatch(/warning|error/);
    expect(r.code).toBe(0);
  }, 300_000);
});

describe('MSVC dialect and compile errors in the user\'s terms', () => {
  test('__declspec, __int64, #pragma alloc_text, L#x, C_ASSERT and NT_ASSERT compile as under MSVC', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psh-msvc-'));
    const file = join(dir, 'dialect.c');
    writeFileSync(file, [
      '#include <ntddk.h>',
      '#define WIDEN(x) L#x',
      'C_ASSERT(sizeof(ULONG) == 4);',
      '__declspec(noinline) static int Twice(unsigned __int64 v) { return (int)(v * 2); }',
      '#pragma alloc_text(PAGE, Twice)',
      'static VOID Unload(PDRIVER_OBJECT d) { UNREFERENCED_PARAMETER(d); }',
      'NTSTATUS DriverEntry(PDRIVER_OBJECT d, PUNICODE_STRING r) {',
      '  const WCHAR *s = WIDEN(hello); UNREFERENCED_PARAMETER(r); (void)s;',
      '  NT_ASSERT(Twice(1) == 2);',
      '  d->DriverUnload = Unload;',
      '  return PsGetCurrentProcessId() != NULL && Twice(2) == 4 ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;',
      '}',
      '',
    ].join('\n'));
    const r = await runCli(['fuzz', '--driver', file, '--runs', '20', '--no-reports']);
    expect(r.err).not.toMatch(/error/);
    expect(r.code).toBe(0);
  }, 300_000);

  test('ntintsafe.h and intrin.h: overflow checked as documented; an _Interlocked intrinsic is the kernel-visible atomic', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psh-intrin-'));
    const file = join(dir, 'safe.c');
    writeFileSync(file, [
      '#include <ntddk.h>',
      '#include <ntintsafe.h>',
      '#include <intrin.h>',
      'static LONG gCount;',
      'static VOID Unload(PDRIVER_OBJECT d) { UNREFERENCED_PARAMETER(d); }',
      'NTSTATUS DriverEntry(PDRIVER_OBJECT d, PUNICODE_STRING r) {',
      '  ULONG sum; USHORT narrow; SIZE_T bytes;',
      '  UNREFERENCED_PARAMETER(r); d->DriverUnload = Unload;',
      '  if (RtlULongAdd(0xfffffff0UL, 0x20, &sum) != STATUS_INTEGER_OVERFLOW || sum != ULONG_ERROR) return STATUS_UNSUCCESSFUL;',
      '  if (RtlULongAdd(1, 2, &sum) != STATUS_SUCCESS || sum != 3) return STATUS_UNSUCCESSFUL;',
      '  if (RtlULongToUShort(0x10000, &narrow) != STATUS_INTEGER_OVERFLOW || narrow != USHORT_ERROR) return STATUS_UNSUCCESSFUL;',
      '  if (RtlSizeTMult(sizeof(ULONG), 16, &bytes) != STATUS_SUCCESS || bytes != 64) return STATUS_UNSUCCESSFUL;',
      '  return _InterlockedIncrement(&gCount) >= 1 ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;',
      '}',
      '',
    ].join('\n'));
    const r = await runCli(['fuzz', '--driver', file, '--runs', '20', '--no-reports']);
    expect(r.err).not.toMatch(/error|warning/);
    expect(r.code).toBe(0); // DriverEntry fails (entry-failure-justified) if any check above is wrong
    for (const target of ['x86', 'x64'] as const) {
      const c = await compileDriver(file, {}, [], target);
      expect(inspectModule(c.wasm).imports.map((i) => i.name)).toContain('atomic_begin'); // (wasm64 on x64: read, not compiled)
    }
  }, 300_000);

  test('wdmsec.h: IoCreateDeviceSecure is IoCreateDevice with a security descriptor (wdmsec.lib), its device made and deleted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psh-wdmsec-'));
    const file = join(dir, 'secure.c');
    writeFileSync(file, [
      '#include <ntddk.h>',
      '#include <wdmsec.h>',
      'static PDEVICE_OBJECT gDevice;',
      'static UNICODE_STRING gName = RTL_CONSTANT_STRING(L"\\\\Device\\\\Secure");',
      'static VOID Unload(PDRIVER_OBJECT d) { UNREFERENCED_PARAMETER(d); IoDeleteDevice(gDevice); }',
      'NTSTATUS DriverEntry(PDRIVER_OBJECT d, PUNICODE_STRING r) {',
      '  NTSTATUS s;',
      '  UNREFERENCED_PARAMETER(r);',
      '  s = IoCreateDeviceSecure(d, 0, &gName, FILE_DEVICE_UNKNOWN, FILE_DEVICE_SECURE_OPEN, FALSE, &SDDL_DEVOBJ_SYS_ALL_ADM_ALL, NULL, &gDevice);',
      '  if (!NT_SUCCESS(s)) return s;',
      '  d->DriverUnload = Unload;',
      '  return STATUS_SUCCESS;',
      '}',
      '',
    ].join('\n'));
    const r = await runCli(['fuzz', '--driver', file, '--runs', '200', '--no-reports']);
    expect(r.err).not.toMatch(/error|warning/);
    expect(r.code).toBe(0);
    const forget = join(dir, 'forget.c');
    writeFileSync(forget, readFileSync(file, 'utf8').replace('IoDeleteDevice(gDevice);', ''));
    const leak = await runCli(['fuzz', '--driver', forget, '--runs', '200', '--no-reports']);
    expect(leak.code).toBe(1);
    expect(leak.out).toMatch(/\\Device\\Secure/); // the device DriverUnload left
  }, 300_000);

  test('a compile error names the file as the user does, with line and column; the clang version once; exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psh-bad-'));
    mkdirSync(join(dir, 'inc'));
    writeFileSync(join(dir, 'inc', 'broken.h'), 'int x = ;\n');
    writeFileSync(join(dir, 'main.c'), '#include <ntddk.h>\n#include "inc\\broken.h"\nNTSTATUS DriverEntry(PDRIVER_OBJECT d, PUNICODE_STRING r) { return 0 }\n');
    const r = await runCli(['fuzz', '--driver', join(dir, 'main.c'), '--runs', '1']);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${join(dir, 'inc', 'broken.h')}:1:9: error:`); // the backslash include found the header
    expect(r.err).toContain(`${join(dir, 'main.c')}:3:`);
    expect(r.err).not.toMatch(/(^|\s)drv\//m);
    expect(r.err.match(/clang 22/g)).toHaveLength(1);
    const kmdf = join(dir, 'kmdf.c');
    writeFileSync(kmdf, '#include <wdf.h>\n');
    expect((await runCli(['fuzz', '--driver', kmdf, '--runs', '1'])).err).toMatch(/psharness does not support KMDF drivers \(wdf\.h\) yet/);
  }, 300_000);

  test('C++: an operator delete the driver does not define is refused by its signature; a global constructor is said not to run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psh-cxx-'));
    const common = [
      '#include <ntddk.h>',
      'void* __cdecl operator new(size_t n, POOL_TYPE p) { return ExAllocatePoolWithTag(p, n, \'xxxC\'); }',
      'void __cdecl operator delete(void* p) { ExFreePool(p); }',
      'struct Item { int v; };',
    ];
    writeFileSync(join(dir, 'nodelete.cpp'), [...common,
      'extern "C" NTSTATUS DriverEntry(PDRIVER_OBJECT, PUNICODE_STRING) { auto i = new (NonPagedPool) Item; if (i == nullptr) return STATUS_NO_MEMORY; delete i; return STATUS_UNSUCCESSFUL; }', ''].join('\n'));
    const r = await runCli(['fuzz', '--driver', join(dir, 'nodelete.cpp'), '--runs', '1']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/imports routines the simulated kernel lacks: operator delete\(void\*, unsigned (long|int)\) \(env\._ZdlPv[mj]\): a C\+\+ driver defines its own operator new and delete .*LNK2019/);
    // unique text: a cache hit would carry no build diagnostics
    writeFileSync(join(dir, 'ctor.cpp'), [`// ${dir}`, ...common,
      'void __cdecl operator delete(void* p, size_t) { ExFreePool(p); }',
      'static ULONG Seed() { return (ULONG)KeGetCurrentIrql() + 7; }',
      'struct Config { ULONG limit; Config() : limit(Seed()) {} };',
      'Config gConfig;',
      'static VOID Unload(PDRIVER_OBJECT) {}',
      // Windows never runs the constructor: limit is 0 here as there
      'extern "C" NTSTATUS DriverEntry(PDRIVER_OBJECT d, PUNICODE_STRING) { d->DriverUnload = Unload; return gConfig.limit == 0 ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL; }', ''].join('\n'));
    const c = await runCli(['fuzz', '--driver', join(dir, 'ctor.cpp'), '--runs', '20', '--no-reports']);
    expect(c.err).toMatch(/ctor\.cpp: warning: global objects with dynamic initialisers are not constructed: MSVC's \/kernel links no CRT/);
    expect(c.code).toBe(0); // the constructor never ran: DriverEntry saw limit 0
    // built again from the cache: what the build said is said again
    const again = await runCli(['fuzz', '--driver', join(dir, 'ctor.cpp'), '--runs', '1', '--no-reports']);
    expect(again.err).toMatch(/ctor\.cpp: warning: global objects with dynamic initialisers are not constructed/);
  }, 300_000);
});

describe('reports of a project replay the project as it was fuzzed', () => {
  test('a .vcxproj configuration is kept in the report: replay and --from-report build the Broken twin again, not Debug', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psh-projrep-'));
    const r = await runCli(['fuzz', '--driver', 'examples/drivers/multifile', '--configuration', 'Broken', '--runs', '300', '--reports', dir, '--max-findings', '1']);
    expect(r.code).toBe(1);
    const json = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
    expect(json.length).toBeGreaterThan(0);
    const report = JSON.parse(readFileSync(join(dir, json[0]), 'utf8')) as { driver: string; fuzz: { configuration?: string } };
    expect(report.fuzz.configuration).toBe('Broken');
    expect(report.driver).toBe(relative(dir, resolve('examples/drivers/multifile')).split(sep).join('/')); // a directory, relative to the report
    const replay = await runCli(['replay', join(dir, json[0])]);
    expect(replay.code).toBe(1); // still failing: the Debug build (which has the fix) is not what the report was about
    const again = await runCli(['fuzz', '--from-report', join(dir, json[0]), '--no-reports']);
    expect(again.code).toBe(1);
  }, 300_000);

  test('several sources joined by commas load, compile and link as one image', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psh-comma-'));
    writeFileSync(join(dir, 'entry.c'), '#include <ntddk.h>\nNTSTATUS Register(VOID);\nstatic VOID Unload(PDRIVER_OBJECT d) { UNREFERENCED_PARAMETER(d); PsRemoveLoadImageNotifyRoutine(0); }\n'
      + 'NTSTATUS DriverEntry(PDRIVER_OBJECT d, PUNICODE_STRING r) { UNREFERENCED_PARAMETER(r); d->DriverUnload = Unload; return Register(); }\n');
    writeFileSync(join(dir, 'image.c'), '#include <ntddk.h>\nstatic VOID OnImage(PUNICODE_STRING n, HANDLE p, PIMAGE_INFO i) { UNREFERENCED_PARAMETER(n); UNREFERENCED_PARAMETER(p); UNREFERENCED_PARAMETER(i); }\n'
      + 'NTSTATUS Register(VOID) { return PsSetLoadImageNotifyRoutine(OnImage); }\n');
    const r = await runCli(['fuzz', '--driver', `${join(dir, 'entry.c')},${join(dir, 'image.c')}`, '--runs', '100', '--no-reports']);
    expect(r.err).not.toMatch(/error/);
    // Unload removes NULL, not OnImage: the routine in the other file is left registered
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/✗ unload-clean: after DriverUnload: image notify OnImage/);
  }, 300_000);
});

