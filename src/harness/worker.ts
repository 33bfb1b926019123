/**
 * A campaign worker (worker_threads): loads the driver once, then runs the chunks it is sent and sends back
 * their results. A chunk the main thread has claimed meanwhile (shared `claims`) is skipped. Before each chunk it
 * reads every message waiting for it, so a chunk queued earlier skips shrinking the findings merged since (`skip`).
 * Progress is reported every 50 runs.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { builtinDrivers, isDriverPath } from '../driver/index.js';
import type { DriverModule } from '../driver/types.js';
import { loadWasmDriver } from '../driver/wasm/loader.js';
import { runChunk, type ChunkTask, type DriverSpec } from './campaign.js';

async function load(spec: DriverSpec): Promise<DriverModule> {
  if (isDriverPath(spec.name)) return loadWasmDriver(spec.name, { verifier: spec.verifier, fibers: spec.fibers === true, ...(spec.configuration !== undefined ? { configuration: spec.configuration } : {}) });
  const d = builtinDrivers().get(spec.name);
  if (d === undefined) throw new Error(`unknown driver '${spec.name}'`);
  return spec.verifier ? d : { ...d, verifier: false };
}

interface Message {
  readonly type: string;
  readonly slot: number;
  readonly task: ChunkTask;
  readonly signatures?: readonly string[];
}

const port = parentPort;
if (port !== null) {
  const { spec, claims } = workerData as { spec: DriverSpec; claims: Int32Array };
  const queue: Message[] = [];
  const known = new Set<string>();
  const take = (m: Message): void => {
    if (m.type === 'chunk') queue.push(m);
    else if (m.type === 'skip') for (const s of m.signatures ?? []) known.add(s);
  };
  const drain = (p: MessagePort): void => {
    for (let r = receiveMessageOnPort(p); r !== undefined; r = receiveMessageOnPort(p)) take(r.message as Message);
  };
  load(spec).then((driver) => {
    const work = (): void => {
      drain(port);
      for (let m = queue.shift(); m !== undefined; drain(port), m = queue.shift()) {
        if (Atomics.compareExchange(claims, m.slot, 0, 1) !== 0) {
          port.postMessage({ type: 'taken', slot: m.slot });
          continue;
        }
        const k = m.task.k;
        try {
          const task: ChunkTask = known.size === 0 ? m.task : { ...m.task, skipShrink: [...new Set([...m.task.skipShrink, ...known])] };
          const result = runChunk(driver, task, (runs) => {
            if (runs % 50 === 0) port.postMessage({ type: 'progress', k, runs });
          });
          port.postMessage({ type: 'result', slot: m.slot, result });
        } catch (e) {
          port.postMessage({ type: 'error', error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
        }
      }
    };
    port.on('message', (m: Message) => {
      take(m);
      work();
    });
    work();
  }, (e: unknown) => port.postMessage({ type: 'error', error: String(e) }));
}
