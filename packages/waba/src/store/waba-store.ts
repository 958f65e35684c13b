import type { DurableInbox, TemplateCategory } from '@leadrelay/core';
import type { RateLimitStore } from '../rate-limit/rate-limit-store.js';
import type { SendResult } from '../send/send-types.js';
import type { TemplateStatus, WabaTemplate, WabaTemplateInput } from '../templates/template.js';

/**
 * The state @leadrelay/waba owns besides the core records: templates, the
 * send ledger (idempotency), the inbox of inbound webhook events and the
 * rate limiter's buckets.
 * Every method takes the tenant first and never crosses tenants.
 */

export interface TemplateQuery {
  status?: TemplateStatus;
  category?: TemplateCategory;
  name?: string;
}

export interface TemplateRepository {
  /** Creates the template or replaces the tenant's template of the same name and language. */
  upsert(input: WabaTemplateInput): Promise<WabaTemplate>;
  /**
   * The template `name` in `language`; without a language, the tenant's only
   * language of it, or the first in language order.
   */
  get(clientAccountId: string, name: string, language?: string): Promise<WabaTemplate | null>;
  /** Ordered by name, then language. */
  list(clientAccountId: string, query?: TemplateQuery): Promise<WabaTemplate[]>;
  delete(clientAccountId: string, name: string, language: string): Promise<boolean>;
}

/** The outcome of claiming an idempotency key. */
export type LedgerClaim =
  /**
   * The caller owns the key now: send, then `complete` or `release`.
   * `template` answers the input's `readTemplate` (`null`: no such template).
   */
  | { state: 'claimed'; template?: WabaTemplate | null }
  /** Sent before: here is what it answered. */
  | { state: 'completed'; result: SendResult }
  /** Another caller is sending right now. */
  | { state: 'in_flight'; leaseExpiresAt: Date }
  /** A caller claimed it and never finished within its lease: it may or may not have been sent. */
  | { state: 'unknown'; claimedAt: Date }
  /** The key was used for a different request. */
  | { state: 'conflict' };

export interface LedgerClaimInput {
  clientAccountId: string;
  idempotencyKey: string;
  /** A hash of the request: the same key with another request is a conflict. */
  requestHash: string;
  now: Date;
  /** How long a claim stays in flight before it is considered failed (outcome unknown). */
  leaseMs: number;
  /**
   * Also reads this template (as `templates.get` does) in the claim's round
   * trip: a template send needs it next, and the answer saves a query.
   */
  readTemplate?: { name: string; language?: string | undefined };
}

export interface SendLedger {
  /**
   * Claims the key in one atomic step. An in-flight claim whose lease ran out
   * becomes `unknown` here, once, for every later caller.
   */
  claim(input: LedgerClaimInput): Promise<LedgerClaim>;
  /** Records the result of a claimed key. */
  complete(clientAccountId: string, idempotencyKey: string, result: SendResult): Promise<void>;
  /** Drops a claim whose send certainly did not happen, so the key may be used again. */
  release(clientAccountId: string, idempotencyKey: string): Promise<void>;
  /** Marks a claim whose send may or may not have happened (a timeout, a 5xx): the key never sends again. */
  markUnknown(clientAccountId: string, idempotencyKey: string): Promise<void>;
  /**
   * Deletes completed and unknown entries claimed before `before` (in-flight
   * claims stay); answers how many. A purged key is forgotten: using it again
   * sends again, so keep entries longer than any caller may repeat a key.
   */
  purge(before: Date): Promise<number>;
}

export interface WabaStore {
  readonly templates: TemplateRepository;
  readonly sendLedger: SendLedger;
  /**
   * Inbound webhook events (topic \`waba\`), recorded before the webhook is
   * answered and applied from there: core's durable inbox, on the same database.
   */
  readonly inbox: DurableInbox;
  /**
   * The rate limiter's buckets, shared by every client on this store (across
   * processes for Postgres). Without it the client limits per process.
   */
  readonly rateLimits?: RateLimitStore;
}
