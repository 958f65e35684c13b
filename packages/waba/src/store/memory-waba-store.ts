import { type Clock, createMemoryInbox, parseOrThrow, systemClock } from '@leadrelay/core';
import { createMemoryRateLimitStore } from '../rate-limit/memory-rate-limit-store.js';
import type { SendResult } from '../send/send-types.js';
import { type WabaTemplate, wabaTemplateInputSchema } from '../templates/template.js';
import { templateParameterSpec } from '../templates/template-parameters.js';
import type { LedgerClaim, WabaStore } from './waba-store.js';

export interface MemoryWabaStoreOptions {
  /** Stamps template `createdAt` / `updatedAt`. */
  clock?: Clock;
}

interface LedgerRow {
  requestHash: string;
  status: 'in_flight' | 'completed' | 'unknown';
  result: SendResult | null;
  claimedAt: Date;
  leaseExpiresAt: Date;
}

const copy = <T>(value: T): T => structuredClone(value);
const key = (...parts: string[]) => JSON.stringify(parts);

/**
 * The in-memory `WabaStore`, for tests, demos and single-process embedding:
 * the same rules as the Postgres store (one contract suite runs on both);
 * nothing survives the process.
 *
 * @example const wabaStore = createMemoryWabaStore();
 */
export function createMemoryWabaStore(options: MemoryWabaStoreOptions = {}): WabaStore {
  const clock = options.clock ?? systemClock;
  const templates = new Map<string, WabaTemplate>();
  const ledger = new Map<string, LedgerRow>();
  // Event id → when it was received.

  const tenantTemplates = (clientAccountId: string) =>
    [...templates.values()]
      .filter((t) => t.clientAccountId === clientAccountId)
      .sort((a, b) => compare(a.name, b.name) || compare(a.language, b.language));

  const templateRepository: WabaStore['templates'] = {
    async upsert(input) {
      const parsed = parseOrThrow(wabaTemplateInputSchema, input, 'template');
      templateParameterSpec(parsed);
      const id = key(parsed.clientAccountId, parsed.name, parsed.language);
      const existing = templates.get(id);
      const at = clock.now();
      const template: WabaTemplate = {
        ...copy(parsed),
        id: existing?.id ?? crypto.randomUUID(),
        createdAt: existing?.createdAt ?? at,
        updatedAt: at,
      };
      templates.set(id, template);
      return copy(template);
    },
    async get(clientAccountId, name, language) {
      if (language !== undefined) {
        const found = templates.get(key(clientAccountId, name, language));
        return found ? copy(found) : null;
      }
      const found = tenantTemplates(clientAccountId).find((t) => t.name === name);
      return found ? copy(found) : null;
    },
    async list(clientAccountId, query = {}) {
      return tenantTemplates(clientAccountId)
        .filter(
          (t) =>
            (!query.status || t.status === query.status) &&
            (!query.category || t.category === query.category) &&
            (!query.name || t.name === query.name),
        )
        .map(copy);
    },
    async delete(clientAccountId, name, language) {
      return templates.delete(key(clientAccountId, name, language));
    },
  };

  return {
    templates: templateRepository,

    sendLedger: {
      async claim(input): Promise<LedgerClaim> {
        const id = key(input.clientAccountId, input.idempotencyKey);
        const row = ledger.get(id);
        if (!row) {
          ledger.set(id, {
            requestHash: input.requestHash,
            status: 'in_flight',
            result: null,
            claimedAt: input.now,
            leaseExpiresAt: new Date(input.now.getTime() + input.leaseMs),
          });
          if (!input.readTemplate) return { state: 'claimed' };
          const { name, language } = input.readTemplate;
          return {
            state: 'claimed',
            template: await templateRepository.get(input.clientAccountId, name, language),
          };
        }
        if (row.requestHash !== input.requestHash) return { state: 'conflict' };
        if (row.status === 'completed') return { state: 'completed', result: copy(row.result!) };
        if (row.status === 'in_flight' && row.leaseExpiresAt.getTime() > input.now.getTime()) {
          return { state: 'in_flight', leaseExpiresAt: row.leaseExpiresAt };
        }
        row.status = 'unknown';
        return { state: 'unknown', claimedAt: row.claimedAt };
      },
      async complete(clientAccountId, idempotencyKey, result) {
        const row = ledger.get(key(clientAccountId, idempotencyKey));
        if (!row) return;
        row.status = 'completed';
        row.result = copy(result);
      },
      async release(clientAccountId, idempotencyKey) {
        const id = key(clientAccountId, idempotencyKey);
        if (ledger.get(id)?.status === 'in_flight') ledger.delete(id);
      },
      async markUnknown(clientAccountId, idempotencyKey) {
        const row = ledger.get(key(clientAccountId, idempotencyKey));
        if (row?.status === 'in_flight') row.status = 'unknown';
      },
      async purge(before) {
        let purged = 0;
        for (const [id, row] of ledger) {
          if (row.status !== 'in_flight' && row.claimedAt.getTime() < before.getTime()) {
            ledger.delete(id);
            purged++;
          }
        }
        return purged;
      },
    },

    inbox: createMemoryInbox(),

    rateLimits: createMemoryRateLimitStore(),
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
