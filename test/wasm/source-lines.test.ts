/**
 * Source lines at a fault (issue 24): the driver's stack, each frame with its file and line, on x86 and x64, on one
 * CPU and with fibers — through every instrumentation pass (driver/wasm/source-lines.ts) — and the report's
 * `!analyze -v`-style section with the bug check's arguments explained and the failure bucket.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { loadVerifierMutant, VERIFIER_MUTANTS } from '../../src/driver/index.js';
import { loadWasmDriver } from '../../src/driver/wasm/loader.js';
import { decodeInlineChains, encodeInlineChains } from '../../src/driver/wasm/inline-frames.js';
import { v8FunctionName } from '../../src/model/ke/bugcheck.js';
import { buildReport, renderMarkdown } from '../../src/harness/report.js';
import { runAndCheck } from '../../src/harness/check.js';
import { getInvariant } from '../../src/invariants/index.js';
import type { Scenario } from '../../src/model/index.js';
import { scenario, VOL } from '../helpers.js';

/** The 1-based line of `file` that contains `text` (exactly one). */
function lineOf(file: string, text: string): number {
  const lines = readFileSync(file, 'utf8').split('\n');
  const at = lines.flatMap((l, i) => (l.includes(text) ? [i + 1] : []));
  expect(at, `${file}: ${text}`).toHaveLength(1);
  return at[0];
}

const createP1: Scenario['ops'] = [{ op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` }];
const deep = await loadWasmDriver('test/fixtures/stacks/deep-fault.c', { fibers: true });

describe('names and inline chains from hostile or odd input', () => {
  test('V8 frame names: the module prefix cut, a C++ signature shortened', () => {
    expect(v8FunctionName('driver.wasm.OnProcess')).toBe('OnProcess');
    expect(v8FunctionName('OnProcess')).toBe('OnProcess');
    expect(v8FunctionName('driver.wasm.mon::OnProcess(void*, void*, unsigned char)')).toBe('mon::OnProcess');
    expect(v8FunctionName('driver.wasm.operator new(unsigned long, _POOL_TYPE, unsigned long)')).toBe('operator new');
    expect(v8FunctionName('x.wasm.AutoLock<FastMutex>::~AutoLock()')).toBe('AutoLock<FastMutex>::~AutoLock');
  });

  test('an image\'s inline chains: malformed reads as none, each chain and the list bounded', () => {
    const chain = [{ function: 'Peek', callFile: 'drv/a.c', callLine: 12 }];
    expect(decodeInlineChains(encodeInlineChains([chain]))).toEqual([chain]);
    expect(decodeInlineChains(undefined)).toEqual([]);
    expect(decodeInlineChains(new TextEncoder().encode('{"a":1}'))).toEqual([]);
    expect(decodeInlineChains(new TextEncoder().encode('[[["f","a.c","x"],["g","b.c",3]], 7]'))).toEqual([[{ function: 'g', callFile: 'b.c', callLine: 3 }], []]);
    expect(decodeInlineChains(new TextEncoder().encode('[[[1'))).toEqual([]);
    expect(decodeInlineChains(new TextEncoder().encode(JSON.stringify([Array.from({ length: 100 }, () => ['f', 'a.c', 1])])))[0]).toHaveLength(64);
  });
});

describe('the driver\'s stack at a fault, with source lines', () => {
  test('three frames, each at its line: the faulting store, then each call — x86 and x64, one CPU and fibers', () => {
    const F = 'test/fixtures/stacks/deep-fault.c';
    const want = [
      { function: 'StoreName', file: 'deep-fault.c', line: lineOf(F, '/* FAULT') },
      { function: 'Remember', file: 'deep-fault.c', line: lineOf(F, '/* CALL StoreName') },
      { function: 'OnProcess', file: 'deep-fault.c', line: lineOf(F, '/* CALL Remember') },
    ];
    for (const build of ['winxp-x86', 'win10-x64']) {
      for (const extra of [{}, { schedule: { cpus: 2, kind: 'random' as const, seed: 1 } }]) {
        const r = runAndCheck(deep, scenario(build, createP1, extra));
        expect(r.record.bugCheck?.stack, `${build} ${JSON.stringify(extra)}`).toEqual(want);
        // the finding's message names the line; its signature does not (it is the same bug on every build)
        const v = r.violations.find((x) => x.invariant === 'no-bugcheck');
        expect(v?.message).toContain(`(in StoreName at deep-fault.c:${want[0].line})`);
      }
    }
  });

  test('verifier mutants: the line of the offending statement on x86 and x64, a shim header\'s line for an inlined list routine', async () => {
    const V = 'examples/drivers/vfmon.c';
    // the helpers clang inlined are frames of their own (inline frames), over the routine they lie in
    const cases: [string, string[], number][] = [
      ['free-wrong-tag', ['FreeRecord', 'OnProcess'], lineOf(V, 'ExFreePoolWithTag(r, MUTANT(3) ? VF_NAME_TAG : VF_TAG);')],
      ['name-terminator-past-end', ['CopyName', 'OnProcess'], lineOf(V, "buf[len] = '\\0';")],
      ['double-free-on-unload', ['Unload'], lineOf(V, 'if (MUTANT(4))') + 1],
    ];
    for (const [id, fns, line] of cases) {
      const m = VERIFIER_MUTANTS.find((x) => x.id === id);
      if (m === undefined) throw new Error(id);
      const d = await loadVerifierMutant(m.schema);
      for (const build of ['win10-x86', 'win10-x64']) {
        const r = runAndCheck(d, { ...m.minimal, build });
        const stack = r.record.bugCheck?.stack ?? [];
        expect(stack[0], `${id} ${build}`).toEqual({ function: fns[0], file: 'vfmon.c', line, ...(fns.length > 1 ? { inlined: true } : {}) });
        expect(stack.slice(0, fns.length).map((f) => f.function), `${id} ${build}`).toEqual(fns);
        expect(r.record.bugCheck?.function, `${id} ${build}`).toBe(fns[fns.length - 1]);
      }
    }
    const unlink = VERIFIER_MUTANTS.find((x) => x.id === 'free-before-unlink');
    if (unlink === undefined) throw new Error('free-before-unlink');
    const r = runAndCheck(await loadVerifierMutant(unlink.schema), unlink.minimal);
    // the shim's list routine, inlined into OnProcess: its own frame at the header's line, then OnProcess at the call
    expect(r.record.bugCheck?.stack?.slice(0, 2)).toMatchObject([
      { function: 'RemoveEntryList', file: 'include/wdm.h', inlined: true },
      { function: 'OnProcess', file: 'vfmon.c' },
    ]);
  }, 120_000);

  test('inline frames, as WinDbg shows them: each inlined function at its line, then its caller at the call — C and C++, x86 and x64, fibers', async () => {
    const C = 'test/fixtures/stacks/inlined-fault.c';
    const inlined = await loadWasmDriver(C, { fibers: true });
    const want = [
      { function: 'Peek', file: 'inlined-fault.c', line: lineOf(C, '/* FAULT'), inlined: true },
      { function: 'Lookup', file: 'inlined-fault.c', line: lineOf(C, '/* CALL Peek'), inlined: true },
      { function: 'OnProcess', file: 'inlined-fault.c', line: lineOf(C, '/* CALL Lookup') },
    ];
    for (const build of ['winxp-x86', 'win10-x64']) {
      for (const extra of [{}, { schedule: { cpus: 2, kind: 'random' as const, seed: 1 } }]) {
        const r = runAndCheck(inlined, scenario(build, createP1, extra));
        expect(r.record.bugCheck?.stack, `${build} ${JSON.stringify(extra)}`).toEqual(want);
        // the function the code lies in is the bug check's (its failure bucket and the finding's signature)
        expect(r.record.bugCheck?.function).toBe('OnProcess');
      }
    }
    const r64 = runAndCheck(inlined, scenario('win10-x64', createP1));
    const report = buildReport({ driver: 'inlined-fault.c', invariant: getInvariant('no-bugcheck'), scenario: scenario('win10-x64', createP1), shrunkFrom: 1, violations: r64.violations, record: r64.record, fuzz: null, reportDir: '.' });
    const md = renderMarkdown(report, r64.record);
    expect(md).toContain(`STACK_TEXT:\n  inlined-fault!Peek [inlined-fault.c @ ${want[0].line}] (inline function)\n  inlined-fault!Lookup [inlined-fault.c @ ${want[1].line}] (inline function)\n  inlined-fault!OnProcess [inlined-fault.c @ ${want[2].line}]\n`);
    expect(md).toContain('FAILURE_BUCKET_ID: 0x50_inlined-fault!OnProcess\n');
    const X = 'test/fixtures/stacks/inlined-member.cpp';
    const member = await loadWasmDriver(X);
    for (const build of ['winxp-x86', 'win10-x64']) {
      const r = runAndCheck(member, scenario(build, createP1));
      expect(r.record.bugCheck?.stack, build).toEqual([
        { function: 'mon::Table::Get', file: 'inlined-member.cpp', line: lineOf(X, '// FAULT'), inlined: true },
        { function: 'mon::OnProcess', file: 'inlined-member.cpp', line: lineOf(X, '// CALL Get') },
      ]);
      expect(r.record.bugCheck?.function).toBe('mon::OnProcess');
    }
  }, 300_000);

  test('the report: the arguments explained, the faulting line, the stack and the failure bucket, as !analyze -v', () => {
    const r = runAndCheck(deep, scenario('win10-x64', createP1));
    const report = buildReport({ driver: 'deep-fault.c', invariant: getInvariant('no-bugcheck'), scenario: scenario('win10-x64', createP1), shrunkFrom: 1, violations: r.violations, record: r.record, fuzz: null, reportDir: '.' });
    const md = renderMarkdown(report, r.record);
    const block = md.slice(md.indexOf('## Bug check'));
    const fault = lineOf('test/fixtures/stacks/deep-fault.c', '/* FAULT');
    expect(block).toContain('PAGE_FAULT_IN_NONPAGED_AREA (50)\nInvalid system memory was referenced.\nArguments:\nArg1: 0x');
    expect(block).toMatch(/Arg1: 0x[0-9A-F]+, memory address referenced\n/);
    expect(block).toContain(`FAULTING_SOURCE_LINE: deep-fault.c:${fault}\n`);
    expect(block).toContain(`STACK_TEXT:\n  deep-fault!StoreName [deep-fault.c @ ${fault}]\n  deep-fault!Remember [deep-fault.c @ `);
    expect(block).toContain('FAILURE_BUCKET_ID: 0x50_deep-fault!StoreName\n');
    // the JSON report carries the same stack
    expect(report.bugCheck?.stack?.map((f) => f.function)).toEqual(['StoreName', 'Remember', 'OnProcess']);
  });

  test('a TypeScript driver has no source stack: its bug check carries none, and its analysis no source line', async () => {
    const { wssprocmon } = await import('../../src/driver/index.js');
    const { fuzz } = await import('../../src/harness/fuzz.js');
    const f = fuzz({ driver: wssprocmon, seed: 1, runs: 300, invariants: [getInvariant('no-bugcheck')], maxFindings: 1 }).findings[0];
    expect(f.record.bugCheck).not.toBeNull();
    expect(f.record.bugCheck?.stack).toBeUndefined();
    const md = renderMarkdown(buildReport({ driver: 'seed', invariant: f.invariant, scenario: f.scenario, shrunkFrom: 1, violations: f.violations, record: f.record, fuzz: null, reportDir: '.' }), f.record);
    expect(md).toContain('FAILURE_BUCKET_ID: 0x');
    expect(md).not.toContain('FAULTING_SOURCE_LINE');
  });

  test('a race names both accesses\' source lines, each a line of the source that touches the raced variable', async () => {
    const nolock = await loadWasmDriver('examples/drivers/proctable-nolock.c', { fibers: true });
    const { fuzz } = await import('../../src/harness/fuzz.js');
    const source = readFileSync('examples/drivers/proctable.c', 'utf8').split('\n');
    for (const build of ['win10-x86', 'win10-x64']) {
      const r = fuzz({ driver: nolock, seed: 2, runs: 1000, cpus: 4, builds: [build], invariants: [getInvariant('no-data-race')] });
      const global = r.findings.map((f) => f.violations[0].message).find((m) => m.includes('!gBuckets'));
      const lines = [...(global ?? '').matchAll(/ at proctable\.c:(\d+) \(/g)].map((m) => Number(m[1]));
      expect(lines, build).toHaveLength(2);
      for (const l of lines) expect(source[l - 1], `${build} proctable.c:${l}`).toContain('gBuckets');
    }
  }, 120_000);
});
