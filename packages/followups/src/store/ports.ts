import type {
  Campaign,
  CampaignDefinition,
  CampaignStatus,
  ParsedCampaignInput,
  Reentry,
  TriggerType,
} from '../campaigns/campaign.js';
import type { ExitReason } from '../campaigns/exit-reason.js';

export type EnrolmentStatus = 'active' | 'completed' | 'exited';

export interface Enrolment {
  id: string;
  clientAccountId: string;
  campaignId: string;
  campaignVersion: number;
  leadId: string;
  status: EnrolmentStatus;
  exitReason: ExitReason | null;
  enrolledAt: Date;
  endedAt: Date | null;
  /** The last step sent before the enrolment ended (for per-step reply counts). */
  lastStepId: string | null;
}

/**
 * `unknown`: the sender could not tell whether the message went out (a timeout, a 5xx, a worker
 * that died mid-send). Terminal like `failed`, but counted apart: it may have been delivered.
 */
export type StepStatus =
  | 'pending'
  | 'claimed'
  | 'sent'
  | 'skipped'
  | 'failed'
  | 'cancelled'
  | 'dead'
  | 'unknown';
export type DeliveryStatus = 'sent' | 'delivered' | 'read' | 'failed';

/** One row of `scheduled_follow_ups`: a step of one enrolment, due at `dueAt`. */
export interface ScheduledStep {
  id: string;
  clientAccountId: string;
  enrolmentId: string;
  campaignId: string;
  campaignVersion: number;
  leadId: string;
  stepId: string;
  stepIndex: number;
  status: StepStatus;
  dueAt: Date;
  attempts: number;
  leaseUntil: Date | null;
  claimToken: string | null;
  lastError: string | null;
  skipReason: string | null;
  providerMessageId: string | null;
  messageId: string | null;
  /** `text`, `template` or `fallback_template`. */
  messageKind: string | null;
  sentAt: Date | null;
  deliveryStatus: DeliveryStatus | null;
  deliveredAt: Date | null;
  readAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A step as `claimDue` hands it to the runner: what sending it needs, nothing more. */
export interface ClaimedStep
  extends Pick<
    ScheduledStep,
    | 'id'
    | 'clientAccountId'
    | 'enrolmentId'
    | 'campaignId'
    | 'campaignVersion'
    | 'leadId'
    | 'stepId'
    | 'stepIndex'
    | 'dueAt'
    | 'attempts'
  > {
  status: 'claimed';
  claimToken: string;
  leaseUntil: Date;
}

export interface CampaignVersion extends CampaignDefinition {
  id: string;
  clientAccountId: string;
  version: number;
}

export interface NextStep {
  stepId: string;
  stepIndex: number;
  dueAt: Date;
}

export interface EnrolInput {
  clientAccountId: string;
  campaignId: string;
  campaignVersion: number;
  leadId: string;
  enrolledAt: Date;
  reentry: Reentry;
  /** Reentry cooldown in milliseconds (0: none). */
  cooldownMs: number;
  firstStep: NextStep;
}

export type EnrolResult =
  | { enrolled: true; enrolment: Enrolment; step: ScheduledStep }
  | { enrolled: false; reason: 'already_enrolled' | 'reentry_never' | 'cooldown' };

/**
 * What happened to one claimed step. The runner reports outcomes in batches;
 * the store applies them in one transaction, guarded by the claim token.
 */
export type StepOutcome =
  | {
      id: string;
      kind: 'sent';
      providerMessageId: string;
      messageId: string | null;
      messageKind: string;
      idempotencyKey: string;
      next: NextStep | null;
    }
  | { id: string; kind: 'skipped'; reason: string; next: NextStep | null }
  /** Transient failure: back to pending at `dueAt`. */
  | { id: string; kind: 'retry'; error: string; dueAt: Date }
  /** Not sent now (quiet hours, daily cap, paused campaign): back to pending without using an attempt. */
  | { id: string; kind: 'deferred'; reason: string; dueAt: Date }
  /** Permanent failure (`failed`) or out of attempts (`dead`): the enrolment ends with `send_failed`. */
  | { id: string; kind: 'failed' | 'dead'; error: string }
  /**
   * The sender cannot tell whether the message went out (`send_outcome_unknown`): the step ends
   * `unknown`, is never sent again, and the enrolment ends with `send_outcome_unknown`.
   */
  | { id: string; kind: 'unknown'; error: string }
  /** An exit rule holds: the step is cancelled and the enrolment ends with `reason`. */
  | { id: string; kind: 'exited'; reason: ExitReason };

/** What the runner learns about claimed steps while their enrolments are locked. */
export interface SendCheck {
  id: string;
  enrolmentStatus: EnrolmentStatus;
  enrolledAt: Date;
  /** The campaign's current status (a paused campaign's steps wait, an archived one's stop). */
  campaignStatus: CampaignStatus | null;
  /** Follow-up sends to the lead (any campaign of the tenant) since `since`. */
  recentSends: number;
  oldestRecentSendAt: Date | null;
}

export interface ExitInput {
  clientAccountId: string;
  enrolmentIds: readonly string[];
  reason: ExitReason;
  at?: Date;
}

/** How long a delivery status that matched no step is kept for a step that records its message later. */
export const PARKED_STATUS_TTL_MS = 3_600_000;

export interface DeliveryStatusInput {
  tenant: string;
  providerMessageId: string;
  status: DeliveryStatus;
  at: Date;
}

export interface StepCounts {
  sent: number;
  delivered: number;
  read: number;
  failed: number;
  /** Steps whose send outcome is unknown: possibly delivered, never re-sent. */
  unknown: number;
  skipped: number;
  pending: number;
  /** Enrolments that ended with a reply after this was their last step sent. */
  replied: number;
}

export interface DailyCounts {
  /** Local date `YYYY-MM-DD` in the requested zone. */
  date: string;
  enrolled: number;
  sent: number;
  delivered: number;
  read: number;
  replied: number;
  booked: number;
  failed: number;
  unknown: number;
  optedOut: number;
}

export interface AnalyticsCounts {
  enrolled: number;
  active: number;
  completed: number;
  exited: number;
  sent: number;
  delivered: number;
  read: number;
  replied: number;
  booked: number;
  failed: number;
  /** Steps whose send outcome is unknown (not in `sent` nor `failed`). */
  unknown: number;
  optedOut: number;
}

export interface AnalyticsQuery {
  /** Bucket the daily series in this zone (default UTC). */
  timeZone?: string;
  from?: Date;
  to?: Date;
}

export interface RawCampaignAnalytics {
  totals: AnalyticsCounts;
  steps: (StepCounts & { stepId: string })[];
  daily: DailyCounts[];
}

/**
 * Follow-up storage: campaigns with versions, enrolments, scheduled steps,
 * the send ledger and exit events. Implemented in memory and on Postgres
 * (node-postgres or PGlite); one contract suite runs against all of them.
 */
export interface FollowUpStore {
  readonly kind: 'memory' | 'postgres';

  createCampaign(input: ParsedCampaignInput): Promise<Campaign>;
  /**
   * Applies a change; a change to the definition bumps `version` and stores
   * the new version. `expectedVersion` guards against lost updates
   * (ConflictError `version_conflict`).
   */
  updateCampaign(
    clientAccountId: string,
    id: string,
    change: { status?: CampaignStatus; definition?: CampaignDefinition },
    options?: { expectedVersion?: number },
  ): Promise<Campaign>;
  getCampaign(clientAccountId: string, id: string): Promise<Campaign | null>;
  getCampaignVersion(clientAccountId: string, id: string, version: number): Promise<CampaignVersion | null>;
  listCampaigns(
    clientAccountId: string,
    query?: { status?: CampaignStatus[]; triggerType?: TriggerType[] },
  ): Promise<Campaign[]>;

  /** Enrols a lead and schedules its first step, honouring the reentry rule. */
  enrol(input: EnrolInput): Promise<EnrolResult>;
  /** Ends active enrolments and cancels their pending and claimed steps, under the enrolments' row locks. */
  exitEnrolments(input: ExitInput): Promise<{ exited: number; cancelledSteps: number }>;
  listEnrolments(
    clientAccountId: string,
    query?: { campaignId?: string; leadId?: string; status?: EnrolmentStatus[] },
  ): Promise<Enrolment[]>;
  listSteps(
    clientAccountId: string,
    query?: { enrolmentId?: string; leadId?: string; campaignId?: string; status?: StepStatus[] },
  ): Promise<ScheduledStep[]>;

  /**
   * Claims up to `limit` due steps (pending with `dueAt` ≤ now and no lease,
   * or a lease that expired), marking them claimed with `token` and a lease.
   */
  claimDue(input: { limit: number; leaseMs: number; token: string }): Promise<ClaimedStep[]>;
  /** Extends the lease of steps still held with `token`; returns how many. */
  extendLease(ids: readonly string[], token: string, leaseMs: number): Promise<number>;
  /**
   * Locks the enrolments of these steps (row locks, released when the call
   * returns) and reports the steps still claimed with `token`, with the
   * enrolment's state and the lead's recent send count.
   */
  checkBeforeSend(ids: readonly string[], token: string, since: Date): Promise<SendCheck[]>;
  /** Applies outcomes in one transaction; steps no longer held with `token` are left alone. Returns how many applied. */
  complete(token: string, outcomes: readonly StepOutcome[]): Promise<number>;
  /** The earliest `dueAt` of a pending step, to sleep until then. */
  nextDueAt(): Promise<Date | null>;
  /** Calls `onDue` when steps are scheduled (NOTIFY on Postgres); resolves to an unsubscribe. */
  subscribe(onDue: () => void): Promise<() => Promise<void>>;

  /**
   * Records a delivery status for a sent step; returns how many steps matched.
   * A status that matches no step yet (its batch has not completed) is parked
   * for `applyParkedStatuses`.
   */
  recordDeliveryStatus(input: DeliveryStatusInput): Promise<number>;
  /**
   * Applies parked statuses whose step now has its provider message id,
   * and drops those parked longer than `PARKED_STATUS_TTL_MS`; returns how
   * many steps were updated. The runner calls it every few seconds.
   */
  applyParkedStatuses(): Promise<number>;
  analytics(
    clientAccountId: string,
    campaignId: string,
    query?: AnalyticsQuery,
  ): Promise<RawCampaignAnalytics>;
  /**
   * Retention: deletes exit events recorded before `before`, and the ledger
   * rows (sends) of enrolments that ended before `before`, except sends of
   * the last 24 hours (the daily cap counts them). Enrolments and steps stay:
   * they are what analytics count. The runner calls it (see `retention`).
   */
  purge(before: Date): Promise<PurgeResult>;
}

/** How many rows a `purge` deleted. */
export interface PurgeResult {
  exitEvents: number;
  sends: number;
}

/** The window the daily cap counts sends in; `purge` keeps every send inside it. */
export const SEND_CAP_WINDOW_MS = 86_400_000;
