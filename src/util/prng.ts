/** A uniform number generator in [0, 1). */
export type RandomSource = () => number;

/**
 * mulberry32: tiny, fast and good enough for fault rolls. Seedable so that a test which passes a seed sees the same
 * sequence of injected faults on every run — Math.random would make chaos tests flaky.
 */
export function createSeededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
