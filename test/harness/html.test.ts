/**
 * The HTML report's content (the browser test, npm run test:browser, checks what a user sees): findings grouped by
 * invariant and classed, what a driver logged escaped, the timeline of a run on several CPUs with the racing pair.
 */
import { describe, expect, test } from 'vitest';
import { wssprocmon } from '../../src/driver/index.js';
import { loadWasmDriver } from '../../src/driver/wasm/loader.js';
import { fuzz } from '../../src/harness/fuzz.js';
import { htmlReport, timelineSvg } from '../../src/harness/html.js';
import { getInvariant, INVARIANTS } from '../../src/invariants/index.js';

describe('htmlReport', () => {
  test('the seed: one section per violated invariant, each finding classed and with its scenario; nothing from elsewhere', () => {
    const result = fuzz({ driver: wssprocmon, seed: 1, runs: 300, invariants: INVARIANTS });
    const page = htmlReport({ driver: 'seed', invariants: INVARIANTS, result, gates: () => true, replayOf: () => 'npx psharness replay r.json', scope: 'builds=all' });
    expect(page.startsWith('<!doctype html>')).toBe(true);
    expect(page).toContain("default-src 'none'");
    expect(page).not.toMatch(/<script|src="http|href="http/);
    expect((page.match(/<details class="finding /g) ?? []).length).toBe(result.findings.length);
    for (const id of new Set(result.findings.map((f) => f.invariant.id))) expect(page).toContain(`<h2 id="${id}">`);
    expect(page).toContain(`<span id="failing">${result.findings.length} failing</span>`);
    expect(page).toContain('replay: <code>npx psharness replay r.json</code>');
  });

  test('what a driver logged is escaped, never markup', () => {
    const result = fuzz({ driver: wssprocmon, seed: 1, runs: 50, invariants: [getInvariant('no-bugcheck')], maxFindings: 1 });
    const f = result.findings[0];
    const tainted = { ...result, findings: [{ ...f, violations: [{ ...f.violations[0], message: '<img src=x onerror=alert(1)>\u0001' }] }] };
    const page = htmlReport({ driver: '<b>', invariants: INVARIANTS, result: tainted, gates: () => false, replayOf: () => undefined, scope: '' });
    expect(page).not.toContain('<img');
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;\\x01');
    expect(page).toContain('<span id="warnings">1 warning(s)</span>');
  });

  test('a race on several CPUs: lanes, bars where each operation ran, the racing pair joined; one CPU: no picture', async () => {
    const nolock = await loadWasmDriver('examples/drivers/proctable-nolock.c', { fibers: true });
    const r = fuzz({ driver: nolock, seed: 1, runs: 1000, cpus: 4, builds: ['win10-x64'], invariants: [getInvariant('no-data-race')], maxFindings: 1 });
    const f = r.findings[0];
    const race = f.record.concurrency?.races[0];
    const svg = timelineSvg(f.record, race);
    expect((svg.match(/<rect class="lane"/g) ?? []).length).toBe(f.record.concurrency?.schedule.cpus);
    expect((svg.match(/<rect class="bar/g) ?? []).length).toBeGreaterThanOrEqual(2);
    expect(svg).toContain('<line class="race"');
    const sequential = fuzz({ driver: wssprocmon, seed: 1, runs: 20, cpus: 1, invariants: [getInvariant('no-bugcheck')], maxFindings: 1 }).findings[0];
    expect(timelineSvg(sequential.record)).toBe('');
  }, 60_000);

  test('a wait is drawn apart, an operation the halt cut short runs to the edge; why, also-breaks, a stack without lines, a stopped campaign', () => {
    const record = {
      driver: 'd', ops: [{ index: 0, op: { op: 'CreateProcess' } }, { index: 1, op: { op: 'LoadImage' } }], callbacks: [{ op: 0, routine: 'OnProcess' }],
      concurrency: { schedule: { cpus: 2, kind: 'random', seed: 1 }, races: [], lockOrder: [], timeline: [
        { step: 0, cpu: 0, op: 0, event: 'start', at: '' }, { step: 1, cpu: 0, op: 0, event: 'blocked', at: 'spin lock 0x10' },
        { step: 2, cpu: 1, op: 1, event: 'start', at: '' }, { step: 3, cpu: 0, op: 0, event: 'run', at: 'KeAcquireSpinLock' }, { step: 9, cpu: 0, op: 0, event: 'end', at: '' },
      ] },
    } as never;
    const svg = timelineSvg(record);
    expect(svg).toContain('<rect class="bar blocked" data-op="0"');
    expect(svg).toMatch(/<rect class="bar" data-op="1" x="\d+" y="\d+" width="\d+"/);
    expect(svg).toContain('operation 0 CreateProcess (OnProcess)');
    expect(svg).toContain('operation 1 LoadImage');
    const result = fuzz({ driver: wssprocmon, seed: 1, runs: 50, invariants: [getInvariant('no-bugcheck')], maxFindings: 1 });
    const f = result.findings[0];
    const halted = { ...f, alsoBreaks: ['unload-clean'], record: { ...f.record, bugCheck: { ...(f.record.bugCheck as object), stack: [{ function: 'F' }] } } } as never;
    const page = htmlReport({ driver: 'seed', invariants: INVARIANTS, result: { ...result, interrupted: true, findings: [halted] }, gates: () => true, replayOf: () => undefined, scope: 'x' });
    expect(page).toContain('(stopped early)');
    expect(page).toContain('The same root cause also breaks: <code>unload-clean</code>');
    expect(page).toContain('no report written');
    expect(page).toContain('STACK_TEXT:\n  wssprocmon!F');
  });
});
