import {
  type Clock,
  type CoreStore,
  type Logger,
  NotFoundError,
  noopLogger,
  parseOrThrow,
  systemClock,
  ValidationError,
} from '@leadrelay/core';
import { z } from 'zod';
import { type CampaignAnalytics, withRates } from './analytics/campaign-analytics.js';
import {
  type Campaign,
  type CampaignInput,
  type CampaignPatch,
  type CampaignStatus,
  campaignDefinition,
  campaignInputSchema,
  campaignPatchSchema,
  type TriggerType,
} from './campaigns/campaign.js';
import { createCampaignCache } from './campaigns/campaign-cache.js';
import { compileCampaign } from './campaigns/compile-campaign.js';
import { decideStep } from './campaigns/decide-step.js';
import { type ExitReason, exitReasonFor } from './campaigns/exit-reason.js';
import { planStepTime } from './campaigns/plan-step-time.js';
import { type CampaignPreview, type PreviewOptions, previewCampaign } from './campaigns/preview-campaign.js';
import { buildLeadSnapshot, type FollowUpLead } from './conditions/lead-snapshot.js';
import {
  createFollowUpRunner,
  type FollowUpRunner,
  type FollowUpRunnerOptions,
} from './runner/create-follow-up-runner.js';
import type { FollowUpSender, FollowUpSendResult } from './runner/sender.js';
import type { AnalyticsQuery, DeliveryStatus, Enrolment, FollowUpStore } from './store/ports.js';
import { resolveLeadTimeZone } from './time/country-time-zones.js';
import { addLocalTime } from './time/zoned-time.js';

export const leadEventTypeSchema = z.enum([
  'lead_created',
  'lead_updated',
  'inbound_message',
  'outbound_message',
]);
export type LeadEventType = z.infer<typeof leadEventTypeSchema>;

export const leadEventSchema = z.object({
  type: leadEventTypeSchema,
  tenant: z.string().min(1),
  leadId: z.string().min(1),
  /** When it happened (default: now); enrolment delays count from here. */
  at: z.coerce.date().optional(),
});
export type LeadEvent = z.input<typeof leadEventSchema>;

export const exitEventSchema = z.object({
  type: z.enum(['replied', 'appointment_booked', 'opted_out', 'status_changed']),
  tenant: z.string().min(1),
  leadId: z.string().min(1),
  at: z.coerce.date().optional(),
});
export type ExitEvent = z.input<typeof exitEventSchema>;

export const deliveryStatusSchema = z.object({
  tenant: z.string().min(1),
  providerMessageId: z.string().min(1),
  status: z.enum(['sent', 'delivered', 'read', 'failed']),
  at: z.coerce.date(),
});

export interface LeadEventResult {
  enrolled: { campaignId: string; enrolmentId: string; firstStepDueAt: Date }[];
  skipped: { campaignId: string; reason: string }[];
  /** Enrolments ended by this event (an inbound message is a reply). */
  exited: number;
}

export interface FollowUpsOptions {
  store: FollowUpStore;
  core: Pick<CoreStore, 'leads' | 'tenants'>;
  /** Needed for `testSend` and `createRunner`. */
  sender?: FollowUpSender;
  clock?: Clock;
  logger?: Logger;
}

/** Which campaign triggers a lead event can start. */
const TRIGGERS_FOR: Record<LeadEventType, TriggerType[]> = {
  lead_created: ['lead_created', 'no_reply'],
  lead_updated: ['lead_updated'],
  inbound_message: ['inbound_message'],
  outbound_message: ['no_reply'],
};

const EXIT_REASON: Record<z.infer<typeof exitEventSchema>['type'], ExitReason> = {
  replied: 'replied',
  appointment_booked: 'appointment_booked',
  opted_out: 'opted_out',
  status_changed: 'status_changed',
};

/**
 * Follow-up campaigns for many tenants: campaign CRUD (validated, versioned),
 * enrolment from lead events, exits, delivery statuses, analytics, preview
 * and test sends. `createRunner` builds the worker over the same store.
 *
 * @example
 * const followUps = createFollowUps({ store, core, sender: createWabaSender(waba) });
 * await followUps.createCampaign({ clientAccountId: tenant, status: 'active', name: 'Nurture', trigger: { type: 'lead_created' }, steps });
 * await followUps.handleLeadEvent({ type: 'lead_created', tenant, leadId });
 */
export function createFollowUps(options: FollowUpsOptions) {
  const { store, core } = options;
  const clock = options.clock ?? systemClock;
  const logger = (options.logger ?? noopLogger).child({ component: 'followups' });
  const cache = createCampaignCache(store);

  function validate(definition: Parameters<typeof campaignDefinition>[0]) {
    // Compiling validates what zod cannot (conditions are already checked; this catches durations and parameters).
    compileCampaign({ id: 'validate', version: 0, ...definition });
  }

  async function loadLead(tenant: string, leadId: string): Promise<FollowUpLead> {
    const lead = await core.leads.get(tenant, leadId);
    if (!lead) throw new NotFoundError(`Lead ${leadId} not found`, { code: 'lead_not_found' });
    return lead;
  }

  async function exitFor(
    tenant: string,
    leadId: string,
    reason: ExitReason,
    lead: FollowUpLead | null,
    at: Date,
  ) {
    const active = await store.listEnrolments(tenant, { leadId, status: ['active'] });
    const ids: string[] = [];
    for (const e of active) {
      const compiled = await cache.get(tenant, e.campaignId, e.campaignVersion);
      if (!compiled) continue;
      if (applies(compiled.definition, reason, lead, e)) ids.push(e.id);
    }
    if (ids.length === 0) return { exited: 0, cancelledSteps: 0 };
    return store.exitEnrolments({ clientAccountId: tenant, enrolmentIds: ids, reason, at });
  }

  function applies(
    def: ReturnType<typeof campaignDefinition>,
    reason: ExitReason,
    lead: FollowUpLead | null,
    e: Enrolment,
  ): boolean {
    switch (reason) {
      case 'opted_out':
        return true;
      case 'replied':
        return def.exitRules.onReply || def.trigger.type === 'no_reply';
      case 'appointment_booked':
        return def.exitRules.onAppointmentBooked;
      case 'status_changed':
        return lead !== null && exitReasonFor(def.exitRules, def.trigger.type, lead, e.enrolledAt) !== null;
      default:
        return true;
    }
  }

  /** Changes a campaign; a changed definition becomes a new version. Archiving ends running enrolments. */
  async function updateCampaign(
    tenant: string,
    id: string,
    patch: CampaignPatch,
    opts: { expectedVersion?: number } = {},
  ): Promise<Campaign> {
    const parsed = parseOrThrow(campaignPatchSchema, patch, 'campaign patch');
    const current = await store.getCampaign(tenant, id);
    if (!current) throw new NotFoundError(`Campaign ${id} not found`, { code: 'campaign_not_found' });
    const { status, ...rest } = parsed;
    const definitionKeys = Object.keys(rest).filter((k) => k in patch);
    const definition = definitionKeys.length
      ? campaignDefinition({
          ...campaignDefinition(current),
          ...Object.fromEntries(definitionKeys.map((k) => [k, (rest as Record<string, unknown>)[k]])),
        })
      : undefined;
    if (definition) validate(definition);
    const updated = await store.updateCampaign(
      tenant,
      id,
      { ...(status ? { status } : {}), ...(definition ? { definition } : {}) },
      opts,
    );
    if (updated.status === 'archived' && current.status !== 'archived') {
      const active = await store.listEnrolments(tenant, { campaignId: id, status: ['active'] });
      await store.exitEnrolments({
        clientAccountId: tenant,
        enrolmentIds: active.map((e) => e.id),
        reason: 'campaign_stopped',
      });
    }
    return updated;
  }

  return {
    store,

    /** Validates and stores a campaign (version 1). A bad condition is refused with its JSON path. */
    async createCampaign(input: CampaignInput): Promise<Campaign> {
      const parsed = parseOrThrow(campaignInputSchema, input, 'campaign');
      validate(parsed);
      return store.createCampaign(parsed);
    },

    updateCampaign,

    /** Shorthand for a status change: `active`, `paused`, `archived`. */
    setCampaignStatus: (tenant: string, id: string, status: CampaignStatus): Promise<Campaign> =>
      updateCampaign(tenant, id, { status }),

    getCampaign: (tenant: string, id: string) => store.getCampaign(tenant, id),
    listCampaigns: (tenant: string, query?: { status?: CampaignStatus[] }) =>
      store.listCampaigns(tenant, query),

    /**
     * Enrols the lead in every active campaign whose trigger matches the
     * event and whose condition holds. An `inbound_message` is also a reply:
     * it first ends the enrolments whose exit rules say so.
     */
    async handleLeadEvent(event: LeadEvent): Promise<LeadEventResult> {
      const e = parseOrThrow(leadEventSchema, event, 'lead event');
      const at = e.at ?? clock.now();
      const lead = await loadLead(e.tenant, e.leadId);
      const result: LeadEventResult = { enrolled: [], skipped: [], exited: 0 };
      if (e.type === 'inbound_message') {
        result.exited = (await exitFor(e.tenant, e.leadId, 'replied', lead, at)).exited;
      }
      const campaigns = await store.listCampaigns(e.tenant, {
        status: ['active'],
        triggerType: TRIGGERS_FOR[e.type],
      });
      if (campaigns.length === 0) return result;
      const tenant = await core.tenants.get(e.tenant);
      const snapshot = buildLeadSnapshot({ lead, tenant, now: at });
      for (const campaign of campaigns) {
        const compiled = await cache.get(e.tenant, campaign.id, campaign.version);
        if (!compiled) continue;
        const def = compiled.definition;
        if (compiled.trigger && !compiled.trigger.test(snapshot)) {
          result.skipped.push({ campaignId: campaign.id, reason: 'condition_false' });
          continue;
        }
        const exit = exitReasonFor(def.exitRules, def.trigger.type, lead, at);
        if (exit) {
          result.skipped.push({ campaignId: campaign.id, reason: exit });
          continue;
        }
        const zone = resolveLeadTimeZone(lead, {
          campaign: def.schedule.timeZone ?? null,
          tenant: tenant?.timeZone ?? null,
        }).timeZone;
        const base = compiled.triggerAfter ? addLocalTime(at, compiled.triggerAfter, zone) : at;
        const first = compiled.steps[0]!;
        const due = planStepTime(base, first.delay, def.schedule, zone).at;
        const enrolment = await store.enrol({
          clientAccountId: e.tenant,
          campaignId: campaign.id,
          campaignVersion: campaign.version,
          leadId: lead.id,
          enrolledAt: at,
          reentry: def.reentry,
          cooldownMs: compiled.reentryCooldown
            ? addLocalTime(at, compiled.reentryCooldown, zone).getTime() - at.getTime()
            : 0,
          firstStep: { stepId: first.id, stepIndex: 0, dueAt: due },
        });
        if (enrolment.enrolled) {
          result.enrolled.push({
            campaignId: campaign.id,
            enrolmentId: enrolment.enrolment.id,
            firstStepDueAt: enrolment.step.dueAt,
          });
        } else {
          result.skipped.push({ campaignId: campaign.id, reason: enrolment.reason });
        }
      }
      logger.debug({ tenant: e.tenant, enrolled: result.enrolled.length }, 'lead event handled');
      return result;
    },

    /**
     * Ends the lead's running enrolments that this event stops (per each
     * campaign's exit rules) and cancels their pending steps at once.
     */
    async handleExitEvent(event: ExitEvent): Promise<{ exited: number; cancelledSteps: number }> {
      const e = parseOrThrow(exitEventSchema, event, 'exit event');
      const reason = EXIT_REASON[e.type];
      const lead = e.type === 'status_changed' ? await loadLead(e.tenant, e.leadId) : null;
      return exitFor(e.tenant, e.leadId, reason, lead, e.at ?? clock.now());
    },

    /** Records a provider delivery status (from waba's webhooks) on the step that sent the message. */
    async recordDeliveryStatus(input: {
      tenant: string;
      providerMessageId: string;
      status: DeliveryStatus;
      at: Date | string;
    }): Promise<number> {
      const parsed = parseOrThrow(deliveryStatusSchema, input, 'delivery status');
      return store.recordDeliveryStatus(parsed);
    },

    /** Counts and rates for one campaign, per step, and a daily series. */
    async analytics(
      tenant: string,
      campaignId: string,
      query: AnalyticsQuery = {},
    ): Promise<CampaignAnalytics> {
      const campaign = await store.getCampaign(tenant, campaignId);
      if (!campaign)
        throw new NotFoundError(`Campaign ${campaignId} not found`, { code: 'campaign_not_found' });
      const raw = await store.analytics(tenant, campaignId, query);
      return withRates(
        campaignId,
        raw,
        campaign.steps.map((s) => s.id),
      );
    },

    /** The timeline a lead would get (see `previewCampaign`). */
    preview(campaign: Campaign | CampaignInput, lead: FollowUpLead, opts: PreviewOptions): CampaignPreview {
      return previewCampaign(campaign, lead, opts);
    },

    /**
     * Sends one step of a campaign to `to` now, rendered for `lead`, through
     * the sender; no enrolment, no ledger. Quiet hours do not apply; the
     * window does (text outside it becomes the fallback template).
     */
    async testSend(
      campaign: Campaign | CampaignInput,
      stepId: string,
      opts: { to: string; lead: FollowUpLead; tenant?: { id: string; timeZone?: string | null } | null },
    ): Promise<FollowUpSendResult & { message: unknown }> {
      if (!options.sender) throw new ValidationError('testSend needs a sender', { code: 'sender_missing' });
      const parsed = parseOrThrow(campaignInputSchema, campaign, 'campaign');
      const compiled = compileCampaign({ id: 'test', version: 0, ...campaignDefinition(parsed) });
      const step = compiled.stepById.get(stepId);
      if (!step) throw new NotFoundError(`Step ${stepId} not found`, { code: 'step_not_found' });
      const now = clock.now();
      const decision = decideStep({
        campaign: {
          ...compiled,
          definition: {
            ...compiled.definition,
            schedule: { quietHours: null, allowedDays: [1, 2, 3, 4, 5, 6, 7] },
            maxSendsPerLeadPerDay: 100,
          },
        },
        step: { ...step, condition: null },
        lead: { ...opts.lead, optedOut: false, lastInboundAt: opts.lead.lastInboundAt },
        tenant: opts.tenant ?? null,
        timeZone: 'UTC',
        now,
        enrolledAt: now,
        recentSends: 0,
        oldestRecentSendAt: null,
      });
      if (decision.action !== 'send') {
        throw new ValidationError(`Step ${stepId} would not send: ${decision.reason}`, {
          code: 'test_send_refused',
        });
      }
      const result = await options.sender.send({
        tenant: parsed.clientAccountId,
        // No leadId: waba refuses a lead bound to another number than `to`,
        // and the lead may be a sample that is not stored; waba finds or
        // records whoever owns `to`.
        to: opts.to,
        message: decision.message,
        idempotencyKey: `fu-test:${stepId}:${now.getTime()}`,
        context: { test: true, stepId },
      });
      return { ...result, message: decision.message };
    },

    /** A runner over the same store, sender and core store. */
    createRunner(
      runnerOptions: Partial<Omit<FollowUpRunnerOptions, 'store' | 'db' | 'core'>> = {},
    ): FollowUpRunner {
      const sender = runnerOptions.sender ?? options.sender;
      if (!sender) throw new ValidationError('createRunner needs a sender', { code: 'sender_missing' });
      return createFollowUpRunner({ clock, logger: options.logger, ...runnerOptions, sender, store, core });
    },
  };
}

export type FollowUps = ReturnType<typeof createFollowUps>;
