import type { AnalyticsCounts, DailyCounts, RawCampaignAnalytics, StepCounts } from '../store/ports.js';

export interface AnalyticsRates {
  /** delivered / sent */
  deliveryRate: number | null;
  /** read / sent */
  readRate: number | null;
  /** replied / enrolled */
  replyRate: number | null;
  /** booked / enrolled: the conversion the campaign exists for */
  bookingRate: number | null;
  /** opted out / enrolled */
  optOutRate: number | null;
}

export interface CampaignAnalytics {
  campaignId: string;
  totals: AnalyticsCounts & AnalyticsRates;
  /** In the campaign's step order; steps of older versions follow. */
  steps: (StepCounts & {
    stepId: string;
    deliveryRate: number | null;
    readRate: number | null;
    replyRate: number | null;
  })[];
  daily: DailyCounts[];
}

const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);

/**
 * Adds rates to raw counts and orders the steps as the campaign lists them.
 *
 * @example withRates(campaign.id, await store.analytics(tenant, campaign.id), campaign.steps.map((s) => s.id))
 */
export function withRates(
  campaignId: string,
  raw: RawCampaignAnalytics,
  stepOrder: string[],
): CampaignAnalytics {
  const t = raw.totals;
  const order = (id: string) => {
    const i = stepOrder.indexOf(id);
    return i === -1 ? stepOrder.length : i;
  };
  return {
    campaignId,
    totals: {
      ...t,
      deliveryRate: ratio(t.delivered, t.sent),
      readRate: ratio(t.read, t.sent),
      replyRate: ratio(t.replied, t.enrolled),
      bookingRate: ratio(t.booked, t.enrolled),
      optOutRate: ratio(t.optedOut, t.enrolled),
    },
    steps: [...raw.steps]
      .sort((a, b) => order(a.stepId) - order(b.stepId) || a.stepId.localeCompare(b.stepId))
      .map((s) => ({
        ...s,
        deliveryRate: ratio(s.delivered, s.sent),
        readRate: ratio(s.read, s.sent),
        replyRate: ratio(s.replied, s.sent),
      })),
    daily: [...raw.daily].sort((a, b) => a.date.localeCompare(b.date)),
  };
}
