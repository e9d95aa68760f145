/**
 * Which seeds a simulation runs, and how a failure names its seed.
 * `QKV_SIM_SEED=123` runs only seed 123 (replay); `QKV_SIM_SEEDS=200` runs more seeds.
 */
export function simSeeds(defaultCount: number, base = 1): number[] {
  const one = process.env.QKV_SIM_SEED;
  if (one !== undefined && one !== '') {
    const s = Number(one);
    if (!Number.isSafeInteger(s) || s < 0) throw new Error(`QKV_SIM_SEED must be a non-negative integer, got ${one}`);
    return [s];
  }
  const many = Number(process.env.QKV_SIM_SEEDS ?? defaultCount);
  const count = Number.isSafeInteger(many) && many > 0 ? many : defaultCount;
  return Array.from({ length: count }, (_, i) => base + i);
}

/** Runs `fn(seed)`; a failure is rethrown with the seed and how to replay it. */
export function withSeed<T>(name: string, seed: number, fn: (seed: number) => T): T {
  try {
    return fn(seed);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    console.error(`[sim] ${name}: FAILED with seed ${seed}; replay with QKV_SIM_SEED=${seed}`);
    const err = new Error(`${name} failed with seed ${seed} (replay: QKV_SIM_SEED=${seed} npx vitest run test/sim): ${msg}`);
    if (e instanceof Error && e.stack !== undefined) err.stack = `${err.message}\n${e.stack}`;
    throw err;
  }
}
