import { buildLeadSnapshot, type FollowUpLead, type LeadSnapshot } from '../conditions/lead-snapshot.js';
import { nextAllowedTime } from '../time/quiet-hours.js';
import { chooseMessage, type MessageChoice } from './choose-message.js';
import type { CompiledCampaign, CompiledStep, RenderedStep } from './compile-campaign.js';
import { type ExitReason, exitReasonFor } from './exit-reason.js';
import type { FollowUpMessage } from './follow-up-message.js';

const DAY_MS = 86_400_000;

export interface StepContext {
  campaign: CompiledCampaign;
  step: CompiledStep;
  lead: FollowUpLead;
  tenant?: { id: string; name?: string | null; timeZone?: string | null } | null;
  /** The lead's resolved zone (see `resolveLeadTimeZone`). */
  timeZone: string;
  now: Date;
  enrolledAt: Date;
  /** Follow-up sends to the lead in the 24 hours before `now`, and the oldest of them. */
  recentSends: number;
  oldestRecentSendAt: Date | null;
}

export type StepDecision =
  | { action: 'exit'; reason: ExitReason }
  | { action: 'defer'; reason: 'quiet_hours' | 'day_not_allowed' | 'daily_cap'; until: Date }
  | { action: 'skip'; reason: 'condition_false' | 'window_closed'; snapshot: LeadSnapshot }
  | {
      action: 'send';
      message: FollowUpMessage;
      kind: Extract<MessageChoice, { send: true }>['kind'];
      rendered: RenderedStep;
      snapshot: LeadSnapshot;
    };

/**
 * What to do with a due step, decided from the lead's facts alone: exit
 * rules first, then the send window (quiet hours, allowed days, daily cap),
 * then the step's condition, then text-or-template by the 24-hour window.
 * Pure; the runner and `preview` both call it.
 *
 * @example const d = decideStep({ campaign, step, lead, timeZone, now, enrolledAt, recentSends: 0, oldestRecentSendAt: null });
 */
export function decideStep(ctx: StepContext): StepDecision {
  const def = ctx.campaign.definition;
  const exit = exitReasonFor(def.exitRules, def.trigger.type, ctx.lead, ctx.enrolledAt);
  if (exit) return { action: 'exit', reason: exit };
  const allowed = nextAllowedTime(ctx.now, def.schedule, ctx.timeZone);
  if (allowed.movedBy) return { action: 'defer', reason: allowed.movedBy, until: allowed.at };
  if (ctx.recentSends >= def.maxSendsPerLeadPerDay) {
    const freeAt = new Date((ctx.oldestRecentSendAt ?? ctx.now).getTime() + DAY_MS);
    const until = nextAllowedTime(
      freeAt > ctx.now ? freeAt : new Date(ctx.now.getTime() + 60_000),
      def.schedule,
      ctx.timeZone,
    );
    return { action: 'defer', reason: 'daily_cap', until: until.at };
  }
  const snapshot = buildLeadSnapshot({ lead: ctx.lead, tenant: ctx.tenant ?? null, now: ctx.now });
  if (ctx.step.condition && !ctx.step.condition.test(snapshot)) {
    return { action: 'skip', reason: 'condition_false', snapshot };
  }
  const rendered = ctx.step.render(snapshot);
  const choice = chooseMessage(rendered, snapshot.windowOpen);
  if (!choice.send) return { action: 'skip', reason: choice.reason, snapshot };
  return { action: 'send', message: choice.message, kind: choice.kind, rendered, snapshot };
}
