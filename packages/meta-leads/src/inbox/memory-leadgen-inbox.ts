import type {
  ClaimOptions,
  LeadgenEvent,
  LeadgenEventInput,
  LeadgenEventKey,
  LeadgenInbox,
  LeadgenLease,
  ListLeadgenEventsOptions,
  RequeueOptions,
} from './leadgen-inbox.js';

const keyOf = (key: LeadgenEventKey) => `${key.clientAccountId}\u0000${key.leadgenId}`;
const copy = (event: LeadgenEvent): LeadgenEvent => structuredClone(event);

/**
 * The leadgen inbox in process memory, for embedding and tests. It keeps the
 * contract of the Postgres inbox (same dedupe, claims, leases), but nothing
 * survives a restart and it is not shared between processes.
 *
 * @example const intake = createMetaLeadsIntake({ inbox: createMemoryLeadgenInbox(), … });
 */
export function createMemoryLeadgenInbox(): LeadgenInbox {
  const rows = new Map<string, LeadgenEvent>();

  const isDue = (row: LeadgenEvent, now: number) =>
    (row.status === 'pending' && row.nextAttemptAt.getTime() <= now) ||
    (row.status === 'processing' && row.lockedUntil !== null && row.lockedUntil.getTime() <= now);

  const holding = (lease: LeadgenLease): LeadgenEvent | undefined => {
    const row = rows.get(keyOf(lease));
    return row && row.status === 'processing' && row.attempts === lease.attempts ? row : undefined;
  };

  return {
    async record(events: readonly LeadgenEventInput[], now: Date) {
      const inserted: LeadgenEvent[] = [];
      for (const input of events) {
        const key = keyOf(input);
        if (rows.has(key)) continue;
        const row: LeadgenEvent = {
          clientAccountId: input.clientAccountId,
          leadgenId: input.leadgenId,
          pageId: input.pageId,
          formId: input.formId,
          adId: input.adId,
          adgroupId: input.adgroupId,
          payload: structuredClone(input.payload),
          status: 'pending',
          attempts: 0,
          nextAttemptAt: new Date(now),
          lockedUntil: null,
          lastError: null,
          leadId: null,
          leadCreated: null,
          createdAt: new Date(now),
          updatedAt: new Date(now),
        };
        rows.set(key, row);
        inserted.push(copy(row));
      }
      return inserted;
    },

    async claim(options: ClaimOptions) {
      const now = options.now.getTime();
      const wanted = options.keys ? new Set(options.keys.map(keyOf)) : null;
      const due = [...rows.entries()]
        .filter(
          ([key, row]) =>
            isDue(row, now) &&
            (!wanted || wanted.has(key)) &&
            (options.clientAccountId === undefined || row.clientAccountId === options.clientAccountId) &&
            (options.pageId === undefined || row.pageId === options.pageId),
        )
        .map(([, row]) => row)
        .sort(
          (a, b) =>
            a.nextAttemptAt.getTime() - b.nextAttemptAt.getTime() ||
            a.createdAt.getTime() - b.createdAt.getTime(),
        )
        .slice(0, Math.max(0, options.limit));
      for (const row of due) {
        row.status = 'processing';
        row.attempts += 1;
        row.lockedUntil = new Date(now + options.leaseMs);
        row.updatedAt = new Date(now);
      }
      return due.map(copy);
    },

    async attachLead(lease, result) {
      const row = holding(lease);
      if (!row) return false;
      row.leadId = result.leadId;
      row.leadCreated = result.created;
      row.updatedAt = new Date(result.now);
      return true;
    },

    async complete(lease, result) {
      const row = holding(lease);
      if (!row) return false;
      row.status = 'done';
      row.leadId = result.leadId;
      row.lockedUntil = null;
      row.lastError = null;
      row.updatedAt = new Date(result.now);
      return true;
    },

    async retryLater(lease, result) {
      const row = holding(lease);
      if (!row) return false;
      row.status = 'pending';
      row.lockedUntil = null;
      row.lastError = result.error;
      row.nextAttemptAt = new Date(result.nextAttemptAt);
      row.updatedAt = new Date(result.now);
      return true;
    },

    async park(lease, result) {
      const row = holding(lease);
      if (!row) return false;
      row.status = result.status;
      row.lockedUntil = null;
      row.lastError = result.error;
      row.updatedAt = new Date(result.now);
      return true;
    },

    async requeue(options: RequeueOptions) {
      let count = 0;
      for (const row of rows.values()) {
        if (!(options.statuses as readonly string[]).includes(row.status)) continue;
        if (options.clientAccountId !== undefined && row.clientAccountId !== options.clientAccountId)
          continue;
        if (options.pageId !== undefined && row.pageId !== options.pageId) continue;
        row.status = 'pending';
        row.nextAttemptAt = new Date(options.now);
        row.updatedAt = new Date(options.now);
        count++;
      }
      return count;
    },

    async get(key) {
      const row = rows.get(keyOf(key));
      return row ? copy(row) : null;
    },

    async list(clientAccountId: string, options: ListLeadgenEventsOptions = {}) {
      return [...rows.values()]
        .filter(
          (row) =>
            row.clientAccountId === clientAccountId &&
            (options.status === undefined || row.status === options.status) &&
            (options.pageId === undefined || row.pageId === options.pageId),
        )
        .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.leadgenId < b.leadgenId ? 1 : -1))
        .slice(0, Math.min(Math.max(options.limit ?? 100, 1), 1000))
        .map(copy);
    },

    async nextDueAt() {
      let earliest: number | null = null;
      for (const row of rows.values()) {
        const at =
          row.status === 'pending'
            ? row.nextAttemptAt.getTime()
            : row.status === 'processing' && row.lockedUntil
              ? row.lockedUntil.getTime()
              : null;
        if (at !== null && (earliest === null || at < earliest)) earliest = at;
      }
      return earliest === null ? null : new Date(earliest);
    },

    async purgeDone(before: Date) {
      let count = 0;
      for (const [key, row] of rows) {
        if (row.status === 'done' && row.updatedAt.getTime() < before.getTime()) {
          rows.delete(key);
          count++;
        }
      }
      return count;
    },
  };
}
