/**
 * A campaign split into chunks that any number of workers can run, with the same findings for any number.
 *
 * Chunk k is the in-process `fuzz` over `CHUNK_RUNS` runs from seed_k (seed_0 = the campaign's seed, so a
 * report's `--seed S --path P` replays in chunk 0), looking for every distinct bug (signature): a pure function of
 * (driver, seed, k, options). The campaign's findings are, per signature, the first chunk's (lowest k) that found
 * it; chunks are merged in order, so the result does not depend on which worker ran what or when. A worker may
 * skip shrinking a signature a lower chunk already has (that finding is never used). The campaign stops once the
 * merged prefix has `maxFindings` findings, or the run budget is spent; runs are counted over the merged prefix.
 * `--shard i/n` runs the chunks k ≡ i-1 (mod n) only, for a campaign split across machines.
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DriverModule } from '../driver/types.js';
import { getInvariant, type Invariant } from '../invariants/index.js';
import type { OpWeights } from '../generators/ops.js';
import type { FaultMode } from '../generators/scenario.js';
import { scenarioLabels } from '../generators/labels.js';
import type { Scenario } from '../model/scenario.js';
import { applicableInvariants, FindingCap, fuzz, type Finding, type FuzzOptions, type FuzzResult } from './fuzz.js';

export const CHUNK_RUNS = 250;

export function chunkSeed(seed: number, k: number): number {
  return (seed + Math.imul(k, 0x9e3779b1)) | 0;
}

/** How a worker gets the driver: a built-in name or a file, and the verifier setting. */
export interface DriverSpec {
  readonly name: string;
  readonly verifier: boolean;
  /** A C driver's fibers build too (runs on several CPUs). */
  readonly fibers?: boolean;
  /** A Visual Studio project's configuration (`--configuration`). */
  readonly configuration?: string;
}

export interface CampaignOptions extends Omit<FuzzOptions, 'onFinding' | 'onRun' | 'examples' | 'skipShrink' | 'deadline' | 'continueAfterFailure'> {
  /** Worker threads (1: in this thread). Needs `spec` for more than 1. */
  readonly workers?: number;
  readonly spec?: DriverSpec;
  /** [i, n]: run only this shard's chunks (1-based i). */
  readonly shard?: readonly [number, number];
  readonly onRun?: (runs: number) => void;
  /** Each accepted finding, in the merged (deterministic) order, as soon as it is final. */
  readonly onFinding?: (finding: Finding) => void;
  /** Collect label statistics over the merged chunks (into `statistics`). */
  readonly statistics?: { scenarios: number; readonly labels: Map<string, number> };
  /**
   * Stops the campaign (Ctrl-C): no chunk starts after it; the result holds the chunks merged so far (in this thread,
   * the chunk running finishes first; on workers, chunks in flight are dropped), `interrupted` set.
   */
  readonly signal?: AbortSignal;
}

/** What a chunk sends back (a finding's invariant by id: workers cannot send functions). */
export interface ChunkResult {
  readonly k: number;
  readonly runs: number;
  readonly interrupted: boolean;
  readonly findings: (Omit<Finding, 'invariant'> & { readonly invariant: string })[];
  /** With stats: scenarios generated and how many carried each label. */
  readonly scenarios?: number;
  readonly labels?: [string, number][];
}

export interface ChunkTask {
  readonly k: number;
  readonly seed: number;
  readonly runs: number;
  readonly builds?: readonly string[];
  readonly profile?: 'documented' | 'adversarial';
  readonly invariants: readonly string[];
  readonly maxOps?: number;
  /** The campaign's deadline as an epoch time in ms (each thread's performance.now() has its own origin). */
  readonly deadline?: number;
  readonly skipShrink: readonly string[];
  readonly maxFindings?: number;
  readonly weights?: OpWeights;
  readonly faults?: FaultMode;
  readonly crowding?: boolean;
  readonly cpus?: number;
  /** Count scenario labels (--stats). */
  readonly stats?: boolean;
}

/** Runs one chunk in this thread. */
export function runChunk(driver: DriverModule, t: ChunkTask, onRun?: (runs: number) => void): ChunkResult {
  const labels = new Map<string, number>();
  let scenarios = 0;
  const onScenario = (s: Scenario): void => {
    scenarios++;
    for (const l of scenarioLabels(s)) labels.set(l, (labels.get(l) ?? 0) + 1);
  };
  const r = fuzz({
    ...(t.stats === true ? { onScenario } : {}),
    driver, seed: t.seed, runs: t.runs, invariants: t.invariants.map((id) => getInvariant(id)),
    ...(t.builds !== undefined ? { builds: t.builds } : {}), ...(t.profile !== undefined ? { profile: t.profile } : {}),
    ...(t.maxOps !== undefined ? { maxOps: t.maxOps } : {}),
    ...(t.deadline !== undefined ? { deadline: t.deadline - performance.timeOrigin } : {}),
    ...(t.weights !== undefined ? { weights: t.weights } : {}), ...(t.faults !== undefined ? { faults: t.faults } : {}),
    ...(t.crowding !== undefined ? { crowding: t.crowding } : {}), ...(t.cpus !== undefined ? { cpus: t.cpus } : {}),
    skipShrink: new Set(t.skipShrink), ...(t.maxFindings !== undefined ? { maxFindings: t.maxFindings } : {}), ...(onRun !== undefined ? { onRun } : {}),
  });
  return {
    k: t.k, runs: r.runs, interrupted: r.interrupted, findings: r.findings.map((f) => ({ ...f, invariant: f.invariant.id })),
    ...(t.stats === true ? { scenarios, labels: [...labels] } : {}),
  };
}

/** dist/harness/worker.js of this installation (workers run the built code). */
function workerScript(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  for (const p of [`${here}worker.js`, `${here}../../dist/harness/worker.js`]) if (existsSync(p)) return p;
  throw new Error('psharness: dist/harness/worker.js is missing: run `npm run build`');
}

export async function runCampaign(o: CampaignOptions): Promise<FuzzResult> {
  const invariants: Invariant[] = [...(o.invariants ?? applicableInvariants(o.driver))];
  const ids = invariants.map((i) => i.id);
  const total = o.runs;
  const chunks = Math.max(1, Math.ceil(total / CHUNK_RUNS));
  const [shardIndex, shardCount] = o.shard ?? [1, 1];
  const mine = Array.from({ length: chunks }, (_, k) => k).filter((k) => k % shardCount === shardIndex - 1);
  const deadline = o.timeLimitMs === undefined ? undefined : performance.timeOrigin + performance.now() + o.timeLimitMs;
  const found = new Map<string, Finding>(); // by signature
  const maxFindings = o.maxFindings ?? 20;
  const cap = new FindingCap(maxFindings, ids);
  const order: Finding[] = [];
  const results = new Map<number, ChunkResult>();
  let merged = 0; // index into `mine` of the next chunk to merge
  let mergedRuns = 0;
  let interrupted = false;
  let done = false;
  const progress = new Map<number, number>();
  const report = (): void => {
    let n = mergedRuns;
    for (const [k, r] of progress) if (!results.has(k) || mine.indexOf(k) >= merged) n += r;
    o.onRun?.(n);
  };
  const merge = (): void => {
    while (!done && merged < mine.length && results.has(mine[merged])) {
      const r = results.get(mine[merged]) as ChunkResult;
      progress.delete(r.k);
      mergedRuns += r.runs;
      for (const f of r.findings) {
        if (found.has(f.signature) || f.shrinkAttempts < 0 || !cap.take(FindingCap.key(f.invariant, f.signature))) continue;
        const finding: Finding = { ...f, invariant: getInvariant(f.invariant) };
        found.set(f.signature, finding);
        order.push(finding);
        o.onFinding?.(finding);
      }
      if (o.statistics !== undefined && r.labels !== undefined) {
        o.statistics.scenarios += r.scenarios ?? 0;
        for (const [l, c] of r.labels) o.statistics.labels.set(l, (o.statistics.labels.get(l) ?? 0) + c);
      }
      merged++;
      if (r.interrupted) interrupted = true;
      if (cap.allFull() || interrupted) done = true;
    }
  };
  const task = (k: number): ChunkTask => ({
    k, seed: chunkSeed(o.seed, k), runs: Math.min(CHUNK_RUNS, total - k * CHUNK_RUNS),
    ...(o.builds !== undefined ? { builds: o.builds } : {}), ...(o.profile !== undefined ? { profile: o.profile } : {}),
    ...(o.maxOps !== undefined ? { maxOps: o.maxOps } : {}), ...(deadline !== undefined ? { deadline } : {}),
    invariants: ids, skipShrink: [...found.keys()], maxFindings, ...(o.statistics !== undefined ? { stats: true } : {}),
    ...(o.weights !== undefined ? { weights: o.weights } : {}), ...(o.faults !== undefined ? { faults: o.faults } : {}),
    ...(o.crowding !== undefined ? { crowding: o.crowding } : {}), ...(o.cpus !== undefined ? { cpus: o.cpus } : {}),
  });

  const workers = Math.max(1, Math.min(o.workers ?? 1, mine.length));
  const stopped = (): boolean => {
    if (o.signal?.aborted !== true) return false;
    interrupted = true;
    done = true;
    return true;
  };
  if (workers === 1 || o.spec === undefined) {
    for (const k of mine) {
      // between chunks the event loop turns, so a Ctrl-C is seen
      if (o.signal !== undefined) await new Promise<void>((resolve) => setImmediate(resolve));
      if (done || stopped()) break;
      results.set(k, runChunk(o.driver, task(k), o.onRun === undefined ? undefined : (n) => { progress.set(k, n); report(); }));
      merge();
    }
  } else {
    await new Promise<void>((resolveAll, rejectAll) => {
      let next = 0;
      let busy = 0;
      const pool: Worker[] = [];
      const finish = (err?: unknown): void => {
        for (const w of pool) void w.terminate();
        if (err !== undefined) rejectAll(err);
        else resolveAll();
      };
      o.signal?.addEventListener('abort', () => {
        stopped();
        finish();
      }, { once: true });
      const feed = (w: Worker): void => {
        if (done || stopped() || next >= mine.length) {
          if (busy === 0) finish();
          return;
        }
        busy++;
        w.postMessage({ type: 'chunk', task: task(mine[next++]) });
      };
      for (let i = 0; i < workers; i++) {
        const w = new Worker(workerScript(), { workerData: o.spec });
        pool.push(w);
        w.on('message', (m: { type: string; result?: ChunkResult; k?: number; runs?: number; error?: string }) => {
          if (m.type === 'ready') feed(w);
          else if (m.type === 'progress' && m.k !== undefined && m.runs !== undefined) {
            progress.set(m.k, m.runs);
            report();
          } else if (m.type === 'result' && m.result !== undefined) {
            busy--;
            results.set(m.result.k, m.result);
            merge();
            feed(w);
          } else if (m.type === 'error') finish(new Error(m.error));
        });
        w.on('error', (e) => finish(e));
      }
    });
  }
  const first = order[0];
  return {
    failed: order.length > 0, interrupted, seed: o.seed, runs: mergedRuns, path: first?.path ?? null,
    fastCheckShrinks: 0, counterexample: first?.scenario ?? null, findings: order,
  };
}
