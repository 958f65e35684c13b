/**
 * The durable record of every leadgen event a tenant's webhook announced.
 * One row per (tenant, leadgen id): recording is the acknowledgement and the
 * dedupe at once, and the row is the work item the background processing
 * claims, retries and completes. Implemented in memory and on Postgres/PGlite
 * behind this one interface, held to the same contract tests.
 */

export const LEADGEN_EVENT_STATUSES = ['pending', 'processing', 'done', 'failed', 'needs_reauth'] as const;

/**
 * `pending`: waiting (for the first attempt, or for `nextAttemptAt` after a
 * failure). `processing`: claimed under a lease (`lockedUntil`); a lease that
 * runs out makes the row claimable again. `done`: the lead is stored.
 * `failed`: a permanent failure or too many attempts. `needs_reauth`: the
 * page's token is invalid; kept until the page is re-authorised.
 */
export type LeadgenEventStatus = (typeof LEADGEN_EVENT_STATUSES)[number];

export interface LeadgenEventKey {
  clientAccountId: string;
  leadgenId: string;
}

export interface LeadgenEventInput extends LeadgenEventKey {
  pageId: string;
  formId: string | null;
  adId: string | null;
  adgroupId: string | null;
  /** The webhook change as received (and the entry time), for audits and reprocessing. */
  payload: Record<string, unknown>;
}

export interface LeadgenEvent extends LeadgenEventInput {
  status: LeadgenEventStatus;
  /** Claims so far; also the fencing token of the current lease. */
  attempts: number;
  nextAttemptAt: Date;
  lockedUntil: Date | null;
  lastError: string | null;
  /** The stored lead, recorded by `attachLead` before `onLead` runs (kept across retries). */
  leadId: string | null;
  /** Whether this event created `leadId` (false: merged into an existing lead); null before `attachLead`. */
  leadCreated: boolean | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface ClaimOptions {
  /** The time that decides what is due and when the lease ends. */
  now: Date;
  leaseMs: number;
  limit: number;
  /** Only these events (the ones a request just recorded). */
  keys?: readonly LeadgenEventKey[];
  clientAccountId?: string;
  pageId?: string;
}

/** The lease a claim handed out: the row's key and the attempt it is on. */
export interface LeadgenLease extends LeadgenEventKey {
  attempts: number;
}

export interface RequeueOptions {
  now: Date;
  /** Which statuses go back to `pending` (due now). */
  statuses: readonly Extract<LeadgenEventStatus, 'failed' | 'needs_reauth'>[];
  clientAccountId?: string;
  pageId?: string;
}

export interface ListLeadgenEventsOptions {
  status?: LeadgenEventStatus;
  pageId?: string;
  limit?: number;
}

export interface LeadgenInbox {
  /**
   * Records the events in one atomic write and returns only those not seen
   * before (status `pending`, due at `now`). Duplicates, also within
   * `events`, are dropped. Throws `StorageError` when nothing could be stored.
   */
  record(events: readonly LeadgenEventInput[], now: Date): Promise<LeadgenEvent[]>;
  /**
   * Claims due events: `pending` with `nextAttemptAt <= now`, or `processing`
   * with a lease that ran out. Each claimed row becomes `processing`, leased
   * until `now + leaseMs`, with `attempts` raised by one. Two callers never
   * claim the same row at once.
   */
  claim(options: ClaimOptions): Promise<LeadgenEvent[]>;
  /**
   * Records on a claimed event the lead stored for it and whether the event
   * created it; the status stays `processing`. The record survives retries
   * and expired leases, so a later attempt finds the lead instead of storing
   * it again. False when the lease was lost (nothing is written).
   */
  attachLead(lease: LeadgenLease, result: { leadId: string; created: boolean; now: Date }): Promise<boolean>;
  /** Marks a claimed event done with its lead. False when the lease was lost. */
  complete(lease: LeadgenLease, result: { leadId: string; now: Date }): Promise<boolean>;
  /** Gives a claimed event back as `pending`, due at `nextAttemptAt`. False when the lease was lost. */
  retryLater(
    lease: LeadgenLease,
    result: { error: string; nextAttemptAt: Date; now: Date },
  ): Promise<boolean>;
  /** Parks a claimed event as `failed` or `needs_reauth`. False when the lease was lost. */
  park(
    lease: LeadgenLease,
    result: { status: 'failed' | 'needs_reauth'; error: string; now: Date },
  ): Promise<boolean>;
  /** Puts parked events back to `pending`, due now; answers how many. */
  requeue(options: RequeueOptions): Promise<number>;
  get(key: LeadgenEventKey): Promise<LeadgenEvent | null>;
  /** A tenant's events, newest first. */
  list(clientAccountId: string, options?: ListLeadgenEventsOptions): Promise<LeadgenEvent[]>;
  /** The earliest `nextAttemptAt` of a pending event, or the earliest lease end; `null` when idle. */
  nextDueAt(): Promise<Date | null>;
  /** Deletes `done` events last updated before `before`; answers how many. */
  purgeDone(before: Date): Promise<number>;
}
