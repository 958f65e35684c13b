import { NotFoundError } from '../errors/errors.js';
import { type Clock, systemClock } from '../observability/clock.js';
import {
  type Agent,
  type Appointment,
  agentInputSchema,
  appointmentInputSchema,
  type BotProfile,
  botProfileInputSchema,
  type FacebookPage,
  facebookPageInputSchema,
  type Lead,
  leadInputSchema,
  leadPatchSchema,
  type Message,
  messageInputSchema,
  type TemplateUsageRecord,
  type Tenant,
  templateUsageInputSchema,
  tenantInputSchema,
  type WabaConfiguration,
  wabaConfigurationInputSchema,
} from '../schemas/domain.js';
import { parseOrThrow } from '../schemas/parse.js';
import { constraintError } from './constraint-errors.js';
import { coreConstraints } from './core-constraints.js';
import { applyJsonMerge, assertOneWrite, leadModified } from './json-merge.js';
import { mergeLead, parseLeadUpsert } from './lead-merge.js';
import { parseOutboundRecord } from './outbound-record.js';
import { decodeCursor, encodeCursor, pageLimit } from './page-cursor.js';
import {
  agentPatchSchema,
  appointmentPatchSchema,
  botProfilePatchSchema,
  facebookPagePatchSchema,
  messageStatusUpdateSchema,
  parsePatch,
  tenantPatchSchema,
  wabaConfigurationPatchSchema,
} from './patch-schemas.js';
import type { CoreStore, ListOptions, Page } from './ports.js';
import { phoneNumberIdOf } from './waba-routing.js';

export interface MemoryStoreOptions {
  /** Stamps `createdAt` / `updatedAt`; a manual clock makes tests deterministic. */
  clock?: Clock;
}

interface Row {
  id: string;
}

interface TenantRow extends Row {
  clientAccountId: string;
  createdAt: Date;
}

const copy = <T>(value: T): T => structuredClone(value);

const violation = (name: string) => constraintError(coreConstraints, name);

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Keyset pagination over in-memory rows with the same order and cursor
 * format as the SQL adapter: by a timestamp, then by id.
 */
function paginate<T extends Row>(
  rows: Iterable<T>,
  options: ListOptions,
  at: (row: T) => Date,
  order: 'asc' | 'desc',
): Page<T> {
  const limit = pageLimit(options);
  const after = options.cursor ? decodeCursor(options.cursor) : null;
  const sign = order === 'asc' ? 1 : -1;
  const compare = (aAt: Date, aId: string, bAt: Date, bId: string) =>
    sign * (aAt.getTime() - bAt.getTime() || compareIds(aId, bId));
  const sorted = [...rows]
    .filter((row) => !after || compare(at(row), row.id, after.at, after.id) > 0)
    .sort((a, b) => compare(at(a), a.id, at(b), b.id));
  const items = sorted.slice(0, limit);
  const last = items[items.length - 1];
  return {
    items: items.map(copy),
    nextCursor: sorted.length > limit && last ? encodeCursor({ at: at(last), id: last.id }) : null,
  };
}

const byCreatedAsc = <T extends { createdAt: Date; id: string }>(rows: T[]) =>
  [...rows].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || compareIds(a.id, b.id));

/**
 * The in-memory `CoreStore`: every repository of `ports.ts` with the same
 * validation, tenant scoping, unique and reference rules, error codes and
 * ordering as the Postgres adapter (one contract suite runs against both).
 * Values go in and come out as copies, so callers never share stored state.
 * For tests, demos and embedding; nothing survives the process.
 *
 * @example
 * const store = createMemoryStore({ clock: createManualClock('2026-01-01T00:00:00Z') });
 * const tenant = await store.tenants.create({ name: 'Acme Realty' });
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): CoreStore {
  const clock = options.clock ?? systemClock;
  const now = () => clock.now();
  const tenants = new Map<string, Tenant>();

  /**
   * One tenant table with the rules every SQL table has: primary key, tenant
   * foreign key (both named after the table), tenant-scoped reads and
   * updates, `updatedAt` stamping. `check` adds the table's own rules (unique
   * keys, references) and runs on every write before the row lands.
   */
  function tenantTable<T extends TenantRow>(spec: {
    table: string;
    what: string;
    notFoundCode: string;
    /** False for append-only tables without `updatedAt`. */
    stamped?: boolean;
    check?: (row: T) => void;
  }) {
    const rows = new Map<string, T>();
    const stamp = (at: Date) => (spec.stamped === false ? {} : { updatedAt: at });
    const scoped = (clientAccountId: string, id: string) => {
      const row = rows.get(id);
      return row && row.clientAccountId === clientAccountId ? row : undefined;
    };
    const table = {
      rows,
      scoped,
      inTenant: (clientAccountId: string) =>
        [...rows.values()].filter((row) => row.clientAccountId === clientAccountId),
      write(row: T): T {
        spec.check?.(row);
        rows.set(row.id, row);
        return copy(row);
      },
      /** Requires the tenant, assigns (or checks) the id, stamps and stores a parsed input. */
      insert(
        parsed: { id?: string | undefined; clientAccountId: string; createdAt?: Date | undefined },
        extra = {},
      ): T {
        if (!tenants.has(parsed.clientAccountId)) throw violation(`${spec.table}_client_account_fkey`);
        if (parsed.id !== undefined && rows.has(parsed.id)) throw violation(`${spec.table}_pkey`);
        const at = now();
        const row = {
          ...copy(parsed),
          ...extra,
          id: parsed.id ?? crypto.randomUUID(),
          createdAt: parsed.createdAt ?? at,
          ...stamp(at),
        };
        return table.write(row as unknown as T);
      },
      get(clientAccountId: string, id: string): T | null {
        const row = scoped(clientAccountId, id);
        return row ? copy(row) : null;
      },
      mustGet(clientAccountId: string, id: string): T {
        const row = scoped(clientAccountId, id);
        if (!row) throw new NotFoundError(`${spec.what} not found`, { code: spec.notFoundCode });
        return row;
      },
      update(clientAccountId: string, id: string, changes: Partial<T>): T {
        return table.write({ ...table.mustGet(clientAccountId, id), ...copy(changes), ...stamp(now()) });
      },
      list(clientAccountId: string): T[] {
        return byCreatedAsc(table.inTenant(clientAccountId)).map(copy);
      },
    };
    return table;
  }

  /** Enforces a tenant-scoped reference (the SQL composite foreign keys). */
  const requireRef = (
    target: { scoped(clientAccountId: string, id: string): unknown },
    clientAccountId: string,
    id: string | null | undefined,
    fkey: string,
  ) => {
    if (id !== null && id !== undefined && !target.scoped(clientAccountId, id)) throw violation(fkey);
  };

  const pages = tenantTable<FacebookPage>({
    table: 'facebook_pages',
    what: 'Facebook page',
    notFoundCode: 'page_not_found',
  });
  const wabas = tenantTable<WabaConfiguration>({
    table: 'waba_configurations',
    what: 'WABA configuration',
    notFoundCode: 'waba_not_found',
    check(config) {
      const phoneNumberId = phoneNumberIdOf(config.providerConfig);
      for (const other of wabas.rows.values()) {
        if (other.id === config.id) continue;
        if (other.wabaNumber === config.wabaNumber) throw violation('waba_configurations_number_key');
        if (phoneNumberId !== null && phoneNumberIdOf(other.providerConfig) === phoneNumberId) {
          throw violation('waba_configurations_phone_number_id_key');
        }
      }
    },
  });
  const bots = tenantTable<BotProfile>({
    table: 'bot_profiles',
    what: 'Bot profile',
    notFoundCode: 'bot_profile_not_found',
    // At most one default per tenant: a new default demotes the old one.
    check(profile) {
      if (!profile.isDefault) return;
      for (const other of bots.inTenant(profile.clientAccountId)) {
        if (other.id !== profile.id && other.isDefault) {
          bots.rows.set(other.id, { ...other, isDefault: false, updatedAt: profile.updatedAt });
        }
      }
    },
  });
  const agents = tenantTable<Agent>({ table: 'agents', what: 'Agent', notFoundCode: 'agent_not_found' });
  const leads = tenantTable<Lead>({
    table: 'leads',
    what: 'Lead',
    notFoundCode: 'lead_not_found',
    check(lead) {
      requireRef(wabas, lead.clientAccountId, lead.wabaConfigurationId, 'leads_waba_configuration_fkey');
      requireRef(bots, lead.clientAccountId, lead.botProfileId, 'leads_bot_profile_fkey');
      requireRef(agents, lead.clientAccountId, lead.agentId, 'leads_agent_fkey');
      const other = lead.phone === null ? undefined : leadByPhone(lead.clientAccountId, lead.phone);
      if (other && other.id !== lead.id) throw violation('leads_client_phone_key');
    },
  });
  const leadByPhone = (clientAccountId: string, phone: string) =>
    leads.inTenant(clientAccountId).find((lead) => lead.phone === phone);
  const newLead = {
    additionalSources: [],
    optedOut: false,
    optedOutAt: null,
    lastInboundAt: null,
    lastOutboundAt: null,
  } satisfies Partial<Lead>;
  const messages = tenantTable<Message>({
    table: 'messages',
    what: 'Message',
    notFoundCode: 'message_not_found',
    stamped: false,
    check(message) {
      requireRef(leads, message.clientAccountId, message.leadId, 'messages_lead_fkey');
      if (message.providerMessageId === null) return;
      for (const other of messages.inTenant(message.clientAccountId)) {
        if (other.id !== message.id && other.providerMessageId === message.providerMessageId) {
          throw violation('messages_client_provider_message_id_key');
        }
      }
    },
  });
  const appointments = tenantTable<Appointment>({
    table: 'appointments',
    what: 'Appointment',
    notFoundCode: 'appointment_not_found',
    check(appointment) {
      if (appointment.endsAt <= appointment.startsAt) throw violation('appointments_time_check');
      requireRef(leads, appointment.clientAccountId, appointment.leadId, 'appointments_lead_fkey');
      requireRef(agents, appointment.clientAccountId, appointment.agentId, 'appointments_agent_fkey');
    },
  });
  const usage = tenantTable<TemplateUsageRecord>({
    table: 'template_usage_log',
    what: 'Template usage record',
    notFoundCode: 'template_usage_not_found',
    stamped: false,
    check(record) {
      requireRef(leads, record.clientAccountId, record.leadId, 'template_usage_log_lead_fkey');
      requireRef(agents, record.clientAccountId, record.agentId, 'template_usage_log_agent_fkey');
    },
  });

  return {
    tenants: {
      async create(input) {
        const parsed = parseOrThrow(tenantInputSchema, input, 'tenant');
        if (parsed.id !== undefined && tenants.has(parsed.id)) throw violation('client_accounts_pkey');
        const at = now();
        const tenant: Tenant = {
          ...copy(parsed),
          id: parsed.id ?? crypto.randomUUID(),
          createdAt: at,
          updatedAt: at,
        };
        tenants.set(tenant.id, tenant);
        return copy(tenant);
      },
      async get(id) {
        const tenant = tenants.get(id);
        return tenant ? copy(tenant) : null;
      },
      async update(id, patch) {
        const changes = parsePatch(tenantPatchSchema, patch, 'tenant patch');
        const tenant = tenants.get(id);
        if (!tenant) throw new NotFoundError('Tenant not found', { code: 'tenant_not_found' });
        const updated: Tenant = { ...tenant, ...copy(changes), updatedAt: now() };
        tenants.set(id, updated);
        return copy(updated);
      },
      async list(listOptions = {}) {
        return paginate(tenants.values(), listOptions, (t) => t.createdAt, 'asc');
      },
      async delete(id) {
        if (!tenants.delete(id)) return false;
        // Mirrors the tenant foreign keys' ON DELETE CASCADE, for this store's tables only.
        for (const table of [pages, wabas, bots, agents, leads, messages, appointments, usage]) {
          for (const row of table.inTenant(id)) table.rows.delete(row.id);
        }
        return true;
      },
    },

    pages: {
      async upsert(input) {
        const parsed = parseOrThrow(facebookPageInputSchema, input, 'Facebook page');
        const existing = pages.inTenant(parsed.clientAccountId).find((p) => p.pageId === parsed.pageId);
        if (!existing) return pages.insert(parsed);
        // Only the fields the caller gave change: an upsert without a token keeps the stored one.
        const given = Object.keys(facebookPagePatchSchema.shape).filter(
          (key) => (input as Record<string, unknown>)[key] !== undefined,
        ) as (keyof typeof facebookPagePatchSchema.shape)[];
        return pages.update(
          existing.clientAccountId,
          existing.id,
          Object.fromEntries(given.map((key) => [key, parsed[key]])),
        );
      },
      get: async (clientAccountId, id) => pages.get(clientAccountId, id),
      async getByPageId(clientAccountId, pageId) {
        const page = pages.inTenant(clientAccountId).find((p) => p.pageId === pageId);
        return page ? copy(page) : null;
      },
      async findByPageId(pageId) {
        return byCreatedAsc(
          [...pages.rows.values()].filter((p) => p.pageId === pageId && p.status === 'active'),
        ).map(copy);
      },
      update: async (clientAccountId, id, patch) =>
        pages.update(clientAccountId, id, parsePatch(facebookPagePatchSchema, patch, 'Facebook page patch')),
      list: async (clientAccountId) => pages.list(clientAccountId),
    },

    wabaConfigurations: {
      create: async (input) =>
        wabas.insert(parseOrThrow(wabaConfigurationInputSchema, input, 'WABA configuration')),
      get: async (clientAccountId, id) => wabas.get(clientAccountId, id),
      async findByNumber(wabaNumber) {
        const config = [...wabas.rows.values()].find((c) => c.wabaNumber === wabaNumber);
        return config ? copy(config) : null;
      },
      async findByPhoneNumberId(phoneNumberId) {
        const config = [...wabas.rows.values()].find(
          (c) => phoneNumberIdOf(c.providerConfig) === phoneNumberId,
        );
        return config ? copy(config) : null;
      },
      update: async (clientAccountId, id, patch) =>
        wabas.update(
          clientAccountId,
          id,
          parsePatch(wabaConfigurationPatchSchema, patch, 'WABA configuration patch'),
        ),
      list: async (clientAccountId) => wabas.list(clientAccountId),
    },

    botProfiles: {
      create: async (input) => bots.insert(parseOrThrow(botProfileInputSchema, input, 'bot profile')),
      get: async (clientAccountId, id) => bots.get(clientAccountId, id),
      update: async (clientAccountId, id, patch) =>
        bots.update(clientAccountId, id, parsePatch(botProfilePatchSchema, patch, 'bot profile patch')),
      list: async (clientAccountId) => bots.list(clientAccountId),
      async delete(clientAccountId, id) {
        if (!bots.scoped(clientAccountId, id)) return false;
        bots.rows.delete(id);
        // Mirrors ON DELETE SET NULL (bot_profile_id) on leads.
        for (const lead of leads.inTenant(clientAccountId)) {
          if (lead.botProfileId === id) leads.rows.set(lead.id, { ...lead, botProfileId: null });
        }
        return true;
      },
    },

    leads: {
      create: async (input) => leads.insert(parseOrThrow(leadInputSchema, input, 'lead'), newLead),
      async upsertByPhone(input) {
        const parsed = parseLeadUpsert(input);
        const existing = leadByPhone(parsed.clientAccountId, parsed.phone);
        if (!existing) return { lead: leads.insert(parsed, newLead), created: true };
        return { lead: leads.write(mergeLead(existing, copy(parsed), now())), created: false };
      },
      get: async (clientAccountId, id) => leads.get(clientAccountId, id),
      async getMany(clientAccountId, ids) {
        const found = await Promise.all([...new Set(ids)].map((id) => leads.get(clientAccountId, id)));
        return found.filter((lead): lead is Lead => lead !== null);
      },
      async getByPhone(clientAccountId, phone) {
        const lead = leadByPhone(clientAccountId, phone);
        return lead ? copy(lead) : null;
      },
      async update(clientAccountId, id, patch) {
        const { mergeAnswers, mergeAttributes, expectedUpdatedAt, ...parsed } = parsePatch(
          leadPatchSchema,
          patch,
          'lead patch',
        );
        const changes: Partial<Lead> = parsed;
        assertOneWrite('answers', changes.answers, mergeAnswers);
        assertOneWrite('attributes', changes.attributes, mergeAttributes);
        const lead = leads.mustGet(clientAccountId, id);
        if (expectedUpdatedAt !== undefined && lead.updatedAt.getTime() !== expectedUpdatedAt.getTime()) {
          throw leadModified(id, expectedUpdatedAt);
        }
        if (mergeAnswers) changes.answers = applyJsonMerge(lead.answers, mergeAnswers) as Lead['answers'];
        if (mergeAttributes) changes.attributes = applyJsonMerge(lead.attributes, mergeAttributes);
        if (changes.optedOut !== undefined) {
          // Keep the first opt-out time while the lead stays opted out.
          changes.optedOutAt = changes.optedOut ? (lead.optedOut ? lead.optedOutAt : now()) : null;
        }
        return leads.update(clientAccountId, id, changes);
      },
      async list(clientAccountId, query = {}) {
        const search = query.search?.trim().toLowerCase();
        const rows = leads
          .inTenant(clientAccountId)
          .filter(
            (lead) =>
              (!query.status?.length || query.status.includes(lead.status)) &&
              (!query.source ||
                lead.source === query.source ||
                lead.additionalSources.includes(query.source)) &&
              (!search ||
                [lead.name, lead.email, lead.phone].some((field) => field?.toLowerCase().includes(search))),
          );
        return paginate(rows, query, (lead) => lead.createdAt, 'desc');
      },
      async delete(clientAccountId, id) {
        if (!leads.scoped(clientAccountId, id)) return false;
        leads.rows.delete(id);
        // Mirrors the SQL keys: messages and appointments cascade, the usage log keeps its rows.
        for (const table of [messages, appointments]) {
          for (const row of table.inTenant(clientAccountId)) if (row.leadId === id) table.rows.delete(row.id);
        }
        for (const record of usage.inTenant(clientAccountId)) {
          if (record.leadId === id) usage.rows.set(record.id, { ...record, leadId: null });
        }
        return true;
      },
    },

    messages: {
      create: async (input) =>
        messages.insert(parseOrThrow(messageInputSchema, input, 'message'), { statusAt: null }),
      get: async (clientAccountId, id) => messages.get(clientAccountId, id),
      async findByProviderId(clientAccountId, providerId) {
        const found = byCreatedAsc(messages.inTenant(clientAccountId)).find(
          (m) => m.providerMessageId === providerId || m.providerAltId === providerId,
        );
        return found ? copy(found) : null;
      },
      async updateStatus(clientAccountId, id, update) {
        const changes = parsePatch(messageStatusUpdateSchema, update, 'message status');
        return messages.update(clientAccountId, id, { ...changes, statusAt: changes.statusAt ?? now() });
      },
      async listByLead(clientAccountId, leadId, listOptions = {}) {
        const rows = messages.inTenant(clientAccountId).filter((m) => m.leadId === leadId);
        return paginate(rows, listOptions, (m) => m.createdAt, 'asc');
      },
    },

    agents: {
      create: async (input) => agents.insert(parseOrThrow(agentInputSchema, input, 'agent')),
      get: async (clientAccountId, id) => agents.get(clientAccountId, id),
      update: async (clientAccountId, id, patch) =>
        agents.update(clientAccountId, id, parsePatch(agentPatchSchema, patch, 'agent patch')),
      list: async (clientAccountId) => agents.list(clientAccountId),
    },

    appointments: {
      create: async (input) =>
        appointments.insert(parseOrThrow(appointmentInputSchema, input, 'appointment')),
      get: async (clientAccountId, id) => appointments.get(clientAccountId, id),
      update: async (clientAccountId, id, patch) =>
        appointments.update(
          clientAccountId,
          id,
          parsePatch(appointmentPatchSchema, patch, 'appointment patch'),
        ),
      async list(clientAccountId, query = {}) {
        const rows = appointments
          .inTenant(clientAccountId)
          .filter(
            (a) =>
              (!query.leadId || a.leadId === query.leadId) &&
              (!query.agentId || a.agentId === query.agentId) &&
              (!query.from || a.startsAt >= query.from) &&
              (!query.to || a.startsAt < query.to),
          );
        return paginate(rows, query, (a) => a.startsAt, 'asc');
      },
    },

    templateUsage: {
      record: async (input) =>
        usage.insert(parseOrThrow(templateUsageInputSchema, input, 'template usage record')),
      async list(clientAccountId, query = {}) {
        const rows = usage
          .inTenant(clientAccountId)
          .filter(
            (r) =>
              (!query.templateName || r.templateName === query.templateName) &&
              (!query.leadId || r.leadId === query.leadId) &&
              (!query.since || r.createdAt >= query.since),
          );
        return paginate(rows, query, (r) => r.createdAt, 'desc');
      },
    },

    outbound: {
      async context(clientAccountId, key) {
        const lead =
          'id' in key ? leads.scoped(clientAccountId, key.id) : leadByPhone(clientAccountId, key.phone);
        return { lead: lead ? copy(lead) : null, wabaConfigurations: wabas.list(clientAccountId) };
      },
      async record(input) {
        const { message, templateUsage, lastOutboundAt } = parseOutboundRecord(input);
        const saved = messages.insert(message, { statusAt: null });
        if (templateUsage) {
          try {
            usage.insert(templateUsage);
          } catch (error) {
            // All or none, as the single SQL statement.
            messages.rows.delete(saved.id);
            throw error;
          }
        }
        const lead = leads.scoped(message.clientAccountId, message.leadId);
        if (lastOutboundAt && lead) {
          leads.rows.set(lead.id, { ...lead, lastOutboundAt: new Date(lastOutboundAt), updatedAt: now() });
        }
        return saved;
      },
    },
  };
}
