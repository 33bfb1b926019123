/**
 * The parsers of what a user hands psharness — reports, scenarios, log specs (`<driver>.psharness.json`) and the JSON
 * text under them — fuzzed with fast-check (issue 29). Inputs are valid ones with fields replaced, removed or retyped,
 * and arbitrary text. Each must end as the CLI promises: accepted, or refused by the parser's own error in one line
 * naming the file. An input accepted must then run: a scenario that validates simulates without an exception of the
 * harness's own, a log spec that validates parses any line.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, test } from 'vitest';
import { reference, wssprocmon } from '../../src/driver/index.js';
import { InputFileError, parseInputJson } from '../../src/driver/input-files.js';
import { LogSpecError, parserFromSpec, validateLogSpec } from '../../src/driver/log-spec.js';
import { runAndCheck } from '../../src/harness/check.js';
import { loadReport, validateScenario } from '../../src/harness/replay.js';
import { ReportError } from '../../src/harness/report.js';
import { INVARIANTS } from '../../src/invariants/index.js';
import { runCli } from '../helpers.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every path to a value in `v` (at most `max`), root first. */
function paths(v: Json, max = 2000): (string | number)[][] {
  const out: (string | number)[][] = [];
  const walk = (x: Json, at: (string | number)[]): void => {
    if (out.length >= max) return;
    out.push(at);
    if (Array.isArray(x)) x.forEach((c, i) => walk(c, [...at, i]));
    else if (x !== null && typeof x === 'object') for (const [k, c] of Object.entries(x)) walk(c, [...at, k]);
  };
  walk(v, []);
  return out;
}

type Mutation = { readonly at: number; readonly kind: 'set' | 'delete'; readonly value: Json };

/** Values a hostile file puts where a field was: other types, extremes, deep or long things. */
const hostileValue: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
  fc.constantFrom<Json>(-1, 0, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 53), 1e308, -1e308, 0.5, '', 'x'.repeat(5000), [], {},
    '\u0000', '../../etc/passwd', '/dev/zero', 'winxp-x86', 'ExitProcess', 'CreateProcess', 'P1', 'T1', 'System', true, null),
);

const mutations: fc.Arbitrary<Mutation[]> = fc.array(
  fc.record({ at: fc.nat(), kind: fc.constantFrom<'set' | 'delete'>('set', 'set', 'delete'), value: hostileValue }),
  { minLength: 1, maxLength: 4 },
);

function mutate(base: Json, ms: readonly Mutation[]): Json {
  let doc = structuredClone(base);
  for (const m of ms) {
    const all = paths(doc);
    const at = all[m.at % all.length];
    if (at.length === 0) {
      doc = m.value;
      continue;
    }
    let parent: Json = doc;
    for (const k of at.slice(0, -1)) parent = (parent as Record<string | number, Json>)[k];
    const key = at[at.length - 1];
    if (Array.isArray(parent) && typeof key === 'number') {
      if (m.kind === 'delete') parent.splice(key, 1);
      else parent[key] = m.value;
    } else if (parent !== null && typeof parent === 'object') {
      const o = parent as Record<string, Json>;
      if (m.kind === 'delete') delete o[key as string];
      else o[key as string] = m.value;
    }
  }
  return doc;
}

/** A refusal as the CLI prints it: one line, bounded, naming the file. */
function expectRefusal(e: unknown, classes: readonly (new (...a: never[]) => Error)[], file: string): void {
  if (!classes.some((c) => e instanceof c)) throw e; // any other exception is the defect this test looks for
  const message = (e as Error).message;
  expect(message.includes('\n'), message).toBe(false);
  expect(message.length).toBeLessThan(2000);
  expect(message).toContain(file);
}

const dir = mkdtempSync(join(tmpdir(), 'psh-parsers-'));
let report: Json;
let logSpec: Json;

beforeAll(async () => {
  const reports = join(dir, 'reports');
  const r = await runCli(['fuzz', '--driver', 'seed', '--runs', '30', '--reports', reports, '--invariant', 'references-balanced']);
  expect(r.code).toBe(1);
  report = JSON.parse(readFileSync(join(reports, readdirSync(reports).find((f) => f.endsWith('.json')) as string), 'utf8')) as Json;
  logSpec = JSON.parse(readFileSync('examples/drivers/proctable.psharness.json', 'utf8')) as Json;
}, 120_000);

const SETTINGS = { seed: 29, numRuns: 150 } as const;

describe('reports: accepted, or refused in one line; an accepted one replays', () => {
  test('a valid report with fields replaced, removed or retyped', () => {
    let accepted = 0;
    fc.assert(fc.property(mutations, (ms) => {
      const file = join(dir, 'r.json');
      writeFileSync(file, JSON.stringify(mutate(report, ms)));
      let loaded;
      try {
        loaded = loadReport(file);
      } catch (e) {
        expectRefusal(e, [ReportError], file);
        return;
      }
      accepted++;
      // what validates runs: the seed and the reference on its scenario, every invariant checked
      for (const driver of [wssprocmon, reference]) expect(runAndCheck(driver, loaded.scenario, INVARIANTS).record.ops.length).toBeGreaterThan(0);
    }), SETTINGS);
    // the mutations reach past the format check (some stay valid: a changed message or seed)
    expect(accepted).toBeGreaterThan(0);
  }, 120_000);
});

describe('scenarios (--scenario FILE, a report\'s scenario): accepted, or refused in one line; an accepted one runs', () => {
  test('a valid scenario with fields replaced, removed or retyped', () => {
    const base = (report as { scenario: Json }).scenario;
    let accepted = 0;
    fc.assert(fc.property(mutations, (ms) => {
      const data = mutate(base, ms);
      let scenario;
      try {
        scenario = validateScenario(data, 'scenario.json');
      } catch (e) {
        expectRefusal(e, [ReportError], 'scenario.json');
        return;
      }
      accepted++;
      for (const driver of [wssprocmon, reference]) runAndCheck(driver, scenario, INVARIANTS);
    }), SETTINGS);
    expect(accepted).toBeGreaterThan(0);
  }, 120_000);
});

describe('scenarios that fit the schema but not the story: operations reordered, repeated, dropped, pointing at the wrong ids', () => {
  test('every one is refused in one line or runs to its end on the seed and the reference', () => {
    const base = (report as { scenario: { ops: Json[] } }).scenario;
    const ids = [...new Set(JSON.stringify(base.ops).match(/"[A-Z][0-9]+"|"System"/g) ?? [])].map((q) => JSON.parse(q) as string);
    const edit = fc.record({
      order: fc.array(fc.nat(), { minLength: 1, maxLength: 2 * base.ops.length + 2 }),
      retarget: fc.array(fc.record({ op: fc.nat(), field: fc.nat(), to: fc.oneof(fc.constantFrom(...ids, 'P99', 'T99', 'F99', ''), fc.string({ maxLength: 4 })) }), { maxLength: 4 }),
    });
    let accepted = 0;
    fc.assert(fc.property(edit, ({ order, retarget }) => {
      const ops = order.map((i) => structuredClone(base.ops[i % base.ops.length])) as Record<string, Json>[];
      for (const r of retarget) {
        const op = ops[r.op % ops.length];
        const fields = Object.keys(op).filter((k) => k !== 'op' && typeof op[k] === 'string');
        if (fields.length > 0) op[fields[r.field % fields.length]] = r.to;
      }
      let scenario;
      try {
        scenario = validateScenario({ ...base, ops } as unknown as Json, 'scenario.json');
      } catch (e) {
        expectRefusal(e, [ReportError], 'scenario.json');
        return;
      }
      accepted++;
      for (const driver of [wssprocmon, reference]) runAndCheck(driver, scenario, INVARIANTS);
    }), { seed: 29, numRuns: 300 });
    expect(accepted).toBeGreaterThan(100);
  }, 120_000);
});

describe('log specs (<driver>.psharness.json): accepted, or refused in one line; an accepted one parses any line', () => {
  test('a valid log spec with fields replaced, removed or retyped, then arbitrary lines through it', () => {
    let accepted = 0;
    fc.assert(fc.property(mutations, fc.array(fc.string({ unit: 'binary', maxLength: 600 }), { maxLength: 20 }), (ms, lines) => {
      let spec;
      try {
        spec = validateLogSpec(mutate(logSpec, ms), 'd.psharness.json');
      } catch (e) {
        expectRefusal(e, [LogSpecError], 'd.psharness.json');
        return;
      }
      accepted++;
      const started = performance.now();
      expect(Array.isArray(parserFromSpec(spec)(lines))).toBe(true);
      expect(performance.now() - started).toBeLessThan(2000);
    }), SETTINGS);
    expect(accepted).toBeGreaterThan(0);
  }, 120_000);
});

describe('JSON text: parsed, or refused in one line', () => {
  test('arbitrary text, and valid JSON cut, spliced or nested deep', () => {
    const valid = JSON.stringify(report);
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 2000 }),
      fc.tuple(fc.nat(valid.length), fc.nat(valid.length), fc.string({ maxLength: 20 })).map(([a, b, s]) => valid.slice(0, Math.min(a, b)) + s + valid.slice(Math.max(a, b))),
      fc.tuple(fc.integer({ min: 1, max: 100_000 }), fc.constantFrom('[', '{"a":')).map(([n, open]) => open.repeat(n)),
    );
    fc.assert(fc.property(text, (t) => {
      try {
        parseInputJson(t, 'input.json', 'report');
      } catch (e) {
        expectRefusal(e, [InputFileError], 'input.json');
      }
    }), SETTINGS);
  }, 120_000);
});
