/**
 * The instrumentation worker (worker_threads): binaryen's passes over one module while the main thread compiles
 * the next target with clang — a cold load of a C driver overlaps its x86 instrumentation with its x64 compile.
 * binaryen starts loading as soon as the worker does.
 */
import { parentPort } from 'node:worker_threads';
import { instrumentDriver, preloadBinaryen, type InstrumentOptions } from './instrument.js';

const port = parentPort;
if (port !== null) {
  void preloadBinaryen();
  port.on('message', (m: { id: number; wasm: Uint8Array; options: InstrumentOptions }) => {
    instrumentDriver(m.wasm, m.options).then(
      (r) => port.postMessage({ id: m.id, wasm: r.wasm, cached: r.cached, ...(r.warning !== undefined ? { warning: r.warning } : {}) }),
      (e: unknown) => port.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) }),
    );
  });
}
