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
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { DriverModule } from '../driver/types.js';
import { getInvariant, type Invariant } from '../invariants/index.js';
import type { OpWeights } from '../generators/ops.js';
import type { FaultMode, GeneratorFormat } from '../generators/scenario.js';
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
  /**
   * Threads (1: this one only). Needs `spec` for more than 1. `'auto'` (the CLI's default): as many as the machine's
   * cores keep busy (`autoWorkerCount`), started only once what is left would take this thread `WORKERS_REPAY_MS`.
   */
  readonly workers?: number | 'auto';
  /** @internal for tests: the cores `'auto'` counts (default: the machine's) and what it waits for (WORKERS_REPAY_MS). */
  readonly auto?: { readonly cores?: number; readonly repayMs?: number };
  /** @internal told the worker threads started (after this thread's first chunk, or never). */
  readonly onWorkersStarted?: (count: number) => void;
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
  readonly generator?: GeneratorFormat;
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
    ...(t.generator !== undefined ? { generator: t.generator } : {}),
    skipShrink: new Set(t.skipShrink), ...(t.maxFindings !== undefined ? { maxFindings: t.maxFindings } : {}), ...(onRun !== undefined ? { onRun } : {}),
  });
  return {
    k: t.k, runs: r.runs, interrupted: r.interrupted, findings: r.findings.map((f) => ({ ...f, invariant: f.invariant.id })),
    ...(t.stats === true ? { scenarios, labels: [...labels] } : {}),
  };
}

/** What the pool needs from a campaign: chunks by position (in merge order), and where their results go. */
interface PoolJob {
  readonly spec: DriverSpec;
  readonly task: (i: number) => ChunkTask;
  /** Runs position i in this thread and merges it. */
  readonly runHere: (i: number) => void;
  /** Merges a worker's result. */
  readonly accept: (r: ChunkResult) => void;
  readonly progress: (k: number, runs: number) => void;
  /** The signatures merged so far, in order (a worker's queued chunks need not shrink them again). */
  readonly known: () => readonly string[];
  /** Nothing more is needed: everything merged, the finding cap is full, or the campaign was stopped. */
  readonly complete: () => boolean;
  readonly signal?: AbortSignal;
}

/** Chunks a worker holds at once: the next is queued while it runs one, so it never waits for this thread. */
const WORKER_QUEUE = 2;

/**
 * Chunks left after this thread's first that make workers worth starting: each loads the driver and compiles the
 * harness again (0.3-0.5 s here). The default 1,000 runs (4 chunks) stay in this thread.
 */
const WORKERS_AFTER = 4;

/**
 * With `workers: 'auto'`: the time this thread would still need (its last chunk's time, times the chunks left) that
 * repays starting workers. A worker takes 0.3-0.5 s to load and then compiles the harness again: measured on 2 cores,
 * V8's compiler threads for a second isolate cost 1.5-3 CPU-seconds, and psrefmon.c's 5,000 runs took 1.17x as long
 * on two threads as on one.
 */
const WORKERS_REPAY_MS = 4000;

/**
 * Each campaign thread keeps about 0.4 of another core busy with V8's compiler and collector threads (measured here:
 * one thread's process uses 1.3-1.4 CPU-seconds per second), so `'auto'` runs as many threads as leave them room:
 * 1 on 2 cores, 2 on 4, 5 on 8.
 */
export function autoWorkerCount(cores: number): number {
  return Math.max(1, Math.floor(cores / 1.4));
}

/**
 * Runs `count` chunk positions on this thread and `helpers` worker threads. This thread runs chunks from the start
 * (it has the driver loaded), so a campaign is never slower than on one thread: workers are started after its first
 * chunk (WORKERS_AFTER), each joins once it has loaded, and a chunk queued for a worker that has not started it is
 * taken back (a claim in shared memory decides who runs it: exactly one). Results do not depend on who ran what: the
 * campaign merges chunks in position order.
 */
function shareWithWorkers(helpers: number, count: number, job: PoolJob, repayMs: number, onStarted?: (count: number) => void): Promise<void> {
  const claims = new Int32Array(new SharedArrayBuffer(4 * count));
  const claim = (i: number): boolean => Atomics.compareExchange(claims, i, 0, 1) === 0;
  return new Promise<void>((resolveAll, rejectAll) => {
    let next = 0; // the first position not yet handed to anyone
    let ended = false;
    const pool: { worker: Worker; queued: number[] }[] = [];
    const finish = (err?: unknown): void => {
      if (ended) return;
      ended = true;
      for (const p of pool) void p.worker.terminate();
      if (err !== undefined) rejectAll(err);
      else resolveAll();
    };
    let told = 0; // known signatures the workers have been sent
    const tell = (): void => {
      const known = job.known();
      if (known.length === told) return;
      const signatures = known.slice(told);
      told = known.length;
      for (const p of pool) p.worker.postMessage({ type: 'skip', signatures });
    };
    const settled = (): boolean => {
      if (!ended && job.complete()) finish();
      return ended;
    };
    const feed = (p: { worker: Worker; queued: number[] }): void => {
      while (!settled() && p.queued.length < WORKER_QUEUE && next < count) {
        const i = next++;
        p.queued.push(i);
        p.worker.postMessage({ type: 'chunk', slot: i, task: job.task(i) });
      }
    };
    const here = (): void => {
      if (settled()) return;
      // the lowest position nobody has started: merging waits on it first
      let i = -1;
      const waiting = pool.flatMap((p) => p.queued).filter((q) => Atomics.load(claims, q) === 0).sort((a, b) => a - b);
      for (const q of waiting) if (q < next && claim(q)) { i = q; break; }
      if (i < 0 && next < count) {
        i = next++;
        claim(i);
      }
      if (i < 0) return; // everything left is running on a worker: its result ends the campaign
      const started = performance.now();
      try {
        job.runHere(i);
      } catch (e) {
        finish(e);
        return;
      }
      // what is left, at this chunk's pace (a clock that decides who runs what, never what a run does)
      const left = (performance.now() - started) * (count - next);
      tell();
      // workers join after this thread's first chunk, so they start knowing its findings (a campaign full of bugs
      // shrinks each once, not once per thread), and only when enough is left to repay loading the driver again
      if (pool.length === 0 && !settled() && count - next >= WORKERS_AFTER && left >= repayMs) spawn();
      // between chunks the event loop turns: workers' results, a Ctrl-C
      if (!settled()) setImmediate(here);
    };
    job.signal?.addEventListener('abort', () => settled(), { once: true });
    const spawn = (): void => {
      for (let h = 0; h < helpers; h++) {
        const p = { worker: new Worker(workerScript(), { workerData: { spec: job.spec, claims } }), queued: [] as number[] };
        pool.push(p);
        p.worker.on('message', (m: { type: string; result?: ChunkResult; slot?: number; k?: number; runs?: number; error?: string }) => {
          if (ended) return;
          if (m.type === 'progress' && m.k !== undefined && m.runs !== undefined) job.progress(m.k, m.runs);
          else if ((m.type === 'result' || m.type === 'taken') && m.slot !== undefined) {
            p.queued.splice(p.queued.indexOf(m.slot), 1);
            if (m.result !== undefined) job.accept(m.result);
            tell();
            feed(p);
          } else if (m.type === 'error') finish(new Error(m.error));
        });
        p.worker.on('error', (e) => finish(e));
        // its first chunks wait in its port while it loads the driver
        feed(p);
      }
      onStarted?.(helpers);
    };
    setImmediate(here);
  });
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
    ...(o.generator !== undefined ? { generator: o.generator } : {}),
  });

  const auto = o.workers === 'auto';
  const workers = Math.max(1, Math.min(auto ? autoWorkerCount(o.auto?.cores ?? availableParallelism()) : (o.workers ?? 1), mine.length));
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
    await shareWithWorkers(workers - 1, mine.length, {
      spec: o.spec,
      task: (i) => task(mine[i]),
      runHere: (i) => {
        const k = mine[i];
        results.set(k, runChunk(o.driver, task(k), o.onRun === undefined ? undefined : (n) => { progress.set(k, n); report(); }));
        merge();
      },
      accept: (r) => {
        results.set(r.k, r);
        merge();
      },
      progress: (k, runs) => {
        progress.set(k, runs);
        report();
      },
      complete: () => done || stopped() || merged >= mine.length,
      known: () => [...found.keys()],
      ...(o.signal !== undefined ? { signal: o.signal } : {}),
    }, auto ? (o.auto?.repayMs ?? WORKERS_REPAY_MS) : 0, o.onWorkersStarted);
  }
  const first = order[0];
  return {
    failed: order.length > 0, interrupted, seed: o.seed, runs: mergedRuns, path: first?.path ?? null,
    fastCheckShrinks: 0, counterexample: first?.scenario ?? null, findings: order,
  };
}
