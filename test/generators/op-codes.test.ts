/**
 * Generator format 2 (operations as integer codes) against format 1 (nested arbitraries): the same mix of scenarios,
 * the simplest operation at code 0, decoding pure and total, shrinking to the minimum, and its seeds frozen.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { DEFAULT_WEIGHTS, OpResolver, resolveOps, scenarioArbitrary, type ScenarioOptions } from '../../src/generators/index.js';
import { opCodes } from '../../src/generators/op-codes.js';
import type { Op, Scenario } from '../../src/model/index.js';

const draw = (generator: 1 | 2, options: ScenarioOptions, seed: number, n: number): Scenario[] =>
  fc.sample(scenarioArbitrary({ ...options, generator }), { seed, numRuns: n });

/** Each class of operation's share of all operations, in points. */
function opMix(scenarios: readonly Scenario[]): Map<string, number> {
  const ops = scenarios.flatMap((s) => s.ops);
  const counts = new Map<string, number>();
  const count = (k: string): void => {
    counts.set(k, (counts.get(k) ?? 0) + 1);
  };
  const pathClass = (p: string): string => {
    if (p.startsWith('\\SystemRoot')) return 'driver';
    if (p.includes('deep_directory')) return 'deep';
    if (p.length >= 430 && p.length <= 500 && p.includes('ddd')) return 'dbgprint window';
    if (!p.startsWith('\\Device\\HarddiskVolume1\\Windows\\') && !p.startsWith('\\Device\\HarddiskVolume1\\Program Files\\')) return 'boundary length';
    const name = p.slice(p.lastIndexOf('\\') + 1);
    return name.length > 15 ? 'long name' : 'usual';
  };
  for (const o of ops) {
    count(o.op);
    if (o.op === 'CreateProcess' || o.op === 'LoadImage') {
      count(`${o.op} ${pathClass(o.path)}`);
      if (o.pathUnavailable === true) count(`${o.op} name unavailable`);
    }
    if (o.op === 'CreateProcess' && o.creator !== undefined) count('creator');
    if (o.op === 'CreateProcess' && o.parent === 'System') count('System the parent');
    if ((o.op === 'ExitProcess' || o.op === 'ExitThread') && o.race !== undefined) count(`${o.op} race ${o.race}`);
  }
  return new Map([...counts].map(([k, v]) => [k, (100 * v) / ops.length]));
}

/** Each scenario setting's share of all scenarios, in points. */
function settingsMix(scenarios: readonly Scenario[]): Map<string, number> {
  const counts = new Map<string, number>();
  const count = (k: string): void => {
    counts.set(k, (counts.get(k) ?? 0) + 1);
  };
  for (const s of scenarios) {
    count(`faults ${s.faults.length}`);
    for (const f of s.faults) count(`fault ${f.ddi}${f.nth === 1 ? ' first call' : ''}`);
    count(`reuse ${s.reusePolicy}`);
    count(`build ${s.build}`);
    if (s.crowding.process + s.crowding.thread + s.crowding.image > 0) count('crowded');
    if (s.poolQuota !== undefined) count('pool quota');
    if (s.firstClientId !== undefined) count('first client ID');
    if (s.integrityCheck === false) count('no integrity check');
  }
  return new Map([...counts].map(([k, v]) => [k, (100 * v) / scenarios.length]));
}

function expectClose(one: Map<string, number>, two: Map<string, number>, points: number): void {
  for (const k of new Set([...one.keys(), ...two.keys()])) {
    const a = one.get(k) ?? 0;
    const b = two.get(k) ?? 0;
    expect(Math.abs(a - b), `${k}: format 1 ${a.toFixed(2)}%, format 2 ${b.toFixed(2)}%`).toBeLessThan(points);
  }
}

describe('generator format 2: the same mix as format 1', () => {
  test.each([
    ['documented, every build', {}],
    ['adversarial, 4 CPUs', { profile: 'adversarial' as const, cpus: 4 }],
  ])('%s: every operation kind, path class, race and flag within half a point', (_, options) => {
    const two = opMix(draw(2, options, 3, 3000));
    expectClose(opMix(draw(1, options, 3, 3000)), two, 0.5);
    expect(two.get('CreateProcess') ?? 0).toBeGreaterThan(15);
  });

  test('scenario settings (faults, CID reuse, builds, crowding, quotas) within a point', () => {
    // 20,000 scenarios: a setting's share then varies by about 0.3 points between seeds
    expectClose(settingsMix(draw(1, { maxOps: 1 }, 5, 20000)), settingsMix(draw(2, { maxOps: 1 }, 5, 20000)), 1);
  });

  test('a driver\'s own kinds (registry, files, client, port, handles) are drawn at their weights', () => {
    const weights = { ...DEFAULT_WEIGHTS, registry: 4, file: 4, client: 3, port: 1, handle: 2, ioctls: [0x222000, 0x222004], eventsIoctl: 0x222000 };
    const one = opMix(draw(1, { weights }, 4, 2000));
    const two = opMix(draw(2, { weights }, 4, 2000));
    for (const k of ['RegistryOp', 'FileOp', 'OpenDevice', 'DeviceIoControl', 'ReadFile', 'CloseHandle', 'PortConnect', 'OpenHandle']) {
      expect(one.get(k) ?? 0, k).toBeGreaterThan(0);
    }
    expectClose(one, two, 0.5);
  });
});

describe('operation codes', () => {
  const { decode, arbitrary } = opCodes(true);

  test('code 0 is the simplest operation: a process System starts from the usual directory, named a.exe', () => {
    expect(decode(0)).toEqual({ k: 'process', parent: 0, path: '\\Device\\HarddiskVolume1\\Windows\\a.exe', unavailable: false, creator: null });
  });

  test('decoding is total and pure: every safe integer is an operation, the same one each time', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (code) => {
      const a = decode(code);
      expect(decode(code)).toEqual(a);
      expect(resolveOps([{ k: 'process', parent: 0, path: '\\a.exe', unavailable: false, creator: null }, a]).length).toBeGreaterThan(0);
    }), { seed: 2, numRuns: 3000 });
    for (const code of [Number.MAX_SAFE_INTEGER, 2 ** 53 - 2, 2 ** 52, 1]) expect(() => decode(code)).not.toThrow();
  });

  test('with every kind weighted, codes decode to every kind of raw operation, each resolvable', () => {
    const all = opCodes(false, { ...DEFAULT_WEIGHTS, handle: 1, registry: 1, file: 1, port: 2, client: 4, ioctls: [0x222000], eventsIoctl: 0x222000 });
    const codes = fc.sample(all.arbitrary, { seed: 6, numRuns: 4000 });
    const kinds = new Set(codes.map((c) => all.decode(c).k));
    expect([...kinds].sort()).toEqual(['close', 'exit-process', 'exit-thread', 'file', 'handle', 'image', 'ioctl', 'irp', 'load', 'open', 'port-connect',
      'port-disconnect', 'process', 'read', 'registry', 'thread', 'unload']);
    // a raw operation and the resolver's call for the same code agree
    const raw = resolveOps(codes.map((c) => all.decode(c)), 0x222000);
    const resolver = new OpResolver(0x222000);
    for (const c of codes) all.decodeInto(c, resolver);
    expect(resolver.out).toEqual(raw);
  });

  test('each shrink candidate is a smaller code, and the first is 0', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (code) => {
      const candidates = [...arbitrary.shrink(code, undefined)].map((v) => v.value);
      expect(candidates[0]).toBe(0);
      for (const c of candidates) expect(c).toBeLessThan(code);
      expect(new Set(candidates).size).toBe(candidates.length);
    }), { seed: 3, numRuns: 500 });
    expect([...arbitrary.shrink(0, undefined)]).toEqual([]);
  });

  test('fast-check shrinks a failing scenario to its minimum: one process with a long path, everything else simplest', () => {
    const long = (o: Op): boolean => o.op === 'CreateProcess' && o.path.length >= 400;
    const details = fc.check(fc.property(scenarioArbitrary({ generator: 2, builds: ['win10-x64', 'win7-x86'] }), (s) => !s.ops.some(long)), { seed: 9, numRuns: 2000 });
    expect(details.failed).toBe(true);
    const s = (details.counterexample as [Scenario])[0];
    expect(s.ops).toHaveLength(1);
    const op = s.ops[0];
    expect(op.op === 'CreateProcess' && op.parent === 'System' && op.pathUnavailable === undefined && op.creator === undefined).toBe(true);
    expect(s.faults).toEqual([]);
    expect(s.build).toBe('win10-x64');
    expect(s.crowding).toEqual({ process: 0, thread: 0, image: 0 });
  });

  test('a seed and a path give the same scenario every time (replay)', () => {
    const arb = scenarioArbitrary({ generator: 2, cpus: 4, profile: 'adversarial' });
    const a = fc.sample(arb, { seed: 77, path: '41', numRuns: 1 })[0];
    const b = fc.sample(arb, { seed: 77, path: '41', numRuns: 1 })[0];
    expect(b).toEqual(a);
    expect(fc.sample(arb, { seed: 77, numRuns: 42 })[41]).toEqual(a);
  });

  /**
   * Format 2's seeds, frozen: a change that draws other scenarios from the same seed is a new generator format
   * (GeneratorFormat), so reports' seeds and paths keep replaying.
   */
  test('format 2 draws the scenarios it always has', () => {
    const digest = (options: ScenarioOptions, seed: number): string =>
      createHash('sha256').update(JSON.stringify(draw(2, options, seed, 300))).digest('hex').slice(0, 16);
    expect({
      default: digest({}, 1),
      adversarial4: digest({ profile: 'adversarial', cpus: 4 }, 2),
      client: digest({ weights: { ...DEFAULT_WEIGHTS, client: 3, ioctls: [0x222000], eventsIoctl: 0x222000, registry: 2, file: 2, port: 1, handle: 1 }, faults: 'boot' }, 3),
    }).toEqual({ default: 'b49c366827d72168', adversarial4: 'f0c8cd9a9f4dbd0f', client: '321d14691fced5da' });
  });
});
