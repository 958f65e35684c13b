/**
 * A durable inbox for webhook events: recording is the acknowledgement (a row
 * exists before the provider hears 2xx) and the dedupe at once, and each row
 * is the work item that background processing claims under a lease, retries
 * with backoff, dead-letters, and finally purges.
 *
 * Events that share an order key (for WhatsApp: a tenant's lead phone) are
 * handed out one at a time, in recording order: a claim takes only the head
 * of each key, and never a key whose head is being processed. Events of other
 * keys proceed in parallel, in any number of processes.
 */

export const INBOX_STATUSES = ['pending', 'processing', 'done', 'dead', 'unparsed'] as const;

/**
 * `pending`: waiting (for its first attempt, or for `nextAttemptAt` after a
 * failure). `processing`: claimed under a lease (`lockedUntil`); a lease that
 * runs out makes the row claimable again. `done`: applied. `dead`: failed for
 * good (a permanent error or too many attempts); kept for inspection and
 * `requeue`. `unparsed`: an authenticated callback whose shape no parser
 * knows, kept raw and never processed.
 */
export type InboxStatus = (typeof INBOX_STATUSES)[number];

export interface InboxEventInput {
  /** Which consumer owns the event (`waba`, `meta-leads`, …). */
  topic: string;
  clientAccountId: string;
  /** Unique per topic and tenant: a second delivery with the same key is a duplicate. */
  dedupeKey: string;
  /** Events with the same key are applied one at a time, in recording order. */
  orderKey: string;
  /** What the consumer needs to apply the event later, as JSON. */
  payload: unknown;
  /** `unparsed` keeps a body no parser reads; default `pending`. */
  status?: 'pending' | 'unparsed';
}

export interface InboxEvent {
  /** Increasing in recording order (a decimal string: it may exceed 2^53 on Postgres). */
  id: string;
  topic: string;
  clientAccountId: string;
  dedupeKey: string;
  orderKey: string;
  payload: unknown;
  status: InboxStatus;
  /** Claims so far; also the fencing token of the current lease. */
  attempts: number;
  nextAttemptAt: Date;
  lockedUntil: Date | null;
  lastError: string | null;
  receivedAt: Date;
  /** When the event became done, dead or unparsed. */
  finishedAt: Date | null;
}

export interface InboxRecordResult {
  /** The events that were new, in input order. */
  recorded: InboxEvent[];
  /** Inputs that were recorded before (by this call or an earlier one). */
  duplicates: number;
}

export interface InboxClaimOptions {
  topic: string;
  /** The time that decides what is due and when the lease ends. */
  now: Date;
  leaseMs: number;
  limit: number;
  /** Only this tenant's events. */
  clientAccountId?: string;
}

/** The lease a claim handed out: the row and the attempt it is on. */
export interface InboxLease {
  id: string;
  attempts: number;
}

export interface InboxListOptions {
  topic: string;
  clientAccountId?: string;
  status?: InboxStatus;
  /** Default 100. */
  limit?: number;
}

export interface InboxCountOptions {
  topic: string;
  clientAccountId?: string;
}

export interface InboxRequeueOptions {
  topic: string;
  now: Date;
  clientAccountId?: string;
  /** Only these events; default every dead event of the topic (and tenant). */
  ids?: readonly string[];
}

export interface InboxPurgeOptions {
  /** Finished (done, dead, unparsed) before this instant. */
  before: Date;
  topic?: string;
  /** Default `['done', 'unparsed']`: dead events wait for a person. */
  statuses?: readonly Extract<InboxStatus, 'done' | 'dead' | 'unparsed'>[];
}

export interface DurableInbox {
  /**
   * Records events in one atomic step; the caller acknowledges the webhook
   * only after this resolves. A dedupe key seen before is skipped.
   */
  record(events: readonly InboxEventInput[], now: Date): Promise<InboxRecordResult>;
  /**
   * Leases up to `limit` due events of a topic: each the earliest unfinished
   * event of its order key, whose key has no other event under a live lease.
   * A row whose lease ran out is due again (its holder's lease is fenced off).
   */
  claim(options: InboxClaimOptions): Promise<InboxEvent[]>;
  /** Marks a leased event done; `false` when the lease was lost (another attempt holds it). */
  complete(lease: InboxLease, now: Date): Promise<boolean>;
  /** Returns a leased event to `pending`, due at `nextAttemptAt`; the key waits with it. */
  retryLater(lease: InboxLease, result: { error: string; nextAttemptAt: Date; now: Date }): Promise<boolean>;
  /** Marks a leased event `dead`; later events of its key go on. */
  deadLetter(lease: InboxLease, result: { error: string; now: Date }): Promise<boolean>;
  get(topic: string, id: string): Promise<InboxEvent | null>;
  /** Oldest first. */
  list(options: InboxListOptions): Promise<InboxEvent[]>;
  /** Events per status. */
  count(options: InboxCountOptions): Promise<Record<InboxStatus, number>>;
  /**
   * Puts dead events back to pending, due now; answers how many. Attempts
   * keep counting (they are the lease's fencing token), so a requeued event
   * gets one more try before it is dead again.
   */
  requeue(options: InboxRequeueOptions): Promise<number>;
  /**
   * Deletes finished events older than `before`; answers how many. A purged
   * dedupe key is forgotten, so keep events longer than any provider retries.
   */
  purge(options: InboxPurgeOptions): Promise<number>;
}
