/**
 * Validation of what psharness reads back, against the published JSON Schema (`reports/report.schema.json`,
 * draft-07) with ajv: structure, types, enums and resource caps in the schema; what depends on the build (crowding
 * within the table capacity) or on the code (known invariants) checked after it. Errors are one line naming the
 * first bad field.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { BUILDS } from '../model/builds.js';
import type { Scenario } from '../model/scenario.js';
import { ReportError } from './report.js';

export const REPORT_SCHEMA_ID = 'https://psharness.dev/schema/psharness-report-1.json';

/** reports/report.schema.json in this installation. */
export function reportSchemaPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../reports', '../../../reports']) {
    const p = resolve(here, up, 'report.schema.json');
    if (existsSync(p)) return p;
  }
  throw new Error('psharness: reports/report.schema.json is missing from the installation');
}

let compiled: { report: ValidateFunction; scenario: ValidateFunction } | null = null;

function validators(): { report: ValidateFunction; scenario: ValidateFunction } {
  if (compiled !== null) return compiled;
  const ajv = new Ajv({ allErrors: false, strict: false, verbose: true });
  ajv.addSchema(JSON.parse(readFileSync(reportSchemaPath(), 'utf8')) as object);
  const report = ajv.getSchema(REPORT_SCHEMA_ID);
  const scenario = ajv.getSchema(`${REPORT_SCHEMA_ID}#/definitions/scenario`);
  if (report === undefined || scenario === undefined) throw new Error('psharness: the report schema does not compile');
  compiled = { report, scenario };
  return compiled;
}

/** The deepest error is the most specific one (if/then and oneOf report their branches too). */
function oneLine(where: string, errors: readonly ErrorObject[] | null | undefined): string {
  const e = [...(errors ?? [])].sort((a, b) => b.instancePath.length - a.instancePath.length)[0];
  if (e === undefined) return `${where} does not match the report schema`;
  const at = e.instancePath === '' ? '' : e.instancePath.slice(1).replace(/\//g, '.');
  const detail = e.keyword === 'enum' ? `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`
    : e.keyword === 'additionalProperties' ? `has an unknown field ${JSON.stringify((e.params as { additionalProperty: string }).additionalProperty)}`
      : e.keyword === 'const' ? `must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`
        : (e.message ?? 'is invalid');
  const value = e.data === undefined || typeof e.data === 'object' ? '' : ` is ${JSON.stringify(e.data).slice(0, 80)}:`;
  return `${where}${at === '' ? '' : `: ${at}`}${value} ${detail}`;
}

/** What the schema cannot say: the build exists, crowding fits its notify tables. */
function checkScenarioSemantics(s: Scenario, where: string): void {
  const build = BUILDS.find((b) => b.id === s.build);
  if (build === undefined) throw new ReportError(`${where}: build: unknown OS build ${JSON.stringify(s.build)}`);
  for (const k of ['process', 'thread', 'image'] as const) {
    if (s.crowding[k] > build.capacity[k]) {
      throw new ReportError(`${where}: crowding.${k} ${s.crowding[k]} exceeds the ${k} notify table's capacity on ${build.id} (${build.capacity[k]})`);
    }
  }
}

export function validateScenarioData(x: unknown, where: string): Scenario {
  const v = validators().scenario;
  if (!v(x)) throw new ReportError(oneLine(where, v.errors));
  checkScenarioSemantics(x as Scenario, where);
  return x as Scenario;
}

export function validateReportData(x: unknown, where: string): void {
  const v = validators().report;
  if (!v(x)) throw new ReportError(oneLine(where, v.errors));
  checkScenarioSemantics((x as { scenario: Scenario }).scenario, `${where}: scenario`);
}
