/**
 * A campaign worker (worker_threads): loads the driver once, then runs the chunks it is sent and sends back
 * their results. A chunk the main thread has claimed meanwhile (shared `claims`) is skipped. Progress is reported
 * every 50 runs.
 */
import { parentPort, workerData } from 'node:worker_threads';
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

const port = parentPort;
if (port !== null) {
  const { spec, claims } = workerData as { spec: DriverSpec; claims: Int32Array };
  load(spec).then((driver) => {
    port.on('message', (m: { type: string; slot: number; task: ChunkTask }) => {
      if (m.type !== 'chunk') return;
      if (Atomics.compareExchange(claims, m.slot, 0, 1) !== 0) {
        port.postMessage({ type: 'taken', slot: m.slot });
        return;
      }
      try {
        const result = runChunk(driver, m.task, (runs) => {
          if (runs % 50 === 0) port.postMessage({ type: 'progress', k: m.task.k, runs });
        });
        port.postMessage({ type: 'result', slot: m.slot, result });
      } catch (e) {
        port.postMessage({ type: 'error', error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      }
    });
  }, (e: unknown) => port.postMessage({ type: 'error', error: String(e) }));
}
