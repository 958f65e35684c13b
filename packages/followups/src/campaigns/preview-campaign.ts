import { parseOrThrow } from '@leadrelay/core';
import type { FollowUpLead } from '../conditions/lead-snapshot.js';
import { buildLeadSnapshot } from '../conditions/lead-snapshot.js';
import { resolveLeadTimeZone } from '../time/country-time-zones.js';
import { toLocalDateTime } from '../time/zoned-time.js';
import { type Campaign, type CampaignInput, campaignDefinition, campaignInputSchema } from './campaign.js';
import { compileCampaign } from './compile-campaign.js';
import { decideStep } from './decide-step.js';
import type { ExitReason } from './exit-reason.js';
import type { FollowUpMessage } from './follow-up-message.js';
import { planStepTime } from './plan-step-time.js';

export interface PreviewEntry {
  stepId: string;
  index: number;
  /** When the step would be handled (after quiet hours, allowed days and the daily cap). */
  at: Date;
  /** The same instant on the lead's wall clock, `YYYY-MM-DD HH:MM`. */
  localTime: string;
  /** The due time before quiet hours and allowed days moved it. */
  plannedAt: Date;
  /** Why the time moved, if it did. */
  movedBy: 'quiet_hours' | 'day_not_allowed' | 'daily_cap' | null;
  action: 'send' | 'skip' | 'exit';
  /** For `send`: `text`, `template` or `fallback_template`. */
  kind: string | null;
  message: FollowUpMessage | null;
  /** Rendered text of a text message, or the template name and parameters, for display. */
  rendered: string | null;
  reason: string | null;
}

export interface CampaignPreview {
  timeZone: string;
  timeZoneSource: string;
  /** Whether the trigger condition holds for this lead now (the timeline is shown either way). */
  triggerMatches: boolean;
  /** Set when the lead would leave the campaign before the first send (opted out, already replied…). */
  exitReason: ExitReason | null;
  entries: PreviewEntry[];
}

export interface PreviewOptions {
  now: Date;
  tenant?: { id: string; name?: string | null; timeZone?: string | null } | null;
}

function localLabel(at: Date, zone: string): string {
  const l = toLocalDateTime(at, zone);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${l.year}-${p(l.month)}-${p(l.day)} ${p(l.hour)}:${p(l.minute)}`;
}

function describe(message: FollowUpMessage): string {
  if (message.type === 'text') return message.text;
  const body = message.parameters?.body;
  const params =
    body === undefined ? '' : Array.isArray(body) ? body.join(' | ') : Object.values(body).join(' | ');
  return `[template ${message.name}${message.language ? ` (${message.language})` : ''}]${params ? ` ${params}` : ''}`;
}

/**
 * The exact timeline a lead would get from a campaign enrolled at `now`,
 * assuming the lead's facts stay as given: each step's time in the lead's
 * zone, the rendered message, and the steps skipped and why. Uses the
 * runner's own decision function; no side effects.
 *
 * @example const { entries } = previewCampaign(campaign, lead, { now: new Date(), tenant });
 */
export function previewCampaign(
  campaign: Campaign | CampaignInput,
  lead: FollowUpLead,
  options: PreviewOptions,
): CampaignPreview {
  const parsed = parseOrThrow(
    campaignInputSchema,
    { ...campaign, clientAccountId: campaign.clientAccountId },
    'campaign',
  );
  const compiled = compileCampaign({
    id: (campaign as Campaign).id ?? 'preview',
    version: (campaign as Campaign).version ?? 0,
    ...campaignDefinition(parsed),
  });
  const def = compiled.definition;
  const zone = resolveLeadTimeZone(lead, {
    campaign: def.schedule.timeZone ?? null,
    tenant: options.tenant?.timeZone ?? null,
  });
  const snapshot = buildLeadSnapshot({ lead, tenant: options.tenant ?? null, now: options.now });
  const triggerMatches = compiled.trigger ? compiled.trigger.test(snapshot) : true;
  const enrolledAt = options.now;
  const sends: Date[] = [];
  const entries: PreviewEntry[] = [];
  let base = compiled.triggerAfter
    ? planStepTime(enrolledAt, compiled.triggerAfter, { quietHours: null }, zone.timeZone).at
    : enrolledAt;
  let exitReason: ExitReason | null = null;
  for (const step of compiled.steps) {
    const planned = planStepTime(base, step.delay, def.schedule, zone.timeZone);
    let at = planned.at;
    let movedBy: PreviewEntry['movedBy'] = planned.movedBy;
    // Re-decide until the step is not deferred (the daily cap can move it more than once).
    for (let guard = 0; guard < 20; guard++) {
      const recent = sends.filter((s) => s.getTime() > at.getTime() - 86_400_000);
      const decision = decideStep({
        campaign: compiled,
        step,
        lead,
        tenant: options.tenant ?? null,
        timeZone: zone.timeZone,
        now: at,
        enrolledAt,
        recentSends: recent.length,
        oldestRecentSendAt: recent[0] ?? null,
      });
      if (decision.action === 'defer') {
        at = decision.until;
        movedBy = decision.reason;
        continue;
      }
      const entry: PreviewEntry = {
        stepId: step.id,
        index: step.index,
        at,
        localTime: localLabel(at, zone.timeZone),
        plannedAt: planned.unadjusted,
        movedBy,
        action: decision.action,
        kind: decision.action === 'send' ? decision.kind : null,
        message: decision.action === 'send' ? decision.message : null,
        rendered: decision.action === 'send' ? describe(decision.message) : null,
        reason: decision.action === 'send' ? null : decision.reason,
      };
      entries.push(entry);
      if (decision.action === 'exit') exitReason = decision.reason;
      if (decision.action === 'send') sends.push(at);
      break;
    }
    if (exitReason) break;
    base = at;
  }
  return { timeZone: zone.timeZone, timeZoneSource: zone.source, triggerMatches, exitReason, entries };
}
