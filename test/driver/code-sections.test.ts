/**
 * Code sections (issue 22: `#pragma alloc_text`/`code_seg` tied to the paged-code rule): a function the driver puts
 * in PAGE that runs at DISPATCH_LEVEL is 0xD1 under the verifier (Force IRQL Checking), one in INIT that runs after
 * DriverEntry returned is 0x50; a correct driver placed the way WDK samples place code passes, on every build.
 */
import { describe, expect, test } from 'vitest';
import { decodeCodeSections, encodeCodeSections, MAX_CODE_SECTION_ENTRIES, sectionKind, sectionsFromIr, withoutCrossSectionInlining } from '../../src/driver/wasm/code-sections.js';
import { loadWasmDriver } from '../../src/driver/wasm/loader.js';
import { runAndCheck } from '../../src/harness/check.js';
import type { Scenario } from '../../src/model/index.js';
import { mutatedCopy, runCli, scenario, VOL } from '../helpers.js';

const PAGEDMON = 'test/fixtures/sections/pagedmon.c';
const PAGEDCXX = 'test/fixtures/sections/pagedcxx.cpp';
const fuzz = (driver: string, ...more: string[]) => runCli(['fuzz', '--driver', driver, '--runs', '300', '--no-reports', '--profile', 'adversarial', ...more]);

describe('where the IR says each function went', () => {
  const ir = [
    'define hidden i32 @DriverEntry(ptr noundef %d, ptr noundef %r) #0 section "INIT" {',
    'entry:',
    '  call void @Helper() #3, !dbg !12',
    '  call void @Forced()',
    '  ret i32 0',
    '}',
    'define internal void @Helper() #0 {',
    '}',
    'define internal void @Forced() #1 {',
    '}',
    'define internal void @Other() #0 {',
    '}',
    'define linkonce_odr void @"_ZN2pc7Counter8OnCreateEh"(ptr %this, i8 %c) #0 section "PAGEdata" {',
    '}',
    'define void @g() #0 section ".text$mn" {',
    '}',
    'attributes #0 = { nounwind "no-builtins" }',
    'attributes #1 = { alwaysinline nounwind }',
  ].join('\n');

  test('PAGE… and INIT… sections, by symbol; other sections are no rule', () => {
    expect(sectionsFromIr(ir)).toEqual([['DriverEntry', 'INIT'], ['_ZN2pc7Counter8OnCreateEh', 'PAGEdata']]);
    expect(sectionKind('PAGE')).toBe('pageable');
    expect(sectionKind('INIT')).toBe('discardable');
    expect(sectionKind('.text')).toBeUndefined();
  });

  test('no inlining across sections: a placed function and the other-section functions it calls keep their own code', () => {
    const out = withoutCrossSectionInlining(ir).split('\n');
    expect(out[0]).toBe('define hidden i32 @DriverEntry(ptr noundef %d, ptr noundef %r) noinline #0 section "INIT" {');
    expect(out[6]).toBe('define internal void @Helper() noinline #0 {'); // called from INIT code, not in INIT
    expect(out[8]).toBe('define internal void @Forced() #1 {'); // __forceinline: MSVC inlines it wherever it is
    expect(out[10]).toBe('define internal void @Other() #0 {'); // nobody placed calls it
    expect(out[12]).toContain('noinline #0 section "PAGEdata"');
    // a unit that places nothing is compiled unchanged
    const plain = 'define void @f() #0 {\n}\nattributes #0 = { nounwind }';
    expect(withoutCrossSectionInlining(plain)).toBe(plain);
  });

  test('the image\'s list: malformed or hostile reads as no list, and is bounded', () => {
    expect(decodeCodeSections(encodeCodeSections([['f', 'PAGE'], ['g', 'INIT'], ['h', '.text']]))).toEqual([['f', 'pageable', 'PAGE'], ['g', 'discardable', 'INIT']]);
    expect(decodeCodeSections(undefined)).toEqual([]);
    expect(decodeCodeSections(new TextEncoder().encode('{"not":"a list"}'))).toEqual([]);
    expect(decodeCodeSections(new TextEncoder().encode('[[1,2],["f"],"x",["f","PAGE"]]'))).toEqual([['f', 'pageable', 'PAGE']]);
    expect(decodeCodeSections(new TextEncoder().encode('[[['))).toEqual([]);
    const many = Array.from({ length: MAX_CODE_SECTION_ENTRIES + 10 }, (_, i) => [`f${i}`, 'PAGE'] as const);
    expect(decodeCodeSections(encodeCodeSections(many))).toHaveLength(MAX_CODE_SECTION_ENTRIES);
  });
});

describe('in this process: the kernel\'s side of each rule', () => {
  const createP1: Scenario['ops'] = [{ op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` }];
  test('PAGE code at DISPATCH_LEVEL: 0xD1 naming the function, its address P1 = P4 in the image; at PASSIVE_LEVEL nothing', async () => {
    const spin = await loadWasmDriver(await mutatedCopy(PAGEDMON, '    if (Create) PmCount();',
      '    if (Create) { KIRQL old; KeAcquireSpinLock(&gLock, &old); gCreates++; KeReleaseSpinLock(&gLock, old); }'));
    const r = runAndCheck(spin, scenario('win10-x64', createP1));
    const b = r.record.bugCheck;
    expect(b?.code).toBe(0xd1);
    expect(b?.function).toBe('PmOnProcess');
    expect(b?.parameters[2]).toBe('0x8');
    expect(b?.parameters[0]).toBe(b?.parameters[3]);
    expect(b?.check).toBe('irql');
    const ok = runAndCheck(await loadWasmDriver(PAGEDMON), scenario('win10-x64', [...createP1, { op: 'UnloadDriver' }]));
    expect(ok.record.bugCheck ?? null).toBeNull();
  }, 300_000);

  test('INIT code after DriverEntry: 0x50; the same function during DriverEntry runs', async () => {
    const init = await loadWasmDriver(await mutatedCopy(PAGEDMON, '#pragma alloc_text(PAGE, PmUnload)', '#pragma alloc_text(INIT, PmUnload)'));
    const r = runAndCheck(init, scenario('winxp-x86', [{ op: 'UnloadDriver' }]));
    expect(r.record.bugCheck?.code).toBe(0x50);
    expect(r.record.bugCheck?.check).toBe('memory-map');
    expect(r.record.bugCheck?.parameters[1]).toBe('0x0');
    // a helper in INIT that DriverEntry calls runs before the section is freed
    const helper = await loadWasmDriver(await mutatedCopy(PAGEDMON, '    KeInitializeSpinLock(&gLock);\n',
      '    PmInit();\n').then(async (f) => {
      const { readFileSync, writeFileSync } = await import('node:fs');
      writeFileSync(f, readFileSync(f, 'utf8').replace('NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)\n{',
        'static VOID PmInit(VOID);\n#pragma alloc_text(INIT, PmInit)\nstatic VOID PmInit(VOID) { KeInitializeSpinLock(&gLock); }\n\nNTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)\n{'));
      return f;
    }));
    const h = runAndCheck(helper, scenario('win10-x86', [...createP1, { op: 'UnloadDriver' }]));
    expect(h.record.bugCheck ?? null).toBeNull();
    expect(h.violations.filter((v) => v.invariant === 'no-bugcheck' || v.invariant === 'unload-clean')).toEqual([]);
  }, 300_000);
});

describe('PAGE and INIT code on every build', () => {
  test('placed as WDK samples place it (DriverEntry in INIT, PASSIVE_LEVEL routines in PAGE, the spin lock in non-paged code), it passes', async () => {
    const r = await fuzz(PAGEDMON);
    expect(r.err).not.toMatch(/error|warning/);
    expect(r.code).toBe(0);
    expect((await fuzz(PAGEDMON, '--cpus', '4')).code).toBe(0);
  }, 300_000);

  test('a spin lock taken in a PAGE routine is 0xD1 (execute) under the verifier, on x86 and x64; without it nothing is said', async () => {
    const spin = await mutatedCopy(PAGEDMON, '    if (Create) PmCount();',
      '    if (Create) { KIRQL old; KeAcquireSpinLock(&gLock, &old); gCreates++; KeReleaseSpinLock(&gLock, old); }');
    for (const build of ['winxp-x86', 'win10-x64-22h2']) {
      const r = await fuzz(spin, '--build', build);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/✗ no-bugcheck: STOP 0x000000D1 DRIVER_IRQL_NOT_LESS_OR_EQUAL during callback: PmOnProcess runs at DISPATCH_LEVEL, but it is in the pageable PAGE section/);
      expect(r.out).toMatch(/Arg3: 0x8, /);
      expect(r.out).toMatch(/FAILURE_BUCKET_ID: 0xD1_pagedmon!PmOnProcess/);
      expect(r.out).toMatch(/: 1 distinct finding\(s\) in 1 invariant\(s\)/);
    }
    // Force IRQL Checking is the verifier's: without it the page may be resident, and no finding is certain
    expect((await fuzz(spin, '--verifier', 'off')).code).toBe(0);
    // a helper the routine calls, placed in PAGE too, is named itself
    const helper = await mutatedCopy(PAGEDMON, '#pragma alloc_text(PAGE, PmOnProcess)', '#pragma alloc_text(PAGE, PmOnProcess)\n#pragma alloc_text(PAGE, PmCount)');
    const h = await fuzz(helper);
    expect(h.code).toBe(1);
    expect(h.out).toMatch(/PmCount runs at DISPATCH_LEVEL, but it is in the pageable PAGE section/);
  }, 300_000);

  test('DriverUnload in INIT runs from freed memory: 0x50, P2 10 (execute) from 1507 on, 0 before; with or without the verifier', async () => {
    const init = await mutatedCopy(PAGEDMON, '#pragma alloc_text(PAGE, PmUnload)', '#pragma alloc_text(INIT, PmUnload)');
    const win11 = await fuzz(init, '--build', 'win11-x64-24h2');
    expect(win11.code).toBe(1);
    expect(win11.out).toMatch(/STOP 0x00000050 PAGE_FAULT_IN_NONPAGED_AREA during DriverUnload: PmUnload runs after DriverEntry returned, but it is in the INIT section/);
    expect(win11.out).toMatch(/Arg2: 0x10, /);
    const xp = await fuzz(init, '--build', 'winxp-x86', '--verifier', 'off');
    expect(xp.code).toBe(1);
    expect(xp.out).toMatch(/Arg2: 0x0, /);
  }, 300_000);

  test('C++: __declspec(code_seg("PAGE")) on a member and #pragma code_seg regions; the finding names the member as WinDbg does', async () => {
    const ok = await fuzz(PAGEDCXX);
    expect(ok.err).not.toMatch(/error/);
    expect(ok.code).toBe(0);
    const broken = await mutatedCopy(PAGEDCXX, 'if (create) Bump(); }', 'if (create) { SpinGuard g(&lock_); count_++; } }');
    const r = await fuzz(broken);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/pc::Counter::OnCreate runs at DISPATCH_LEVEL, but it is in the pageable PAGE section/);
    expect(r.out).toMatch(/STACK_TEXT:\n {2}pagedcxx!pc::Counter::OnCreate \[pagedcxx\.cpp @ \d+\]\n {2}pagedcxx!OnProcess \[pagedcxx\.cpp @ \d+\]/);
  }, 300_000);
});
