/**
 * Reading a report back (with validation that names what is wrong) and replaying its concrete scenario.
 */
import { INPUT_LIMITS, parseInputJson, readInputText } from '../driver/input-files.js';
import type { DriverModule } from '../driver/types.js';
import { getInvariant, UnknownInvariantError, type Invariant, type Violation } from '../invariants/index.js';
import type { Op } from '../model/ops.js';
import type { RunRecord } from '../model/record.js';
import type { Scenario } from '../model/scenario.js';
import { VERSION } from '../version.js';
import { runAndCheck } from './check.js';
import { recordHash, REPORT_FORMAT, ReportError, type Report } from './report.js';
import { validateReportData, validateScenarioData } from './schema.js';

type Json = unknown;

function isObject(x: Json): x is Record<string, Json> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function need(cond: boolean, what: string): void {
  if (!cond) throw new ReportError(what);
}

/** Checks that `x` is a well-formed scenario (the report schema's definition); the error names the first bad field. */
export function validateScenario(x: Json, where = 'scenario'): Scenario {
  return validateScenarioData(x, where);
}

export function loadReport(path: string): Report {
  let text: string;
  try {
    text = readInputText(path, 'report', INPUT_LIMITS.report);
  } catch (e) {
    throw new ReportError((e as Error).message);
  }
  const data = parseInputJson(text, path, 'report', (line) => new ReportError(line));
  need(isObject(data), `${path} is not a psharness report`);
  const r = data as Record<string, Json>;
  if (r.format !== REPORT_FORMAT) {
    need(typeof r.format === 'string' && r.format.startsWith('psharness-report/'), `${path} is not a psharness report (no "format": "${REPORT_FORMAT}")`);
    throw new ReportError(`${path} has report format ${String(r.format)}; psharness ${VERSION} reads ${REPORT_FORMAT}`);
  }
  validateReportData(data, path);
  try {
    getInvariant((r.invariant as Record<string, Json>).id as string);
  } catch (e) {
    if (e instanceof UnknownInvariantError) throw new ReportError(`${path}: ${e.message}`);
    throw e;
  }
  return data as unknown as Report;
}

export interface ReplayResult {
  /** The reported invariant's violations now. */
  readonly violations: Violation[];
  /** Every other invariant's violations on the same scenario (a fix that broke something else shows here). */
  readonly others: Violation[];
  readonly record: RunRecord;
  readonly recordSha256: string;
  /** The record's bytes are the ones the report was written from. */
  readonly identicalRecord: boolean;
  /** The violations are the report's, message for message. */
  readonly sameViolations: boolean;
}

/**
 * Replays a report's scenario and checks it against the reported invariant and every one of `also` (the driver's
 * applicable invariants, by default none): a driver "fixed" so that it now crashes is not fixed.
 */
export function replayReport(report: Report, driver: DriverModule, also: readonly Invariant[] = []): ReplayResult {
  const invariant = getInvariant(report.invariant.id);
  const run = runAndCheck(driver, report.scenario as Scenario, [invariant, ...also.filter((i) => i.id !== invariant.id)]);
  const hash = recordHash(run.record);
  return {
    violations: run.violations.filter((v) => v.invariant === invariant.id),
    others: run.violations.filter((v) => v.invariant !== invariant.id),
    record: run.record,
    recordSha256: hash,
    identicalRecord: hash === report.recordSha256,
    sameViolations: JSON.stringify(run.violations.filter((v) => v.invariant === invariant.id)) === JSON.stringify(report.violations),
  };
}

export type { Op };
