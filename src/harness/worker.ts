/**
 * A campaign worker (worker_threads): loads the driver once, then runs the chunks it is sent and sends back
 * their results. Progress is reported every 50 runs.
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
  load(workerData as DriverSpec).then((driver) => {
    port.on('message', (m: { type: string; task: ChunkTask }) => {
      if (m.type !== 'chunk') return;
      try {
        const result = runChunk(driver, m.task, (runs) => {
          if (runs % 50 === 0) port.postMessage({ type: 'progress', k: m.task.k, runs });
        });
        port.postMessage({ type: 'result', result });
      } catch (e) {
        port.postMessage({ type: 'error', error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      }
    });
    port.postMessage({ type: 'ready' });
  }, (e: unknown) => port.postMessage({ type: 'error', error: String(e) }));
}
