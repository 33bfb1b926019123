/**
 * Exhaustive small scope (SmallCheck, TigerBeetle's exhaustigen): every scenario of up to K operations over a small
 * canonical universe, shortest first, so that "no violation up to K" is a statement, not a sample. The universe: one
 * image path per kind, processes and threads named in creation order (symmetric renamings are one scenario), the
 * driver's device opened and closed, the driver unloaded and loaded again; no faults, no crowding, documented profile.
 */
import type { Op } from '../model/ops.js';
import type { Scenario } from '../model/scenario.js';

const PROCESS_PATH = '\\Device\\HarddiskVolume1\\Windows\\a.exe';
const DLL_PATH = '\\Device\\HarddiskVolume1\\Windows\\System32\\b.dll';

interface State {
  readonly processes: readonly { readonly id: string; readonly threads: readonly string[] }[];
  readonly nextProcess: number;
  readonly nextThread: number;
  readonly loaded: boolean;
}

/** The operations that make sense in a state, each with the state it leads to. */
function moves(s: State): [Op, State][] {
  const out: [Op, State][] = [];
  const live = s.processes;
  for (const parent of ['System', ...live.map((p) => p.id)]) {
    const id = `P${s.nextProcess}`;
    const thread = `T${s.nextThread}`;
    out.push([{ op: 'CreateProcess', id, thread, parent, path: PROCESS_PATH },
      { ...s, processes: [...live, { id, threads: [thread] }], nextProcess: s.nextProcess + 1, nextThread: s.nextThread + 1 }]);
  }
  for (const p of live) {
    const t = `T${s.nextThread}`;
    out.push([{ op: 'CreateThread', id: t, process: p.id },
      { ...s, processes: live.map((q) => (q === p ? { ...q, threads: [...q.threads, t] } : q)), nextThread: s.nextThread + 1 }]);
  }
  for (const p of live) {
    for (const t of p.threads) {
      // the last thread's exit ends its process (PspExitThread)
      const rest = p.threads.filter((x) => x !== t);
      out.push([{ op: 'ExitThread', thread: t },
        { ...s, processes: rest.length === 0 ? live.filter((q) => q !== p) : live.map((q) => (q === p ? { ...q, threads: rest } : q)) }]);
    }
  }
  for (const p of live) out.push([{ op: 'ExitProcess', process: p.id }, { ...s, processes: live.filter((q) => q !== p) }]);
  for (const target of ['System', ...live.map((p) => p.id)]) out.push([{ op: 'LoadImage', process: target, path: DLL_PATH }, s]);
  if (s.loaded) {
    out.push([{ op: 'DeviceRequest', major: 'IRP_MJ_CREATE' }, s]);
    out.push([{ op: 'DeviceRequest', major: 'IRP_MJ_CLOSE' }, s]);
    out.push([{ op: 'UnloadDriver' }, { ...s, loaded: false }]);
  } else out.push([{ op: 'LoadDriver' }, { ...s, loaded: true }]);
  return out;
}

const START: State = { processes: [], nextProcess: 1, nextThread: 1, loaded: true };

/** Every operation sequence of exactly `length` operations, in a fixed order. */
function* sequences(length: number, s: State = START, prefix: Op[] = []): Generator<Op[]> {
  if (prefix.length === length) {
    yield prefix;
    return;
  }
  for (const [op, next] of moves(s)) yield* sequences(length, next, [...prefix, op]);
}

/** How many scenarios of up to K operations there are on one build. */
export function countExhaustive(k: number): number {
  let n = 0;
  for (let len = 0; len <= k; len++) for (const _ of sequences(len)) n++;
  return n;
}

/** Every scenario of up to K operations on each build, shortest first. */
export function* exhaustiveScenarios(k: number, builds: readonly string[]): Generator<Scenario> {
  for (let len = 0; len <= k; len++) {
    for (const build of builds) {
      for (const ops of sequences(len)) {
        yield { build, profile: 'documented', reusePolicy: 'nt52', crowding: { process: 0, thread: 0, image: 0 }, faults: [], ops };
      }
    }
  }
}
