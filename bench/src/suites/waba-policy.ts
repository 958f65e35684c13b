import { decideSend, type PolicyInput } from '@leadrelay/waba';
import { measure, type SuiteResult } from '../harness.ts';

/**
 * `decideSend` throughput over a mix of the situations a follow-up runner
 * meets: free-form inside and outside the window, templates by category, a
 * free entry point, refusals (opted out, US marketing, cap).
 */
export default async function run(): Promise<SuiteResult> {
  const now = new Date('2026-11-25T10:00:00Z');
  const hoursAgo = (h: number) => new Date(now.getTime() - h * 3_600_000);
  const utility = { name: 'visit_reminder', category: 'UTILITY', status: 'APPROVED' } as const;
  const marketing = { name: 'new_launch', category: 'MARKETING', status: 'APPROVED' } as const;
  const inputs: PolicyInput[] = [
    { now, kind: 'text', lastInboundAt: hoursAgo(2), recipientCountry: 'IN' },
    { now, kind: 'buttons', lastInboundAt: hoursAgo(30), recipientCountry: 'IN' },
    { now, kind: 'template', template: utility, lastInboundAt: hoursAgo(2), recipientCountry: 'IN' },
    { now, kind: 'template', template: utility, lastInboundAt: null, recipientCountry: 'IN' },
    {
      now,
      kind: 'template',
      template: marketing,
      lastInboundAt: hoursAgo(50),
      entryPoint: { source: 'ctwa', at: hoursAgo(50), qualifyingReplyAt: hoursAgo(49) },
      recipientCountry: 'IN',
    },
    { now, kind: 'template', template: marketing, recipientCountry: 'US' },
    {
      now,
      kind: 'template',
      template: marketing,
      recentMarketingSends: 1,
      marketingCap: 1,
      recipientCountry: 'IN',
    },
    { now, kind: 'text', lastInboundAt: hoursAgo(1), optedOut: true },
  ];
  let i = 0;
  let allowed = 0;
  const rows = await measure('waba-policy', [
    {
      name: 'decideSend (mix of 8 situations)',
      fn: () => {
        if (decideSend(inputs[i++ % inputs.length]!).allowed) allowed++;
      },
    },
  ]);
  return {
    rows,
    comparisons: [],
    notes: [
      `policy decisions per second: ${Math.round(rows[0]!.opsPerSec).toLocaleString('en-US')} (${allowed > 0 ? 'allowed and refused' : 'refused'} decisions mixed)`,
    ],
  };
}
