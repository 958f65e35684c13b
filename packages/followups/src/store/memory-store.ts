import { randomUUID } from 'node:crypto';
import { type Clock, ConflictError, NotFoundError, systemClock } from '@leadrelay/core';
import {
  type Campaign,
  type CampaignDefinition,
  campaignDefinition,
  type ParsedCampaignInput,
} from '../campaigns/campaign.js';
import { toLocalDateTime } from '../time/zoned-time.js';
import { dailyRow } from './daily-row.js';
import {
  type AnalyticsCounts,
  type CampaignVersion,
  type DailyCounts,
  type DeliveryStatusInput,
  type Enrolment,
  type FollowUpStore,
  PARKED_STATUS_TTL_MS,
  type RawCampaignAnalytics,
  type ScheduledStep,
  SEND_CAP_WINDOW_MS,
  type SendCheck,
} from './ports.js';
import { scheduledStepId, sendIdempotencyKey } from './send-idempotency-key.js';
import { type StepRow, stepRow } from './step-row.js';

export interface MemoryFollowUpStoreOptions {
  /** Decides what is due (the Postgres store uses the database clock). */
  clock?: Clock;
}

interface LedgerRow {
  clientAccountId: string;
  leadId: string;
  enrolmentId: string;
  stepId: string;
  idempotencyKey: string;
  sentAt: Date;
}

/**
 * An in-memory follow-up store for tests and embedding: the same contract
 * as the Postgres store, in one process, without durability.
 *
 * @example const store = createMemoryFollowUpStore({ clock: createManualClock('2026-11-25T09:00:00Z') });
 */
export function createMemoryFollowUpStore(options: MemoryFollowUpStoreOptions = {}): FollowUpStore {
  const clock = options.clock ?? systemClock;
  const campaigns = new Map<string, Campaign>();
  const versions = new Map<string, CampaignVersion>();
  const enrolments = new Map<string, Enrolment>();
  const steps = new Map<string, ScheduledStep>();
  const ledger = new Map<string, LedgerRow>();
  const listeners = new Set<() => void>();
  const now = () => clock.now();
  const parked = new Map<string, DeliveryStatusInput & { parkedAt: Date }>();
  // What the Postgres store writes to follow_up_exit_events: nothing reads them but `purge`.
  const exitEvents: { enrolmentId: string; at: Date }[] = [];
  const copy = <T>(v: T): T => structuredClone(v);

  function notify() {
    for (const l of listeners) queueMicrotask(l);
  }

  function newStep(
    e: Enrolment,
    next: { stepId: string; stepIndex: number; dueAt: Date },
    at: Date,
  ): ScheduledStep {
    return {
      id: scheduledStepId(e.id, next.stepId),
      clientAccountId: e.clientAccountId,
      enrolmentId: e.id,
      campaignId: e.campaignId,
      campaignVersion: e.campaignVersion,
      leadId: e.leadId,
      stepId: next.stepId,
      stepIndex: next.stepIndex,
      status: 'pending',
      dueAt: new Date(next.dueAt),
      attempts: 0,
      leaseUntil: null,
      claimToken: null,
      lastError: null,
      skipReason: null,
      providerMessageId: null,
      messageId: null,
      messageKind: null,
      sentAt: null,
      deliveryStatus: null,
      deliveredAt: null,
      readAt: null,
      createdAt: at,
      updatedAt: at,
    };
  }

  function lastSentStep(enrolmentId: string): string | null {
    let best: LedgerRow | null = null;
    for (const row of ledger.values()) {
      if (row.enrolmentId === enrolmentId && (!best || row.sentAt >= best.sentAt)) best = row;
    }
    return best?.stepId ?? null;
  }

  function endEnrolment(
    e: Enrolment,
    status: 'completed' | 'exited',
    reason: Enrolment['exitReason'],
    at: Date,
  ) {
    e.status = status;
    e.exitReason = reason;
    e.endedAt = at;
    e.lastStepId = lastSentStep(e.id);
    if (status === 'exited') exitEvents.push({ enrolmentId: e.id, at });
  }

  const store: FollowUpStore = {
    kind: 'memory',

    async createCampaign(input: ParsedCampaignInput) {
      const at = now();
      const id = input.id ?? randomUUID();
      if (campaigns.has(id)) throw new ConflictError(`Campaign ${id} exists`, { code: 'campaign_exists' });
      const campaign: Campaign = {
        id,
        clientAccountId: input.clientAccountId,
        status: input.status,
        version: 1,
        ...campaignDefinition(input),
        createdAt: at,
        updatedAt: at,
      };
      campaigns.set(id, campaign);
      versions.set(`${id}:1`, {
        id,
        clientAccountId: input.clientAccountId,
        version: 1,
        ...campaignDefinition(input),
      });
      return copy(campaign);
    },

    async updateCampaign(clientAccountId, id, change, opts = {}) {
      const c = campaigns.get(id);
      if (!c || c.clientAccountId !== clientAccountId) {
        throw new NotFoundError(`Campaign ${id} not found`, { code: 'campaign_not_found' });
      }
      if (opts.expectedVersion !== undefined && opts.expectedVersion !== c.version) {
        throw new ConflictError(`Campaign ${id} is at version ${c.version}`, {
          code: 'version_conflict',
          details: { version: c.version },
        });
      }
      const next: Campaign = { ...c, updatedAt: now() };
      if (change.status) next.status = change.status;
      if (change.definition) {
        const def: CampaignDefinition = campaignDefinition(change.definition);
        if (JSON.stringify(def) !== JSON.stringify(campaignDefinition(c))) {
          Object.assign(next, def);
          next.version = c.version + 1;
          versions.set(`${id}:${next.version}`, { id, clientAccountId, version: next.version, ...copy(def) });
        }
      }
      campaigns.set(id, next);
      return copy(next);
    },

    async getCampaign(clientAccountId, id) {
      const c = campaigns.get(id);
      return c && c.clientAccountId === clientAccountId ? copy(c) : null;
    },

    async getCampaignVersion(clientAccountId, id, version) {
      const v = versions.get(`${id}:${version}`);
      return v && v.clientAccountId === clientAccountId ? copy(v) : null;
    },

    async listCampaigns(clientAccountId, query = {}) {
      return [...campaigns.values()]
        .filter(
          (c) =>
            c.clientAccountId === clientAccountId &&
            (!query.status || query.status.includes(c.status)) &&
            (!query.triggerType || query.triggerType.includes(c.trigger.type)),
        )
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id))
        .map(copy);
    },

    async enrol(input) {
      const mine = [...enrolments.values()].filter(
        (e) =>
          e.clientAccountId === input.clientAccountId &&
          e.campaignId === input.campaignId &&
          e.leadId === input.leadId,
      );
      if (mine.some((e) => e.status === 'active')) return { enrolled: false, reason: 'already_enrolled' };
      if (mine.length > 0) {
        if (input.reentry.mode === 'never') return { enrolled: false, reason: 'reentry_never' };
        const latest = mine.reduce((a, b) => (a.enrolledAt >= b.enrolledAt ? a : b));
        const since =
          input.reentry.mode === 'always' ? latest.enrolledAt : (latest.endedAt ?? latest.enrolledAt);
        if (input.enrolledAt.getTime() - since.getTime() < input.cooldownMs) {
          return { enrolled: false, reason: 'cooldown' };
        }
      }
      const at = now();
      const enrolment: Enrolment = {
        id: randomUUID(),
        clientAccountId: input.clientAccountId,
        campaignId: input.campaignId,
        campaignVersion: input.campaignVersion,
        leadId: input.leadId,
        status: 'active',
        exitReason: null,
        enrolledAt: new Date(input.enrolledAt),
        endedAt: null,
        lastStepId: null,
      };
      enrolments.set(enrolment.id, enrolment);
      const step = newStep(enrolment, input.firstStep, at);
      steps.set(step.id, step);
      notify();
      return { enrolled: true, enrolment: copy(enrolment), step: copy(step) };
    },

    async exitEnrolments(input) {
      const at = input.at ?? now();
      let exited = 0;
      let cancelledSteps = 0;
      for (const id of input.enrolmentIds) {
        const e = enrolments.get(id);
        if (!e || e.clientAccountId !== input.clientAccountId || e.status !== 'active') continue;
        endEnrolment(e, 'exited', input.reason, at);
        exited++;
        for (const s of steps.values()) {
          if (s.enrolmentId === id && (s.status === 'pending' || s.status === 'claimed')) {
            s.status = 'cancelled';
            s.skipReason = input.reason;
            s.leaseUntil = null;
            s.updatedAt = at;
            cancelledSteps++;
          }
        }
      }
      return { exited, cancelledSteps };
    },

    async listEnrolments(clientAccountId, query = {}) {
      return [...enrolments.values()]
        .filter(
          (e) =>
            e.clientAccountId === clientAccountId &&
            (!query.campaignId || e.campaignId === query.campaignId) &&
            (!query.leadId || e.leadId === query.leadId) &&
            (!query.status || query.status.includes(e.status)),
        )
        .sort((a, b) => a.enrolledAt.getTime() - b.enrolledAt.getTime() || a.id.localeCompare(b.id))
        .map(copy);
    },

    async listSteps(clientAccountId, query = {}) {
      return [...steps.values()]
        .filter(
          (s) =>
            s.clientAccountId === clientAccountId &&
            (!query.enrolmentId || s.enrolmentId === query.enrolmentId) &&
            (!query.leadId || s.leadId === query.leadId) &&
            (!query.campaignId || s.campaignId === query.campaignId) &&
            (!query.status || query.status.includes(s.status)),
        )
        .sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime() || a.stepIndex - b.stepIndex)
        .map(copy);
    },

    async claimDue({ limit, leaseMs, token }) {
      const t = now().getTime();
      const expired = [...steps.values()]
        .filter((s) => s.status === 'claimed' && s.leaseUntil !== null && s.leaseUntil.getTime() < t)
        .sort((a, b) => a.leaseUntil!.getTime() - b.leaseUntil!.getTime());
      const due = [...steps.values()]
        .filter((s) => s.status === 'pending' && s.dueAt.getTime() <= t)
        .sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime() || a.id.localeCompare(b.id));
      const picked = [...expired, ...due].slice(0, limit);
      for (const s of picked) {
        s.status = 'claimed';
        s.claimToken = token;
        s.leaseUntil = new Date(t + leaseMs);
        s.attempts++;
        s.updatedAt = new Date(t);
      }
      return picked.map((s) => ({
        ...copy(s),
        status: 'claimed',
        claimToken: token,
        leaseUntil: s.leaseUntil!,
      }));
    },

    async extendLease(ids, token, leaseMs) {
      const t = now().getTime();
      let n = 0;
      for (const id of ids) {
        const s = steps.get(id);
        if (s && s.status === 'claimed' && s.claimToken === token) {
          s.leaseUntil = new Date(t + leaseMs);
          n++;
        }
      }
      return n;
    },

    async checkBeforeSend(ids, token, since) {
      const out: SendCheck[] = [];
      for (const id of ids) {
        const s = steps.get(id);
        if (s?.status !== 'claimed' || s.claimToken !== token) continue;
        const e = enrolments.get(s.enrolmentId)!;
        let recentSends = 0;
        let oldest: Date | null = null;
        for (const row of ledger.values()) {
          if (
            row.clientAccountId === s.clientAccountId &&
            row.leadId === s.leadId &&
            row.sentAt.getTime() > since.getTime()
          ) {
            recentSends++;
            if (!oldest || row.sentAt < oldest) oldest = row.sentAt;
          }
        }
        out.push({
          id,
          enrolmentStatus: e.status,
          enrolledAt: new Date(e.enrolledAt),
          campaignStatus: campaigns.get(s.campaignId)?.status ?? null,
          recentSends,
          oldestRecentSendAt: oldest ? new Date(oldest) : null,
        });
      }
      return out;
    },

    async complete(token, outcomes) {
      const at = now();
      let applied = 0;
      for (const o of outcomes) {
        const s = steps.get(o.id);
        if (!s || s.claimToken !== token) continue;
        if (!(s.status === 'claimed' || (s.status === 'cancelled' && o.kind === 'sent'))) continue;
        applied++;
        const e = enrolments.get(s.enrolmentId)!;
        s.claimToken = null;
        s.leaseUntil = null;
        s.updatedAt = at;
        switch (o.kind) {
          case 'sent': {
            s.status = 'sent';
            s.providerMessageId = o.providerMessageId;
            s.messageId = o.messageId;
            s.messageKind = o.messageKind;
            s.sentAt = at;
            s.deliveryStatus = 'sent';
            const key = sendIdempotencyKey(s.enrolmentId, s.stepId);
            if (!ledger.has(key)) {
              ledger.set(key, {
                clientAccountId: s.clientAccountId,
                leadId: s.leadId,
                enrolmentId: s.enrolmentId,
                stepId: s.stepId,
                idempotencyKey: key,
                sentAt: at,
              });
            }
            advance(e, o.next, at);
            break;
          }
          case 'skipped':
            s.status = 'skipped';
            s.skipReason = o.reason;
            advance(e, o.next, at);
            break;
          case 'retry':
            s.status = 'pending';
            s.lastError = o.error;
            s.dueAt = new Date(o.dueAt);
            break;
          case 'deferred':
            s.status = 'pending';
            s.skipReason = o.reason;
            s.dueAt = new Date(o.dueAt);
            s.attempts = Math.max(0, s.attempts - 1);
            break;
          case 'failed':
          case 'dead':
            s.status = o.kind;
            s.lastError = o.error;
            if (e.status === 'active') endEnrolment(e, 'exited', 'send_failed', at);
            break;
          case 'unknown':
            s.status = 'unknown';
            s.lastError = o.error;
            if (e.status === 'active') endEnrolment(e, 'exited', 'send_outcome_unknown', at);
            break;
          case 'exited':
            s.status = 'cancelled';
            s.skipReason = o.reason;
            if (e.status === 'active') endEnrolment(e, 'exited', o.reason, at);
            break;
        }
      }
      return applied;
    },

    async nextDueAt() {
      let min: Date | null = null;
      for (const s of steps.values()) {
        if (s.status === 'pending' && (!min || s.dueAt < min)) min = s.dueAt;
        if (s.status === 'claimed' && s.leaseUntil && (!min || s.leaseUntil < min)) min = s.leaseUntil;
      }
      return min ? new Date(min) : null;
    },

    async subscribe(onDue) {
      listeners.add(onDue);
      return async () => {
        listeners.delete(onDue);
      };
    },

    async recordDeliveryStatus(input) {
      let n = 0;
      for (const s of steps.values()) {
        if (s.clientAccountId !== input.tenant || s.providerMessageId !== input.providerMessageId) continue;
        n++;
        applyDelivery(s, input.status, input.at);
      }
      if (n === 0) {
        const key = `${input.tenant}\u0000${input.providerMessageId}\u0000${input.status}`;
        if (!parked.has(key)) parked.set(key, { ...input, at: new Date(input.at), parkedAt: now() });
      }
      return n;
    },

    async applyParkedStatuses() {
      const t = now().getTime();
      const updated = new Set<ScheduledStep>();
      // Oldest first, as they happened: the earliest delivered and read times are the ones kept.
      for (const [key, p] of [...parked].sort((a, b) => a[1].at.getTime() - b[1].at.getTime())) {
        let matched = false;
        for (const s of steps.values()) {
          if (s.clientAccountId !== p.tenant || s.providerMessageId !== p.providerMessageId) continue;
          matched = true;
          applyDelivery(s, p.status, p.at);
          updated.add(s);
        }
        if (matched || t - p.parkedAt.getTime() > PARKED_STATUS_TTL_MS) parked.delete(key);
      }
      return updated.size;
    },

    async analytics(clientAccountId, campaignId, query = {}) {
      const zone = query.timeZone ?? 'UTC';
      const inRange = (d: Date | null) =>
        d !== null &&
        (!query.from || d.getTime() >= query.from.getTime()) &&
        (!query.to || d.getTime() < query.to.getTime());
      const es = [...enrolments.values()].filter(
        (e) => e.clientAccountId === clientAccountId && e.campaignId === campaignId && inRange(e.enrolledAt),
      );
      const ss = [...steps.values()].filter(
        (s) => s.clientAccountId === clientAccountId && s.campaignId === campaignId,
      );
      const sentSteps = ss.filter((s) => s.sentAt !== null && inRange(s.sentAt));
      const isFailed = (s: ScheduledStep) =>
        s.status === 'failed' || s.status === 'dead' || s.deliveryStatus === 'failed';
      const totals: AnalyticsCounts = {
        enrolled: es.length,
        active: es.filter((e) => e.status === 'active').length,
        completed: es.filter((e) => e.status === 'completed').length,
        exited: es.filter((e) => e.status === 'exited').length,
        sent: sentSteps.length,
        delivered: sentSteps.filter((s) => s.deliveredAt !== null).length,
        read: sentSteps.filter((s) => s.readAt !== null).length,
        replied: es.filter((e) => e.exitReason === 'replied').length,
        booked: es.filter((e) => e.exitReason === 'appointment_booked').length,
        failed: ss.filter((s) => isFailed(s) && inRange(s.updatedAt)).length,
        unknown: ss.filter((s) => s.status === 'unknown' && inRange(s.updatedAt)).length,
        optedOut: es.filter((e) => e.exitReason === 'opted_out').length,
      };
      const byStep = new Map<string, StepRow>();
      for (const s of ss) {
        const r = stepRow(byStep, s.stepId);
        if (s.sentAt && inRange(s.sentAt)) {
          r.sent++;
          if (s.deliveredAt) r.delivered++;
          if (s.readAt) r.read++;
        }
        if (isFailed(s) && inRange(s.updatedAt)) r.failed++;
        if (s.status === 'unknown' && inRange(s.updatedAt)) r.unknown++;
        if (s.status === 'skipped' && inRange(s.updatedAt)) r.skipped++;
        if (s.status === 'pending' || s.status === 'claimed') r.pending++;
      }
      for (const e of es)
        if (e.exitReason === 'replied' && e.lastStepId) stepRow(byStep, e.lastStepId).replied++;
      const days = new Map<string, DailyCounts>();
      const bump = (d: Date | null, key: keyof Omit<DailyCounts, 'date'>) => {
        if (!d || !inRange(d)) return;
        const l = toLocalDateTime(d, zone);
        const date = `${l.year}-${String(l.month).padStart(2, '0')}-${String(l.day).padStart(2, '0')}`;
        dailyRow(days, date)[key]++;
      };
      for (const e of es) {
        bump(e.enrolledAt, 'enrolled');
        if (e.exitReason === 'replied') bump(e.endedAt, 'replied');
        if (e.exitReason === 'appointment_booked') bump(e.endedAt, 'booked');
        if (e.exitReason === 'opted_out') bump(e.endedAt, 'optedOut');
      }
      for (const s of ss) {
        bump(s.sentAt, 'sent');
        bump(s.deliveredAt, 'delivered');
        bump(s.readAt, 'read');
        if (isFailed(s)) bump(s.updatedAt, 'failed');
        if (s.status === 'unknown') bump(s.updatedAt, 'unknown');
      }
      const result: RawCampaignAnalytics = {
        totals,
        steps: [...byStep.values()],
        daily: [...days.values()].sort((a, b) => a.date.localeCompare(b.date)),
      };
      return result;
    },

    async purge(before) {
      const kept = exitEvents.filter((x) => x.at.getTime() >= before.getTime());
      const purged = { exitEvents: exitEvents.length - kept.length, sends: 0 };
      exitEvents.splice(0, exitEvents.length, ...kept);
      const capWindowStart = now().getTime() - SEND_CAP_WINDOW_MS;
      for (const [key, row] of ledger) {
        const e = enrolments.get(row.enrolmentId);
        const ended = e?.status !== 'active' && e?.endedAt && e.endedAt.getTime() < before.getTime();
        if (ended && row.sentAt.getTime() < capWindowStart) {
          ledger.delete(key);
          purged.sends++;
        }
      }
      return purged;
    },
  };

  function advance(e: Enrolment, next: { stepId: string; stepIndex: number; dueAt: Date } | null, at: Date) {
    if (e.status !== 'active') return;
    if (!next) {
      endEnrolment(e, 'completed', null, at);
      return;
    }
    const exists = [...steps.values()].some((s) => s.enrolmentId === e.id && s.stepId === next.stepId);
    if (!exists) {
      const s = newStep(e, next, at);
      steps.set(s.id, s);
    }
  }

  return store;
}

/**
 * Applies a provider delivery status to a sent step: statuses only move
 * forward (sent → delivered → read); `failed` marks a delivery failure.
 */
function applyDelivery(s: ScheduledStep, status: ScheduledStep['deliveryStatus'], at: Date) {
  const rank = { sent: 0, delivered: 1, read: 2, failed: 3 } as const;
  if (status === 'delivered' || status === 'read') s.deliveredAt ??= new Date(at);
  if (status === 'read') s.readAt ??= new Date(at);
  if (status && (s.deliveryStatus === null || rank[status] > rank[s.deliveryStatus]))
    s.deliveryStatus = status;
  s.updatedAt = new Date(at);
}
