import { Bench } from 'tinybench';

/** One measured subject: operations per second and per-operation latency. */
export interface BenchRow {
  suite: string;
  name: string;
  opsPerSec: number;
  meanMs: number;
  p99Ms: number | null;
  samples: number;
}

/** Our rate divided by a peer's, measured in the same run. */
export interface BenchComparison {
  suite: string;
  subject: string;
  peer: string;
  ratio: number;
  /** The ratio the issue asks for, when there is one. */
  target: number | null;
  met: boolean | null;
}

export interface SuiteResult {
  rows: BenchRow[];
  comparisons: BenchComparison[];
  notes?: string[];
}

export interface BenchCase {
  name: string;
  fn: () => unknown;
}

/** Runs CPU-bound cases with tinybench, interleaving warm-up, and returns one row per case. */
export async function measure(
  suite: string,
  cases: BenchCase[],
  options: { time?: number; warmupTime?: number } = {},
): Promise<BenchRow[]> {
  const bench = new Bench({ time: options.time ?? 1500, warmupTime: options.warmupTime ?? 300 });
  for (const c of cases) bench.add(c.name, c.fn);
  await bench.run();
  return bench.tasks.map((task) => {
    const r = task.result as unknown as {
      state: string;
      error?: unknown;
      throughput: { mean: number };
      latency: { mean: number; p99: number; samplesCount: number };
    };
    if (r.state !== 'completed') {
      throw new Error(`Benchmark "${task.name}" did not complete (${r.state})`, { cause: r.error });
    }
    return {
      suite,
      name: task.name,
      opsPerSec: r.throughput.mean,
      meanMs: r.latency.mean,
      p99Ms: r.latency.p99,
      samples: r.latency.samplesCount,
    };
  });
}

/** A row for work timed by hand (queues drained, batches sent). */
export function throughputRow(suite: string, name: string, operations: number, elapsedMs: number): BenchRow {
  return {
    suite,
    name,
    opsPerSec: (operations / elapsedMs) * 1000,
    meanMs: elapsedMs / operations,
    p99Ms: null,
    samples: operations,
  };
}

export function compare(
  rows: BenchRow[],
  subject: string,
  peer: string,
  target: number | null = null,
): BenchComparison {
  const a = rows.find((r) => r.name === subject);
  const b = rows.find((r) => r.name === peer);
  if (!a || !b) throw new Error(`Cannot compare ${subject} with ${peer}: a row is missing`);
  const ratio = a.opsPerSec / b.opsPerSec;
  return { suite: a.suite, subject, peer, ratio, target, met: target === null ? null : ratio >= target };
}

/** The middle value (the upper one of an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Runs `task` `total` times with at most `concurrency` calls in flight; `task` gets its call's index. */
export async function runConcurrently(
  total: number,
  concurrency: number,
  task: (index: number) => Promise<unknown>,
): Promise<void> {
  let started = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      while (started < total) await task(started++);
    }),
  );
}
