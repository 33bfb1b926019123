// Profiling aid: node --cpu-prof bench/profile.mjs (100-operation scenarios through the reference driver and every invariant).
import fc from 'fast-check';
import { scenarioArbitrary, simulate, reference, observe, checkAll, INVARIANTS } from '../dist/index.js';
const arb = scenarioArbitrary({ minOps: 100, maxOps: 100 });
const samples = fc.sample(arb, { seed: 3, numRuns: 300 });
const t0 = performance.now();
for (const s of samples) { const r = simulate(reference, s); checkAll(observe(r, reference), INVARIANTS); }
console.log('ms/run', (performance.now() - t0) / samples.length);
