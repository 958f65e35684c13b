import type { DurableInbox, InboxEvent, InboxEventInput, InboxLease, InboxStatus } from './inbox.js';
import { INBOX_STATUSES } from './inbox.js';

const copy = (event: InboxEvent): InboxEvent => ({
  ...event,
  payload: structuredClone(event.payload),
  nextAttemptAt: new Date(event.nextAttemptAt),
  lockedUntil: event.lockedUntil && new Date(event.lockedUntil),
  receivedAt: new Date(event.receivedAt),
  finishedAt: event.finishedAt && new Date(event.finishedAt),
});

const unfinished = (e: InboxEvent) => e.status === 'pending' || e.status === 'processing';

/**
 * The inbox in process memory, with the Postgres adapter's semantics: for
 * tests and single-process use. Everything is lost on exit, so a webhook
 * acknowledged on it is only as durable as the process.
 *
 * @example const inbox = createMemoryInbox();
 */
export function createMemoryInbox(): DurableInbox {
  // Recording order: ids increase with it.
  const events: InboxEvent[] = [];
  const byDedupe = new Map<string, InboxEvent>();
  const byId = new Map<string, InboxEvent>();
  let sequence = 0;
  const dedupeOf = (e: { topic: string; clientAccountId: string; dedupeKey: string }) =>
    `${e.topic}\u0000${e.clientAccountId}\u0000${e.dedupeKey}`;
  const keyOf = (e: { topic: string; clientAccountId: string; orderKey: string }) =>
    `${e.topic}\u0000${e.clientAccountId}\u0000${e.orderKey}`;

  function held(lease: InboxLease): InboxEvent | null {
    const event = byId.get(lease.id);
    return event && event.status === 'processing' && event.attempts === lease.attempts ? event : null;
  }

  return {
    async record(inputs: readonly InboxEventInput[], now: Date) {
      const recorded: InboxEvent[] = [];
      let duplicates = 0;
      for (const input of inputs) {
        const dedupe = dedupeOf(input);
        if (byDedupe.has(dedupe)) {
          duplicates++;
          continue;
        }
        const status = input.status ?? 'pending';
        const event: InboxEvent = {
          id: String(++sequence),
          topic: input.topic,
          clientAccountId: input.clientAccountId,
          dedupeKey: input.dedupeKey,
          orderKey: input.orderKey,
          payload: structuredClone(input.payload),
          status,
          attempts: 0,
          nextAttemptAt: new Date(now),
          lockedUntil: null,
          lastError: null,
          receivedAt: new Date(now),
          finishedAt: status === 'unparsed' ? new Date(now) : null,
        };
        events.push(event);
        byDedupe.set(dedupe, event);
        byId.set(event.id, event);
        recorded.push(copy(event));
      }
      return { recorded, duplicates };
    },

    async claim(options) {
      const now = options.now.getTime();
      // Keys whose head is taken (due or not) or under a live lease: nothing else of them goes out.
      const blocked = new Set<string>();
      const claimed: InboxEvent[] = [];
      for (const event of events) {
        if (event.topic !== options.topic || !unfinished(event)) continue;
        if (options.clientAccountId !== undefined && event.clientAccountId !== options.clientAccountId) {
          continue;
        }
        const key = keyOf(event);
        if (blocked.has(key)) continue;
        blocked.add(key);
        const due =
          event.status === 'pending'
            ? event.nextAttemptAt.getTime() <= now
            : (event.lockedUntil?.getTime() ?? 0) <= now;
        if (!due || claimed.length >= options.limit) continue;
        const liveLease = events.some(
          (other) =>
            other !== event &&
            other.status === 'processing' &&
            keyOf(other) === key &&
            (other.lockedUntil?.getTime() ?? 0) > now,
        );
        if (liveLease) continue;
        event.status = 'processing';
        event.attempts += 1;
        event.lockedUntil = new Date(now + options.leaseMs);
        claimed.push(copy(event));
      }
      return claimed;
    },

    async complete(lease, now) {
      const event = held(lease);
      if (!event) return false;
      Object.assign(event, { status: 'done', lockedUntil: null, lastError: null, finishedAt: new Date(now) });
      return true;
    },

    async retryLater(lease, result) {
      const event = held(lease);
      if (!event) return false;
      Object.assign(event, {
        status: 'pending',
        lockedUntil: null,
        lastError: result.error,
        nextAttemptAt: new Date(result.nextAttemptAt),
      });
      return true;
    },

    async deadLetter(lease, result) {
      const event = held(lease);
      if (!event) return false;
      Object.assign(event, {
        status: 'dead',
        lockedUntil: null,
        lastError: result.error,
        finishedAt: new Date(result.now),
      });
      return true;
    },

    async get(topic, id) {
      const event = byId.get(id);
      return event && event.topic === topic ? copy(event) : null;
    },

    async list(options) {
      return events
        .filter(
          (e) =>
            e.topic === options.topic &&
            (options.clientAccountId === undefined || e.clientAccountId === options.clientAccountId) &&
            (options.status === undefined || e.status === options.status),
        )
        .slice(0, options.limit ?? 100)
        .map(copy);
    },

    async count(options) {
      const counts = Object.fromEntries(INBOX_STATUSES.map((s) => [s, 0])) as Record<InboxStatus, number>;
      for (const e of events) {
        if (e.topic !== options.topic) continue;
        if (options.clientAccountId !== undefined && e.clientAccountId !== options.clientAccountId) continue;
        counts[e.status]++;
      }
      return counts;
    },

    async requeue(options) {
      const ids = options.ids ? new Set(options.ids) : null;
      let count = 0;
      for (const e of events) {
        if (e.topic !== options.topic || e.status !== 'dead') continue;
        if (options.clientAccountId !== undefined && e.clientAccountId !== options.clientAccountId) continue;
        if (ids && !ids.has(e.id)) continue;
        Object.assign(e, {
          status: 'pending',
          nextAttemptAt: new Date(options.now),
          finishedAt: null,
        });
        count++;
      }
      return count;
    },

    async purge(options) {
      const statuses = new Set<InboxStatus>(options.statuses ?? ['done', 'unparsed']);
      const before = options.before.getTime();
      let count = 0;
      for (let i = events.length - 1; i >= 0; i--) {
        const e = events[i]!;
        if (options.topic !== undefined && e.topic !== options.topic) continue;
        if (!statuses.has(e.status) || !e.finishedAt || e.finishedAt.getTime() >= before) continue;
        events.splice(i, 1);
        byDedupe.delete(dedupeOf(e));
        byId.delete(e.id);
        count++;
      }
      return count;
    },
  };
}
