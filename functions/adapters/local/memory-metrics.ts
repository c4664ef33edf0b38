import type { CountMetric, DurationMetric, RelayMetrics } from '../../core/metrics.ts';

/** The relay's metrics counted in process: local mode and tests read them with `snapshot()`. */
export class MemoryMetrics implements RelayMetrics {
  private readonly counts = new Map<string, number>();
  private readonly durations = new Map<string, number[]>();

  count(name: CountMetric, value = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + value);
  }

  duration(name: DurationMetric, ms: number): void {
    const list = this.durations.get(name) ?? [];
    this.durations.set(name, list);
    // A bounded sample (the latest 10,000) is plenty for percentiles on a laptop.
    if (list.length >= 10_000) list.shift();
    list.push(ms);
  }

  flush(): void {}

  snapshot(): { counts: Record<string, number>; durations: Record<string, number[]> } {
    return {
      counts: Object.fromEntries(this.counts),
      durations: Object.fromEntries([...this.durations].map(([k, v]) => [k, [...v]])),
    };
  }
}
