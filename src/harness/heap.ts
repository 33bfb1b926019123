/**
 * The collector setting a campaign runs with. V8's allocation-site pretenuring watches, at each scavenge, how many
 * objects from each object or array literal survived; past 85% it allocates that literal's objects in old space
 * from then on. A harness run is the worst case for that guess: every object of a run dies when the run ends, but a
 * scavenge that lands during warm-up or mid-run sees them all alive. Once a few literals are tenured, their old
 * objects hold the run's young ones, which then survive every scavenge until a full collection, which tenures
 * more: a process settles for good into a mode where scavenges copy most of what a run allocates (measured: 54-60%
 * of young objects surviving, 8-10 ms scavenges, an empty run 2-3x slower). Without it a scavenge finds ~0.1% alive.
 * docs/performance.md has the figures.
 */
import { setFlagsFromString } from 'node:v8';

let tuned = false;

/**
 * Turns V8's allocation-site pretenuring off for this process (its worker threads included: V8's flags are the
 * process's). The CLI does it first thing; a test suite that runs long campaigns through the API may call it too.
 * It changes when objects are collected, never what a run does: records are the same byte for byte.
 */
export function tuneHeapForCampaigns(): void {
  if (tuned) return;
  tuned = true;
  setFlagsFromString('--no-allocation-site-pretenuring');
}
