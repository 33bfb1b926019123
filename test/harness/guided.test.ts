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

  test('a racy driver guided passes on one CPU, and says so: the CPUs and builds that ran, and what it cannot see', async () => {
    const guided = await runCli(['fuzz', '--driver', 'examples/drivers/proctable-nolock.c', '--guided', '--no-reports', '--runs', '200']);
    expect(guided.err).toContain('--guided runs on one CPU and x86 builds (a coverage build): data races and lock-order bugs need the plain campaign');
    expect(guided.out).toMatch(/builds=all \(\d+ ran: \d+ x86 builds\) cpus=1 /);
    const plain = await runCli(['fuzz', '--driver', 'examples/drivers/proctable-nolock.c', '--no-reports', '--runs', '1000', '--max-findings', '1']);
    expect(plain.code).toBe(1);
    expect(plain.out).toMatch(/cpus=1-4 .*no-data-race/);
  }, 120_000);
});
