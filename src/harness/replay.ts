/**
 * Reading a report back (with validation that names what is wrong) and replaying its concrete scenario.
 */
import { readFileSync } from 'node:fs';
import type { DriverModule } from '../driver/types.js';
import { getInvariant, UnknownInvariantError, type Violation } from '../invariants/index.js';
import { BUILDS } from '../model/builds.js';
import { CID_REUSE_POLICIES } from '../model/cid-table.js';
import { IRP_MAJOR } from '../model/ddi.js';
import type { Op } from '../model/ops.js';
import type { RunRecord } from '../model/record.js';
import type { Scenario } from '../model/scenario.js';
import { VERSION } from '../version.js';
import { runAndCheck } from './check.js';
import { recordHash, REPORT_FORMAT, ReportError, type Report } from './report.js';

type Json = unknown;

function isObject(x: Json): x is Record<string, Json> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function need(cond: boolean, what: string): void {
  if (!cond) throw new ReportError(what);
}

const OP_FIELDS: Readonly<Record<string, readonly string[]>> = {
  CreateProcess: ['id', 'thread', 'parent', 'path'],
  CreateThread: ['id', 'process'],
  ExitThread: ['thread'],
  ExitProcess: ['process'],
  LoadImage: ['process', 'path'],
  DeviceRequest: ['major'],
  LoadDriver: [],
  UnloadDriver: [],
};

/** Checks that `x` is a well-formed scenario; the error names the first bad field. */
export function validateScenario(x: Json, where = 'scenario'): Scenario {
  need(isObject(x), `${where} is not an object`);
  const s = x as Record<string, Json>;
  need(typeof s.build === 'string' && BUILDS.some((b) => b.id === s.build), `${where}.build: unknown OS build ${JSON.stringify(s.build)}`);
  need(s.profile === 'documented' || s.profile === 'adversarial', `${where}.profile must be "documented" or "adversarial"`);
  need(typeof s.reusePolicy === 'string' && (CID_REUSE_POLICIES as readonly string[]).includes(s.reusePolicy), `${where}.reusePolicy must be one of ${CID_REUSE_POLICIES.join(', ')}`);
  need(isObject(s.crowding) && ['process', 'thread', 'image'].every((k) => Number.isInteger((s.crowding as Record<string, Json>)[k])), `${where}.crowding must hold integer process, thread and image`);
  need(Array.isArray(s.faults), `${where}.faults must be an array`);
  (s.faults as Json[]).forEach((f, i) => {
    need(isObject(f) && typeof f.ddi === 'string' && Number.isInteger(f.nth) && Number.isInteger(f.status), `${where}.faults[${i}] must be {ddi, nth, status}`);
  });
  need(Array.isArray(s.ops), `${where}.ops must be an array`);
  (s.ops as Json[]).forEach((op, i) => {
    need(isObject(op) && typeof op.op === 'string' && op.op in OP_FIELDS, `${where}.ops[${i}]: unknown operation ${JSON.stringify(isObject(op) ? op.op : op)}`);
    const o = op as Record<string, Json>;
    for (const f of OP_FIELDS[o.op as string]) need(typeof o[f] === 'string', `${where}.ops[${i}].${f} must be a string`);
    if (o.creator !== undefined) need(typeof o.creator === 'string', `${where}.ops[${i}].creator must be a string`);
    if (o.pathUnavailable !== undefined) need(typeof o.pathUnavailable === 'boolean', `${where}.ops[${i}].pathUnavailable must be a boolean`);
    if (o.op === 'DeviceRequest') need(typeof o.major === 'string' && o.major in IRP_MAJOR, `${where}.ops[${i}].major must be one of ${Object.keys(IRP_MAJOR).join(', ')}`);
    if (o.race !== undefined) need(o.race === 'gone' || o.race === 'reused', `${where}.ops[${i}].race must be "gone" or "reused"`);
  });
  return s as unknown as Scenario;
}

export function loadReport(path: string): Report {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ReportError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let data: Json;
  try {
    data = JSON.parse(text);
  } catch {
    throw new ReportError(`${path} is not JSON`);
  }
  need(isObject(data), `${path} is not a psharness report`);
  const r = data as Record<string, Json>;
  if (r.format !== REPORT_FORMAT) {
    need(typeof r.format === 'string' && r.format.startsWith('psharness-report/'), `${path} is not a psharness report (no "format": "${REPORT_FORMAT}")`);
    throw new ReportError(`${path} has report format ${String(r.format)}; psharness ${VERSION} reads ${REPORT_FORMAT}`);
  }
  need(typeof r.driver === 'string', `${path}: "driver" must be a string`);
  need(isObject(r.invariant) && typeof r.invariant.id === 'string', `${path}: "invariant.id" must be a string`);
  try {
    getInvariant((r.invariant as Record<string, Json>).id as string);
  } catch (e) {
    if (e instanceof UnknownInvariantError) throw new ReportError(`${path}: ${e.message}`);
    throw e;
  }
  validateScenario(r.scenario, `${path}: scenario`);
  need(Array.isArray(r.violations), `${path}: "violations" must be an array`);
  need(typeof r.recordSha256 === 'string', `${path}: "recordSha256" must be a string`);
  return data as unknown as Report;
}

export interface ReplayResult {
  readonly violations: Violation[];
  readonly record: RunRecord;
  readonly recordSha256: string;
  /** The record's bytes are the ones the report was written from. */
  readonly identicalRecord: boolean;
  /** The violations are the report's, message for message. */
  readonly sameViolations: boolean;
}

export function replayReport(report: Report, driver: DriverModule): ReplayResult {
  const invariant = getInvariant(report.invariant.id);
  const run = runAndCheck(driver, report.scenario as Scenario, [invariant]);
  const hash = recordHash(run.record);
  return {
    violations: run.violations,
    record: run.record,
    recordSha256: hash,
    identicalRecord: hash === report.recordSha256,
    sameViolations: JSON.stringify(run.violations) === JSON.stringify(report.violations),
  };
}

export type { Op };
