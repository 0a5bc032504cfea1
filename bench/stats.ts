// Percentiles as the benchmarks report them: nearest rank, on a sorted copy.
export function percentile(values: number[], p: number): number {
  if (!values.length) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}
export const median = (values: number[]) => percentile(values, 50);
