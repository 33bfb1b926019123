import { beforeAll, describe, expect, test } from 'vitest';
import { linesOf, type DriverModule } from '../../src/driver/index.js';
import { loadWasmDriver } from '../../src/driver/wasm/loader.js';
import { runAndCheck } from '../../src/harness/check.js';
import { applicableInvariants } from '../../src/harness/fuzz.js';
import { getInvariant, INVARIANTS } from '../../src/invariants/index.js';
import { debugPrintSends, OUT_OF_BOX_FILTER, simulate, TEST_MACHINE_FILTER, type Scenario } from '../../src/model/index.js';
import { mutatedCopy, runCli, scenario, VOL } from '../helpers.js';

/**
 * The WDK surface real monitors use, exercised from C on an x86 and an x64 build: each line is what a routine
 * returned and wrote, as the WDK documents it.
 */
const drivers = new Map<string, DriverModule>();
beforeAll(async () => {
  for (const f of ['rtl', 'procinfo', 'sync']) drivers.set(f, await loadWasmDriver(`test/fixtures/ddi/${f}.c`));
}, 240_000);

const entryLines = (driver: string, build: string, ops: Scenario['ops'] = []): string[] => {
  const r = simulate(drivers.get(driver) as DriverModule, scenario(build, ops));
  expect(r.bugCheck, build).toBeNull();
  expect(r.verifierStop ?? null, build).toBeNull();
  return linesOf(r.phases.find((p) => p.phase === 'DriverEntry')?.prints ?? []);
};

describe.each(['win10-x86', 'win10-x64'])('the kernel CRT, Rtl strings, printf and Interlocked from C on %s', (build) => {
  const x64 = build.endsWith('x64');
  const ptr = (digits: string): string => (x64 ? digits.padStart(16, '0') : digits.padStart(8, '0'));
  test('as documented', () => {
    const lines = entryLines('rtl', build);
    // RtlFillMemory, RtlCopyMemory, RtlMoveMemory (overlapping), RtlZeroMemory, RtlEqualMemory, InterlockedExchangePointer
    expect(lines).toContain('rtlmemory equal=1 a=00005a b=5a swapped=1');
    lines.splice(lines.indexOf('rtlmemory equal=1 a=00005a b=5a swapped=1'), 1);
    expect(lines.slice(0, 4)).toEqual([
      'crt stricmp=1 strnicmp=0 wcsicmp=0 wcsnicmp=0 strncmp=1 wcsncmp=0',
      'crt strstr=needle wcsstr=c.exe strchr=.b.c wcschr=:y strrchr=.c wcsrchr=\\b nul=1',
      'crt strcat=Hello, world wcscat=Hello! strcpy=copy wcsncpy=abc upper=Q lower=q wupper=Z wlower=z',
      // Increment, Decrement, Exchange, CompareExchange hit and miss, ExchangeAdd, Or, And return the initial value
      // (set=0: InterlockedExchangePointer then swapped the pointer for another)
      `interlocked 6 5 5 9 1 1 11 267 268 final=268 big=2 old=${ptr('0')} set=0`,
    ]);
    expect(lines.slice(4, 15)).toEqual([
      'initstring null len=0 max=0 buffer=1',
      'init len=11 max=12',
      'a2u 00000000 notepad.exe len=22 max=24',
      'upcase 00000000 NOTEPAD.EXE u2a 00000000 NOTEPAD.EXE len=11',
      `freed buffer=${ptr('0')} len=0`,
      // RtlIntegerToUnicodeString: upper-case hex; too small: STATUS_BUFFER_OVERFLOW; base 7: STATUS_INVALID_PARAMETER
      'int2u 00000000 BEEF u2int 00000000 -31 small 80000005 base7 c000000d',
      // appends that do not fit: STATUS_BUFFER_TOO_SMALL and the string unchanged
      'append 00000000 00000000 c0000023 abc\\DEVICE\\ len=22',
      'prefix ci=1 cs=0',
      'compare 3 4',
      // _snprintf: len < count NUL-terminated, len == count returned without NUL, len > count: -1
      'snprintf 5 42-ab 7 -1 ove',
      'sprintf 19 pid=1234 name=x.exe',
    ]);
    expect(lines.slice(15, 19)).toEqual([
      // in the wide functions %s is wide and %S narrow
      'swprintf 13 wide:narrow:7 snw -1',
      'strsafe 80000005 0123456 00000000 12345 c000000d',
      'copyn 00000000 abc',
      'copynw 80000005 00000000 ab c000000d',
    ]);
    // a driver's own variadic wrapper around vDbgPrintEx: its va_list packed by type, pointers full width
    expect(lines[19]).toMatch(x64 ? /^vdbgprintex -3 mixed FFFFA780[0-9A-F]{8} 9$/ : /^vdbgprintex -3 mixed [0-9A-F]{8} 9$/);
    // the test machine's filter lets every level through; DPFLTR_ENDOFTABLE_ID is the symbol files' 146
    expect(lines.slice(20)).toEqual(['info 1', 'mask 2', 'error 3', 'plain 146']);
  });

  test('strings the Rtl routines allocate are the driver\'s pool: all freed here', () => {
    const r = runAndCheck(drivers.get('rtl') as DriverModule, scenario(build, [{ op: 'UnloadDriver' }]), INVARIANTS);
    expect(r.record.end?.driverPool).toEqual([]);
  });
});

describe('the debugger\'s print filter (DbgPrintEx levels)', () => {
  test('importance is 1 << Level for 0-31 and Level itself above; the component mask or WIN2000 mask must match', () => {
    // out of the box: only DPFLTR_ERROR_LEVEL gets through (the WIN2000 mask is 1)
    expect(debugPrintSends(OUT_OF_BOX_FILTER, 77, 0)).toBe(true);
    expect(debugPrintSends(OUT_OF_BOX_FILTER, 77, 3)).toBe(false);
    expect(debugPrintSends(OUT_OF_BOX_FILTER, 77, 0x80000001)).toBe(true); // a mask with bit 0 set
    expect(debugPrintSends(OUT_OF_BOX_FILTER, 77, 0x80000008)).toBe(false);
    const ihvInfo = { win2000: 1, components: new Map([[77, 0x8]]), others: 0 };
    expect(debugPrintSends(ihvInfo, 77, 3)).toBe(true);
    expect(debugPrintSends(ihvInfo, 78, 3)).toBe(false);
    expect(debugPrintSends(TEST_MACHINE_FILTER, 101, 31)).toBe(true);
  });
});

const twoProcesses: Scenario['ops'] = [
  { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` },
  { op: 'CreateProcess', id: 'P2', thread: 'T2', parent: 'P1', path: `${VOL}\\b.exe` },
  { op: 'ExitProcess', process: 'P2' },
  { op: 'UnloadDriver' },
];

describe.each(['win10-x86', 'win10-x64'])('Ps, Se, Zw and Ob queries from a create routine on %s', (build) => {
  const x64 = build.endsWith('x64');
  test('as documented, every reference and handle released', () => {
    const driver = drivers.get('procinfo') as DriverModule;
    const r = runAndCheck(driver, scenario(build, twoProcesses), applicableInvariants(driver));
    expect(r.record.bugCheck).toBeNull();
    expect(r.violations).toEqual([]);
    const out = r.record.callbacks.filter((c) => c.kind === 'process' && c.create).map((c) => linesOf(c.prints));
    expect(out[0]).toEqual([
      // the create routine of a process started by System runs in the System thread
      'thread tid=8 pid=4 system=1 current=1',
      'process parent=4 session=1 current-session=0 peb=1 protected=0 later=1',
      'bycid 00000000 same-thread=1 same-process=1',
      'bycid missing c000000b',
      `seloc 00000000 ${VOL}\\a.exe`,
      // PROCESS_BASIC_INFORMATION is 24 bytes on x86, 48 on x64; too small a buffer: the size it needs
      `handle 00000000 kernel=1 basic 00000000 pid=12 parent=4 peb=1 needed=${x64 ? 48 : 24}`,
      `imagefilename small c0000004 needed=${x64 ? 92 : 84} full 00000000 ${VOL}\\a.exe`,
      'bad class c0000003 wrong length c0000004',
      'current 00000000 pid=4',
      'byptr 00000000 mismatch c0000024',
    ]);
    // the second create runs in its creator's thread, in session 1
    expect(out[1].slice(0, 2)).toEqual(['thread tid=16 pid=12 system=0 current=1', 'process parent=12 session=1 current-session=1 peb=1 protected=0 later=1']);
  });
});

describe('handle and image-name mistakes are caught', () => {
  test('a kernel handle never closed: the process it refers to is held', async () => {
    const leaky = await loadWasmDriver(await mutatedCopy('test/fixtures/ddi/procinfo.c', '    ZwClose(handle);\n', ''));
    const r = runAndCheck(leaky, scenario('win10-x64', twoProcesses), [getInvariant('references-released')]);
    expect(r.violations.map((v) => v.invariant)).toContain('references-released');
  }, 60_000);

  test('closing a handle twice: INVALID_KERNEL_HANDLE (0x93)', async () => {
    const twice = await loadWasmDriver(await mutatedCopy('test/fixtures/ddi/procinfo.c', '    ZwClose(handle);\n', '    ZwClose(handle);\n    ZwClose(handle);\n'));
    const r = simulate(twice, scenario('win10-x86', twoProcesses));
    expect(r.bugCheck?.code).toBe(0x93);
    expect(r.bugCheck?.reason).toMatch(/ZwClose\(0x80000004\): not an open kernel handle/);
  }, 60_000);

  test('the name SeLocateProcessImageName returns, never freed: the driver\'s pool leaks', async () => {
    const leaky = await loadWasmDriver(await mutatedCopy('test/fixtures/ddi/procinfo.c', '        ExFreePool(image);\n', ''));
    const r = runAndCheck(leaky, scenario('win10-x86', twoProcesses), applicableInvariants(leaky));
    expect(r.record.end?.driverPool.map((b) => b.tag)).toEqual(['SeLP', 'SeLP']);
    expect(r.violations.map((v) => v.invariant)).toContain('pool-released');
  }, 60_000);
});

describe.each(['win10-x86', 'win10-x64'])('time, waits, locks, resources, lookaside lists, push locks, rundown and SEH from C on %s', (build) => {
  test('as documented', () => {
    expect(entryLines('sync', build)).toEqual([
      // the simulated clock: 2024 at boot, KeDelayExecutionThread moves it, 10 MHz counter, 15.625 ms ticks
      'time later=1 delayed=1 year2024=1 freq=10000000 counter=1 ticks=1 inc=156250',
      'event state=0 set=0 state=1',
      // a synchronization event satisfies one wait and resets; then a zero or finite timeout times out
      'wait signalled=00000000 then=00000102 timeout=00000102 autoreset=0',
      'notification 00000000 stays=1 reset=1',
      'queued irql=2 lock=1 old=0',
      'raisetodpc irql=2 old=0',
      // exclusive is recursive, an exclusive owner may take it shared; exclusive while held shared fails without Wait
      'eresource 1 1 1 shared=1 exclusive-while-shared=0',
      'lookaside 1 1 distinct=1',
      'lookaside custom allocs=1',
      'pushlock ok',
      // EX_RUNDOWN_REF counts in steps of 2; after the wait no new reference is granted until reinitialised
      'rundown acquired=1 count=2',
      'rundown after-wait=0 reinit=1',
      'rundown completed=0',
      'zeroed=1 quota=1',
      'seh finally=2',
    ]);
  });

  test.each([
    [1, 'an event no one sets, waited on without a timeout', null, /KeWaitForSingleObject on 0x[0-9A-F]+, which is not signalled, with no timeout/],
    [2, 'a push lock its owner acquires again', null, /push locks are not recursive/],
    [3, 'a rundown wait with a reference still held', null, /ExWaitForRundownProtectionRelease .* with 1 reference\(s\) still acquired/],
    [4, 'a routine that returns inside a critical region', 0xc4, /CriticalRegions: OnProcess returned with 1 KeEnterCriticalRegion/],
    [5, 'an ERESOURCE released by a thread that does not own it', 0xe3, /does not own the resource/],
    [6, 'a blocking wait at DISPATCH_LEVEL', 0xc4, /KeWaitForSingleObject called at DISPATCH_LEVEL \(allowed up to APC_LEVEL\)/],
    [7, 'ProbeForRead of a kernel buffer with no handler', 0x1e, /not a user-mode buffer, so it raised STATUS_ACCESS_VIOLATION; no handler caught it \(SEH is not modelled/],
    [8, 'a misaligned ProbeForWrite', 0x1e, /ProbeForWrite\(0x10001, 8, 4\) raised STATUS_DATATYPE_MISALIGNMENT/],
    [9, 'ExRaiseStatus with no handler', 0x1e, /ExRaiseStatus raised STATUS_INSUFFICIENT_RESOURCES/],
  ] as const)('mistake %i: %s', (n, _what, code, reason) => {
    const driver = drivers.get('sync') as DriverModule;
    const r = runAndCheck(driver, scenario(build, [{ op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\hang${n}.exe` }]), applicableInvariants(driver));
    if (code === null) {
      // a hang: the routine never returns (routine-returns), with what it waits on
      expect(r.record.verifierStop?.check).toBe('watchdog');
      expect(r.record.verifierStop?.reason).toMatch(reason);
      expect(r.violations.map((v) => v.invariant)).toContain('routine-returns');
    } else {
      expect(r.record.bugCheck?.code).toBe(code);
      expect(r.record.bugCheck?.reason).toMatch(reason);
      expect(r.violations.map((v) => v.invariant)).toContain('no-bugcheck');
    }
  });

  test('a correct run: unload waits for rundown, deletes the list and the resource; nothing leaks', () => {
    const driver = drivers.get('sync') as DriverModule;
    const r = runAndCheck(driver, scenario(build, [{ op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\ok.exe` }, { op: 'UnloadDriver' }]), applicableInvariants(driver));
    expect(r.violations).toEqual([]);
  });
});

describe('psharness list --ddis', () => {
  /** Every routine the WDK surface for monitors names (issue: "the WDK surface real monitors use"). */
  const REQUIRED = [
    'DbgPrintEx', 'vDbgPrintEx',
    '_stricmp', '_strnicmp', '_wcsicmp', '_wcsnicmp', 'strncmp', 'wcsncmp', 'strstr', 'wcsstr', 'strchr', 'wcschr', 'strrchr', 'wcsrchr',
    'strcpy', 'wcscpy', 'wcsncpy', 'strcat', 'wcscat', '_snprintf', '_snwprintf', 'sprintf', 'swprintf', 'toupper', 'tolower', 'towupper', 'towlower',
    'RtlStringCbPrintfA', 'RtlStringCbPrintfW', 'RtlStringCchPrintfA', 'RtlStringCchPrintfW', 'RtlStringCbCopyNA', 'RtlStringCbCopyNW',
    'RtlStringCchCopyNA', 'RtlStringCchCopyNW', 'RtlInitAnsiString', 'RtlInitString', 'RtlUnicodeStringToAnsiString', 'RtlAnsiStringToUnicodeString',
    'RtlFreeAnsiString', 'RtlFreeUnicodeString', 'RtlAppendUnicodeToString', 'RtlAppendUnicodeStringToString', 'RtlPrefixUnicodeString',
    'RtlUpcaseUnicodeString', 'RtlIntegerToUnicodeString', 'RtlUnicodeStringToInteger', 'RtlCompareMemory', 'RtlCopyMemory', 'RtlZeroMemory',
    'RtlFillMemory', 'RtlMoveMemory', 'RtlEqualMemory',
    'PsGetCurrentThread', 'PsGetThreadId', 'PsGetThreadProcessId', 'PsIsSystemThread', 'PsGetProcessCreateTimeQuadPart',
    'PsGetProcessInheritedFromUniqueProcessId', 'PsGetCurrentProcessSessionId', 'PsGetProcessSessionId', 'PsGetProcessPeb', 'PsIsProtectedProcess',
    'PsLookupProcessThreadByCid', 'SeLocateProcessImageName', 'ZwQueryInformationProcess', 'ObOpenObjectByPointer', 'ZwClose', 'ObReferenceObjectByPointer',
    'KeQuerySystemTime', 'KeQuerySystemTimePrecise', 'KeQueryPerformanceCounter', 'KeQueryTickCount', 'KeInitializeEvent', 'KeSetEvent', 'KeClearEvent',
    'KeWaitForSingleObject', 'KeDelayExecutionThread', 'KeEnterCriticalRegion', 'KeLeaveCriticalRegion', 'KeRaiseIrql', 'KeLowerIrql',
    'KeAcquireSpinLockRaiseToDpc', 'KeAcquireInStackQueuedSpinLock', 'KeReleaseInStackQueuedSpinLock', 'ExAllocatePoolZero', 'ExAllocatePoolWithQuotaTag',
    'ExInitializeResourceLite', 'ExAcquireResourceExclusiveLite', 'ExAcquireResourceSharedLite', 'ExReleaseResourceLite', 'ExDeleteResourceLite',
    'ExInitializeNPagedLookasideList', 'ExAllocateFromNPagedLookasideList', 'ExFreeToNPagedLookasideList', 'ExDeleteNPagedLookasideList',
    'ExInitializePushLock', 'ExAcquirePushLockExclusiveEx', 'ExAcquirePushLockSharedEx', 'ExReleasePushLockExclusiveEx', 'ExReleasePushLockSharedEx',
    'ExInitializeRundownProtection', 'ExAcquireRundownProtection', 'ExReleaseRundownProtection', 'ExWaitForRundownProtectionRelease',
    'InterlockedIncrement', 'InterlockedDecrement', 'InterlockedExchange', 'InterlockedCompareExchange', 'InterlockedExchangeAdd',
    'InterlockedExchangePointer', 'InterlockedCompareExchangePointer', 'ProbeForRead', 'ProbeForWrite', 'ExRaiseStatus',
  ];
  test('lists every routine of the surface with its header and the builds that export it', async () => {
    const r = await runCli(['list', '--ddis']);
    expect(r.code).toBe(0);
    const listed = new Map(r.out.split('\n').slice(1).map((l) => [l.trim().split(/\s+/)[0], l]));
    for (const name of REQUIRED) expect(listed.has(name), name).toBe(true);
    // exports follow the release
    expect(listed.get('SeLocateProcessImageName')).toMatch(/from winvista-x86 and winvista-x64 on/);
    expect(listed.get('PsSetCreateProcessNotifyRoutineEx2')).toMatch(/from win10-x86-1703 and win10-x64-1703 on/);
    expect(listed.get('_stricmp')).toMatch(/string\.h +header/);
    expect(listed.get('PsGetProcessImageFileName')).toMatch(/declare it yourself/);
    expect(listed.get('FltRegisterFilter')).toMatch(/fltKernel\.h +fltmgr +from winvista/);
    expect(listed.get('ObRegisterCallbacks')).toMatch(/wdm\.h +kernel /);
    expect((await runCli(['list', '--bogus'])).code).toBe(2);
  });

  test('the DPFLTR_TYPE enum is whole: every component ID from the symbol files, in order', async () => {
    const { readFileSync } = await import('node:fs');
    const ids = [...readFileSync('include/dpfilter.h', 'utf8').matchAll(/DPFLTR_(\w+)_ID = (\d+)/g)].map((m) => [m[1], Number(m[2])] as const);
    expect(ids.map(([, v]) => v)).toEqual(ids.map((_, i) => i));
    expect(ids.find(([n]) => n === 'IHVDRIVER')?.[1]).toBe(77);
    expect(ids.find(([n]) => n === 'IHVAUDIO')?.[1]).toBe(79);
    expect(ids.find(([n]) => n === 'DEFAULT')?.[1]).toBe(101);
    expect(ids.at(-1)).toEqual(['ENDOFTABLE', 146]);
  });
});
