/**
 * Runs the benchmark suites and prints a table; writes the same numbers as
 * JSON to bench/results/<suite>.json and bench/results/latest.json.
 *
 *   pnpm bench                 # every suite
 *   pnpm bench -- secret-box   # suites whose name contains the word (only that suite when one is named exactly)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import type { BenchComparison, BenchRow, SuiteResult } from './harness.ts';

interface Suite {
  name: string;
  load: () => Promise<{ default: () => Promise<SuiteResult> }>;
}

const suites: Suite[] = [
  { name: 'secret-box', load: () => import('./suites/secret-box.ts') },
  { name: 'phone', load: () => import('./suites/phone.ts') },
  { name: 'waba-send', load: () => import('./suites/waba-send.ts') },
  { name: 'waba-send-postgres', load: () => import('./suites/waba-send-postgres.ts') },
  { name: 'waba-policy', load: () => import('./suites/waba-policy.ts') },
  { name: 'meta-webhook', load: () => import('./suites/meta-webhook.ts') },
  { name: 'followups-runner', load: () => import('./suites/followups-runner.ts') },
  { name: 'conditions', load: () => import('./suites/conditions.ts') },
];

const filters = process.argv.slice(2).filter((a) => a !== '--');
const exact = (f: string) => suites.some((s) => s.name === f);
const selected = suites.filter(
  (s) => filters.length === 0 || filters.some((f) => (exact(f) ? s.name === f : s.name.includes(f))),
);
const resultsDir = new URL('../results/', import.meta.url);
await mkdir(resultsDir, { recursive: true });

const environment = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
};

const allRows: BenchRow[] = [];
const allComparisons: BenchComparison[] = [];
const allNotes: string[] = [];
for (const suite of selected) {
  process.stdout.write(`\n▶ ${suite.name}\n`);
  const result = await (await suite.load()).default();
  allRows.push(...result.rows);
  allComparisons.push(...result.comparisons);
  allNotes.push(...(result.notes ?? []));
  console.table(
    result.rows.map((r) => ({
      name: r.name,
      'ops/s': Math.round(r.opsPerSec).toLocaleString('en-US'),
      'mean (µs)': (r.meanMs * 1000).toFixed(2),
      'p99 (µs)': r.p99Ms === null ? '' : (r.p99Ms * 1000).toFixed(2),
      samples: r.samples,
    })),
  );
  for (const c of result.comparisons) {
    const verdict =
      c.target === null ? '' : c.met ? ` (target ${c.target}×: met)` : ` (target ${c.target}×: MISSED)`;
    console.log(`  ${c.subject} / ${c.peer} = ${c.ratio.toFixed(2)}×${verdict}`);
  }
  for (const n of result.notes ?? []) console.log(`  note: ${n}`);
  await writeFile(
    new URL(`${suite.name}.json`, resultsDir),
    `${JSON.stringify({ environment, ...result }, null, 2)}\n`,
  );
}

await writeFile(
  new URL('latest.json', resultsDir),
  `${JSON.stringify({ environment, rows: allRows, comparisons: allComparisons, notes: allNotes }, null, 2)}\n`,
);
console.log(`\nResults written to bench/results/ (${selected.map((s) => s.name).join(', ')})`);
