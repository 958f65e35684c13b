import { compileCondition } from '@leadrelay/followups';
import { LogicEngine } from 'json-logic-engine';
import jsonLogic from 'json-logic-js';
import { compare, measure, type SuiteResult } from '../harness.ts';

/**
 * Follow-up condition evaluation over 100,000 lead snapshots: our compiled
 * closure tree against json-logic-js `apply` (interpreted) and
 * json-logic-engine's compiled mode (`engine.build`, code generation), all on
 * the same condition and data. One operation = one pass over every lead.
 */
const LEADS = 100_000;

const condition = {
  and: [
    { '==': [{ var: 'lead.status' }, 'new'] },
    { '>=': [{ var: 'lead.answers.budget' }, 50] },
    { in: [{ var: 'lead.source' }, ['Facebook Lead Ad', 'Website', 'Referral']] },
    { or: [{ '<': [{ var: 'lastInboundHoursAgo' }, 48] }, { '!': { var: 'lead.optedOut' } }] },
  ],
};

function snapshots(): Record<string, unknown>[] {
  // A fixed linear congruential sequence: the same data on every run.
  let seed = 42;
  const rand = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const statuses = ['new', 'contacted', 'qualified', 'new'];
  const sources = ['Facebook Lead Ad', 'Website', 'WA Direct', 'Referral', 'Walk-in'];
  return Array.from({ length: LEADS }, (_, i) =>
    Object.freeze({
      lead: Object.freeze({
        id: `lead-${i}`,
        status: statuses[Math.floor(rand() * statuses.length)],
        source: sources[Math.floor(rand() * sources.length)],
        optedOut: rand() < 0.1,
        answers: Object.freeze({ budget: Math.floor(rand() * 100), city: 'Pune' }),
      }),
      now: '2026-11-25T12:00:00.000Z',
      lastInboundHoursAgo: rand() < 0.3 ? null : rand() * 96,
    }),
  );
}

export default async function run(): Promise<SuiteResult> {
  const data = snapshots();
  const ours = compileCondition(condition);
  const engine = new LogicEngine();
  const built = engine.build(condition) as (d: unknown) => unknown;

  // The three must agree before their speed means anything.
  let matches = 0;
  for (const d of data) {
    const a = ours.test(d);
    const b = jsonLogic.truthy(jsonLogic.apply(condition, d));
    const c = engine.truthy(built(d));
    if (a !== b || a !== c) throw new Error(`engines disagree on ${JSON.stringify(d)}`);
    if (a) matches++;
  }

  let sink = 0;
  const pass = (fn: (d: unknown) => unknown) => () => {
    let n = 0;
    for (let i = 0; i < data.length; i++) if (fn(data[i])) n++;
    sink += n;
  };
  const rows = await measure(
    'conditions',
    [
      { name: 'followups compileCondition (100k leads)', fn: pass((d) => ours.test(d)) },
      {
        name: 'json-logic-js apply (100k leads)',
        fn: pass((d) => jsonLogic.truthy(jsonLogic.apply(condition, d))),
      },
      { name: 'json-logic-engine build (100k leads)', fn: pass((d) => engine.truthy(built(d))) },
    ],
    { time: 3000, warmupTime: 1000 },
  );
  const subject = 'followups compileCondition (100k leads)';
  return {
    rows,
    comparisons: [
      compare(rows, subject, 'json-logic-js apply (100k leads)', 20),
      compare(rows, subject, 'json-logic-engine build (100k leads)', 1.0),
    ],
    notes: [
      `${matches} of ${LEADS} leads match; evaluations/s: ${rows
        .map((r) => `${r.name.split(' (')[0]} ${Math.round(r.opsPerSec * LEADS).toLocaleString('en-US')}`)
        .join(', ')} (checksum ${sink % 7})`,
    ],
  };
}
