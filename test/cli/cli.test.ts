import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { main, type Io } from '../../src/cli/main.js';
import { INVARIANTS } from '../../src/invariants/index.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  let t = 0;
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), now: () => (t += 1) };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const tmp = () => mkdtempSync(join(tmpdir(), 'psh-cli-'));

describe('psharness fuzz', () => {
  test('the seed fails with exit 1 and writes a report per distinct finding', async () => {
    const dir = tmp();
    const junit = join(dir, 'junit.xml');
    const r = await run(['fuzz', '--driver', 'seed', '--reports', dir, '--junit', junit]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/psharness fuzz: FAILED driver=seed seed=1/);
    const jsons = readdirSync(dir).filter((n) => n.endsWith('.json'));
    expect(jsons.length).toBeGreaterThanOrEqual(7);
    expect(readdirSync(dir).filter((n) => n.endsWith('.md')).length).toBe(jsons.length);
    const xml = readFileSync(junit, 'utf8');
    const reports = jsons.map((n) => JSON.parse(readFileSync(join(dir, n), 'utf8')) as { invariant: { id: string }; reachability: { class: string } });
    // JUnit fails the invariants broken where Windows can reach them; the defensive-only ones are warnings
    const violated = new Set(reports.filter((x) => x.reachability.class !== 'defensive').map((x) => x.invariant.id));
    expect(xml).toContain(`<testsuite name="psharness seed" tests="${INVARIANTS.length}" failures="${violated.size}"`);
    expect(xml).toContain('<failure message=');
    expect(reports.some((x) => x.reachability.class === 'defensive')).toBe(true);
    expect(xml).toContain('<system-out>warning (defensive only');
    // replay every report: exit 1 (still failing), identical record
    for (const j of jsons) {
      const rep = await run(['replay', join(dir, j)]);
      expect(rep.code, j).toBe(1);
      expect(rep.out).toContain('record identical');
      expect(rep.out).toContain('violations identical to the report');
    }
  });

  test('the same seed gives the same report bytes on two runs', async () => {
    const a = tmp();
    await run(['fuzz', '--driver', 'seed', '--reports', a]);
    const names = readdirSync(a).sort();
    const first = new Map(names.map((n) => [n, readFileSync(join(a, n), 'utf8')]));
    for (const n of names) rmSync(join(a, n));
    await run(['fuzz', '--driver', 'seed', '--reports', a]);
    expect(readdirSync(a).sort()).toEqual(names);
    for (const n of names) expect(readFileSync(join(a, n), 'utf8'), n).toBe(first.get(n));
  });

  test('a second run keeps the reports already there', async () => {
    const dir = tmp();
    await run(['fuzz', '--driver', 'seed', '--reports', dir, '--invariant', 'references-balanced']);
    const before = readdirSync(dir).sort();
    const file = join(dir, before[0]);
    const bytes = readFileSync(file, 'utf8');
    await run(['fuzz', '--driver', 'seed', '--reports', dir, '--invariant', 'references-balanced']);
    expect(readdirSync(dir).sort()).toEqual(before);
    expect(readFileSync(file, 'utf8')).toBe(bytes);
  });

  test('reference passes with exit 0', async () => {
    const r = await run(['fuzz', '--driver', 'reference', '--runs', '200', '--profile', 'adversarial', '--no-reports']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/passed driver=reference .* 200 runs/);
  });

  test.each([
    [['fuzz', '--driver', 'nosuch'], /unknown driver 'nosuch'/],
    [['fuzz', '--driver', 'seed', '--build', 'win95'], /unknown OS build 'win95'/],
    [['fuzz', '--driver', 'seed', '--invariant', 'nope'], /unknown invariant 'nope'/],
    [['fuzz', '--driver', 'seed', '--runs', 'many'], /--runs must be a positive integer/],
    [['fuzz', '--driver', 'seed', '--frobnicate'], /unknown option '--frobnicate' for fuzz; see psharness fuzz --help/],
    [['fuzz', '--driver', 'seed', '--profile', 'hostile'], /--profile must be/],
    [['fuzz'], /fuzz needs --driver/],
    [['explode'], /unknown command 'explode'/],
    [['replay'], /exactly one report file/],
  ])('bad usage %j → exit 2 and one line', async (argv, msg) => {
    const r = await run(argv as string[]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(msg);
    expect(r.err.split('\n').length).toBe(1);
  });
});

describe('psharness replay of bad input', () => {
  const dir = tmp();
  const write = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  let good: Record<string, unknown> = {};
  beforeAll(async () => {
    const d = tmp();
    await run(['fuzz', '--driver', 'seed', '--reports', d, '--invariant', 'references-balanced']);
    const j = readdirSync(d).find((n) => n.endsWith('.json'));
    good = JSON.parse(readFileSync(join(d, j ?? ''), 'utf8')) as Record<string, unknown>;
  });

  test.each([
    ['missing.json', null, /cannot read/],
    ['text.json', () => 'not json at all', /is not JSON/],
    ['foreign.json', () => '{"hello": 1}', /is not a psharness report/],
    ['future.json', () => JSON.stringify({ ...good, format: 'psharness-report/9' }), /report format psharness-report\/9; psharness .* reads psharness-report\/1/],
    ['badop.json', () => JSON.stringify({ ...good, scenario: { ...(good.scenario as object), ops: [{ op: 'Reboot' }] } }), /ops\.0\.op is "Reboot": must be one of "CreateProcess"/],
    ['badbuild.json', () => JSON.stringify({ ...good, scenario: { ...(good.scenario as object), build: 'win95' } }), /unknown OS build "win95"/],
    ['baddriver.json', () => JSON.stringify({ ...good, driver: 'ghost' }), /unknown driver 'ghost'/],
    ['badinv.json', () => JSON.stringify({ ...good, invariant: { id: 'nope' } }), /unknown invariant 'nope'/],
  ] as [string, (() => string) | null, RegExp][])('%s → exit 2', async (name, make, msg) => {
    const text = make === null ? null : make();
    const p = text === null ? join(dir, name) : write(name, text);
    const r = await run(['replay', p]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(msg);
    if (text !== null) expect(existsSync(p)).toBe(true);
  });
});

describe('regressions', () => {
  test('saved reports are replayed first: still failing fails the run, fixed ones are reported as holding', async () => {
    const dir = tmp();
    await run(['fuzz', '--driver', 'seed', '--reports', dir, '--invariant', 'references-balanced']);
    writeFileSync(join(dir, 'bench.json'), '{"not": "a report"}');
    const seed = await run(['fuzz', '--driver', 'seed', '--invariant', 'references-balanced', '--regressions', dir, '--no-reports', '--runs', '5']);
    expect(seed.code).toBe(1);
    expect(seed.out).toMatch(/✗ regression .*seed-references-balanced-.*\.json: references-balanced still fails: callback leaked 1 object reference/);
    // the seed leaks in its process and its thread routine: two root causes, two saved reports
    const savedSeed = readdirSync(dir).filter((n) => n.startsWith('seed-') && n.endsWith('.json'));
    expect(savedSeed).toHaveLength(2);
    expect(seed.out).toContain('replayed 2 saved counterexample(s)');
    // the same report against another driver name is not this driver's regression
    const other = await run(['fuzz', '--driver', 'reference', '--regressions', dir, '--no-reports', '--runs', '20']);
    expect(other.code).toBe(0);
    expect(other.out).toContain('replayed 0 saved counterexample(s)');
    expect((await run(['fuzz', '--driver', 'seed', '--regressions', join(dir, 'nope')])).code).toBe(2);
    // a counterexample the fixed driver passes: reported as holding, and the run passes
    const saved = readdirSync(dir).find((n) => n.startsWith('seed-') && n.endsWith('.json')) ?? '';
    const fixed = tmp();
    writeFileSync(join(fixed, 'fixed.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(dir, saved), 'utf8')), driver: 'reference' }));
    const ok = await run(['fuzz', '--driver', 'reference', '--regressions', fixed, '--no-reports', '--runs', '20']);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/✓ regression .*fixed\.json: references-balanced now holds/);
  });
});

describe('long runs', () => {
  test('--time-limit stops a long campaign and still exits 0; progress only when asked for', async () => {
    const lines: string[] = [];
    const out: string[] = [];
    const code = await main(['fuzz', '--driver', 'reference', '--runs', '10000000', '--time-limit', '2', '--no-reports'],
      { out: (l) => out.push(l), err: () => {}, progress: (l) => lines.push(l), now: () => performance.now() });
    expect(code).toBe(0);
    expect(out.at(-1)).toMatch(/passed .* \d+ runs \(stopped by --time-limit\)/);
    expect(lines.some((l) => /^runs \d+\/10000000 {2}0 distinct finding\(s\) {2}\d+ runs\/s/.test(l))).toBe(true);
  });

  test('a malformed --path is refused', async () => {
    const r = await run(['fuzz', '--driver', 'seed', '--path', 'not-a-path']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--path must look like/);
  });
});

describe('psharness list and help', () => {
  test('list shows drivers, builds and invariants', async () => {
    const r = await run(['list']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('win2000-x86');
    expect(r.out).toContain('references-balanced');
    expect(r.out).toContain('mutant:no-deref-process-create');
  });
  test('help exits 0, no command exits 2', async () => {
    expect((await run(['help'])).code).toBe(0);
    expect((await run([])).code).toBe(2);
  });
});
