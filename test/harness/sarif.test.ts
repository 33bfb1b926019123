/**
 * Results where CI looks for them (issue 24): SARIF 2.1.0 validated against the OASIS schema
 * (test/fixtures/sarif/sarif-2.1.0-rtm.5.json, the schemastore copy that @microsoft/jest-sarif 1.0.0-beta.0 ships),
 * GitHub Actions annotations when GITHUB_ACTIONS is set, JUnit test cases with file and line — each pointing at the
 * routine of the driver's source the finding is about.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import AjvDraft04 from 'ajv-draft-04';
import ajvFormats from 'ajv-formats';
import { describe, expect, test } from 'vitest';
import { functionLines, routineLines } from '../../src/driver/wasm/symbols.js';
import { runCli } from '../helpers.js';

const schema = JSON.parse(readFileSync('test/fixtures/sarif/sarif-2.1.0-rtm.5.json', 'utf8')) as object;
// CommonJS modules: their default export is the module's `default` under NodeNext
const Ajv = AjvDraft04.default;
const addFormats = ajvFormats.default;
// the schema's language pattern is not valid in unicode mode (`]?`): compile its patterns as plain RegExps
const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
addFormats(ajv);
const validate = ajv.compile(schema);

/** The line a routine's body opens on: the line after its signature (the `{`), as the driver's source has it. */
function bodyLine(file: string, signature: string): number {
  const lines = readFileSync(file, 'utf8').split('\n');
  const at = lines.findIndex((l) => l.startsWith(signature));
  expect(at).toBeGreaterThanOrEqual(0);
  return at + 2;
}

interface SarifResult {
  ruleId: string;
  level: string;
  message: { text: string };
  locations?: { physicalLocation: { artifactLocation: { uri: string; uriBaseId?: string }; region?: { startLine: number } }; logicalLocations?: { name: string }[] }[];
  relatedLocations?: { physicalLocation: { region?: { startLine: number } } }[];
  partialFingerprints: Record<string, string>;
}

describe('source lines of a C driver\'s routines (a -g build, name section and DWARF line table)', () => {
  test('each routine opens on the line after its signature, on the driver\'s own files; a module without DWARF has none', async () => {
    const lines = await routineLines('examples/drivers/proctable-nolock.c');
    expect(lines.get('OnThread')).toEqual({ file: 'proctable.c', line: bodyLine('examples/drivers/proctable.c', 'static VOID OnThread(') });
    expect(lines.get('OnProcess')).toEqual({ file: 'proctable.c', line: bodyLine('examples/drivers/proctable.c', 'static VOID OnProcess(') });
    expect(lines.get('DriverEntry')?.file).toBe('proctable.c');
    // a module with no debug sections (the first 8 bytes of any module: magic and version)
    expect(functionLines(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0])).size).toBe(0);
  });
});

describe('--sarif FILE, GitHub annotations, JUnit file and line', () => {
  test('a race: one valid SARIF result at the racing access, the other access related; an annotation; JUnit file and line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psh-sarif-'));
    const sarif = join(dir, 'out.sarif');
    const junit = join(dir, 'junit.xml');
    const r = await runCli(['fuzz', '--driver', 'examples/drivers/proctable-nolock.c', '--runs', '1000', '--seed', '2', '--max-findings', '1', '--no-reports', '--sarif', sarif, '--junit', junit, '--invariant', 'no-data-race'], () => 0, { GITHUB_ACTIONS: 'true' });
    expect(r.code).toBe(1);
    const log = JSON.parse(readFileSync(sarif, 'utf8')) as { version: string; runs: { tool: { driver: { rules: { id: string }[] } }; results: SarifResult[] }[] };
    expect(validate(log), JSON.stringify(validate.errors)).toBe(true);
    expect(log.version).toBe('2.1.0');
    const [run] = log.runs;
    expect(run.tool.driver.rules.map((x) => x.id)).toEqual(['no-data-race']);
    expect(run.results).toHaveLength(1);
    const [res] = run.results;
    expect(res).toMatchObject({ ruleId: 'no-data-race', level: 'error' });
    expect(res.partialFingerprints['psharnessSignature/v1']).toMatch(/^no-data-race\|/);
    const loc = res.locations?.[0];
    expect(loc?.physicalLocation.artifactLocation).toEqual({ uri: 'examples/drivers/proctable.c', uriBaseId: 'SRCROOT' });
    // at the racing access itself: a line of the source that touches the raced data, the other access related
    const source = readFileSync('examples/drivers/proctable.c', 'utf8').split('\n');
    const at = loc?.physicalLocation.region?.startLine ?? 0;
    expect(source[at - 1]).toMatch(/gBuckets|->/);
    expect(['OnThread', 'OnProcess']).toContain(loc?.logicalLocations?.[0].name);
    const other = res.relatedLocations?.[0].physicalLocation.region?.startLine ?? 0;
    expect(source[other - 1]).toMatch(/gBuckets|->/);
    // the annotation GitHub shows inline, at the same place
    const ann = r.lines.find((l) => l.startsWith('::error '));
    expect(ann).toMatch(new RegExp(`^::error file=examples/drivers/proctable\\.c,line=${loc?.physicalLocation.region?.startLine},title=psharness no-data-race::data race on `));
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toMatch(new RegExp(`<testcase classname="[^"]*" name="no-data-race" file="examples/drivers/proctable\\.c" line="${loc?.physicalLocation.region?.startLine}" time="0\\.000">`));
    expect(xml).toMatch(/<testsuite [^>]* time="0\.00">/);
    // each test case's time is an equal share of the campaign's: together they are the suite's
    let clock = 0;
    const timed = join(dir, 'timed.xml');
    await runCli(['fuzz', '--driver', 'seed', '--runs', '50', '--no-reports', '--junit', timed, '--invariant', 'no-bugcheck', '--invariant', 'pool-released'], () => (clock += 1500));
    const suite = Number(/<testsuite [^>]* time="([0-9.]+)">/.exec(readFileSync(timed, 'utf8'))?.[1]);
    const cases = [...readFileSync(timed, 'utf8').matchAll(/<testcase [^>]* time="([0-9.]+)"/g)].map((m) => Number(m[1]));
    expect(suite).toBeGreaterThan(0);
    expect(cases).toEqual([suite / 2, suite / 2].map((t) => Number(t.toFixed(3))));
  }, 120_000);

  test('no annotations without GITHUB_ACTIONS; a bug check points at its faulting line; a warning is a warning', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psh-sarif-'));
    const sarif = join(dir, 'out.sarif');
    // lookup-unchecked.c uses the process it looked up without checking: defensive only, a warning
    const r = await runCli(['fuzz', '--driver', 'test/fixtures/reachability/lookup-unchecked.c', '--runs', '500', '--no-reports', '--sarif', sarif, '--invariant', 'no-bugcheck']);
    expect(r.lines.some((l) => l.startsWith('::'))).toBe(false);
    const log = JSON.parse(readFileSync(sarif, 'utf8')) as { runs: { results: SarifResult[] }[] };
    expect(validate(log), JSON.stringify(validate.errors)).toBe(true);
    const res = log.runs[0].results.find((x) => x.ruleId === 'no-bugcheck');
    expect(res?.level).toBe('warning');
    expect(res?.locations?.[0].logicalLocations?.[0].name).toBe('OnProcess');
    // the faulting line itself (the bug check's stack), not the routine's first line
    const lines = readFileSync('test/fixtures/reachability/lookup-unchecked.c', 'utf8').split('\n');
    expect(res?.locations?.[0].physicalLocation.region?.startLine).toBe(lines.findIndex((l) => l.includes('*(volatile ULONG *)((PUCHAR)Process + 8)')) + 1);
  }, 120_000);

  test('a built-in TypeScript driver: results without a source location, still valid; a clean run has no results', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psh-sarif-'));
    const bad = join(dir, 'bad.sarif');
    const r = await runCli(['fuzz', '--driver', 'seed', '--runs', '300', '--no-reports', '--sarif', bad]);
    expect(r.code).toBe(1);
    const log = JSON.parse(readFileSync(bad, 'utf8')) as { runs: { results: SarifResult[] }[] };
    expect(validate(log), JSON.stringify(validate.errors)).toBe(true);
    expect(log.runs[0].results.length).toBeGreaterThan(3);
    expect(log.runs[0].results.every((x) => x.locations === undefined)).toBe(true);
    const good = join(dir, 'good.sarif');
    const ok = await runCli(['fuzz', '--driver', 'reference', '--runs', '100', '--no-reports', '--sarif', good]);
    expect(ok.code).toBe(0);
    const clean = JSON.parse(readFileSync(good, 'utf8')) as { runs: { results: SarifResult[] }[] };
    expect(validate(clean)).toBe(true);
    expect(clean.runs[0].results).toEqual([]);
  }, 120_000);

  test('a --sarif path that cannot be written is exit 2 with one line, and nothing half-written is left', async () => {
    const r = await runCli(['fuzz', '--driver', 'reference', '--runs', '10', '--no-reports', '--sarif', '/nonexistent-dir/x.sarif']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^psharness: cannot write --sarif \/nonexistent-dir\/x\.sarif: /);
  });
});
