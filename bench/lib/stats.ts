// Small statistics helpers: the benchmark reports medians over rounds and percentiles of latencies.

export function median(values: readonly number[]): number | undefined {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Nearest-rank percentile (p in 0..100) of already sorted values. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

export interface LatencySummary {
  /** Messages the summary covers (after the warm-up was dropped). */
  readonly count: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

export function summarizeLatencies(micros: readonly number[]): LatencySummary | undefined {
  if (micros.length === 0) return undefined;
  const sorted = [...micros].sort((a, b) => a - b);
  const ms = (us: number | undefined) => (us ?? Number.NaN) / 1000;
  return {
    count: sorted.length,
    p50Ms: ms(percentile(sorted, 50)),
    p90Ms: ms(percentile(sorted, 90)),
    p99Ms: ms(percentile(sorted, 99)),
    maxMs: ms(sorted[sorted.length - 1]),
    meanMs: ms(sorted.reduce((a, b) => a + b, 0) / sorted.length),
  };
}
