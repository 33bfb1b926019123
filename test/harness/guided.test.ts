import { describe, expect, test } from 'vitest';
import { getMutant, wssprocmon } from '../../src/driver/index.js';
import { guidedFuzz } from '../../src/harness/guided.js';
import { getInvariant, INVARIANTS } from '../../src/invariants/index.js';
import { loadWasmDriver } from '../../src/driver/wasm/loader.js';
import { runCli } from '../helpers.js';

describe('coverage-guided search (--guided)', () => {
  test('one seed decides everything: the same findings twice; a corpus builds up', () => {
    const a = guidedFuzz({ driver: wssprocmon, seed: 3, runs: 300, invariants: INVARIANTS });
    const b = guidedFuzz({ driver: wssprocmon, seed: 3, runs: 300, invariants: INVARIANTS });
    expect(b.findings.map((f) => [f.signature, f.scenario])).toEqual(a.findings.map((f) => [f.signature, f.scenario]));
    expect(a.corpus).toBeGreaterThan(1);
    expect(a.findings.length).toBeGreaterThan(3);
  });

  test('it kills a mutant and shrinks it to the documented minimum', () => {
    const m = getMutant('exit-only-if-lookup');
    if (m === undefined) throw new Error('mutant missing');
    const r = guidedFuzz({ driver: m.driver, seed: 1, runs: 1000, invariants: [getInvariant(m.invariant)], maxFindings: 1, profile: 'adversarial' });
    expect(r.failed).toBe(true);
    expect(r.findings[0].scenario.ops.length).toBeLessThanOrEqual(m.minimal.ops.length + 1);
  });

  test('a C driver is guided by the edges of its coverage build', async () => {
    const d = await loadWasmDriver('examples/drivers/psrefmon.c', { coverage: true });
    const r = guidedFuzz({ driver: d, seed: 1, runs: 300, builds: ['winxp-x86', 'win10-x86'], invariants: INVARIANTS });
    expect(r.failed).toBe(false);
    expect(r.corpus).toBeGreaterThan(1);
    expect(d.coverage?.hits.size).toBeGreaterThan(10);
    const cli = await runCli(['fuzz', '--driver', 'examples/drivers/wssprocmon.c', '--guided', '--no-reports', '--runs', '300']);
    expect(cli.code).toBe(1);
  }, 60_000);

  test('a racy driver fails guided as it fails the plain campaign: guided runs x86 and x64 builds on several CPUs, and says so', async () => {
    const guided = await runCli(['fuzz', '--driver', 'examples/drivers/proctable-nolock.c', '--guided', '--no-reports', '--runs', '300', '--max-findings', '1', '--seed', '2']);
    expect(guided.code).toBe(1);
    expect(guided.out).toMatch(/builds=all \(\d+ ran: \d+ x86\+x64 builds\) cpus=1-4 .*no-data-race/);
    const plain = await runCli(['fuzz', '--driver', 'examples/drivers/proctable-nolock.c', '--no-reports', '--runs', '1000', '--max-findings', '1', '--seed', '2']);
    expect(plain.code).toBe(1);
    expect(plain.out).toMatch(/cpus=1-4 .*no-data-race/);
  }, 120_000);

  test('a C driver\'s coverage build runs on x64 and with fibers: both images count edges, and a guided run on x64 builds reaches them', async () => {
    const d = await loadWasmDriver('examples/drivers/psrefmon.c', { coverage: true, fibers: true });
    expect(d.x64).toBeDefined();
    expect(d.x64?.instantiateFibers).toBeDefined();
    const points = d.coverage?.points ?? [];
    const x86 = points.filter((p) => p.target === 'x86');
    const x64 = points.filter((p) => p.target === 'x64');
    expect(x86.length).toBeGreaterThan(10);
    // the same source: nearly every line with an edge in one image has one in the other (codegen differs a little)
    const x86Lines = new Set(x86.map((p) => `${p.file}:${p.line}`));
    const x64Lines = new Set(x64.map((p) => `${p.file}:${p.line}`));
    expect([...x64Lines].filter((l) => x86Lines.has(l)).length).toBeGreaterThan(0.9 * Math.max(x86Lines.size, x64Lines.size));
    const r = guidedFuzz({ driver: d, seed: 1, runs: 100, builds: ['win10-x64'], invariants: INVARIANTS, cpus: 4 });
    expect(r.runs).toBe(100);
    const hit = [...(d.coverage?.hits.keys() ?? [])];
    expect(hit.some((k) => x64.some((p) => p.guard === k))).toBe(true);
    expect(hit.some((k) => x86.some((p) => p.guard === k))).toBe(false);
  }, 120_000);
});
