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
});
