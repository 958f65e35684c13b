import { ZodDate, ZodNullable, ZodObject, ZodOptional, type z } from 'zod';
import { LeadRelayError, NotFoundError } from '../errors/errors.js';
import { type Clock, systemClock } from '../observability/clock.js';
import {
  agentInputSchema,
  agentSchema,
  appointmentInputSchema,
  appointmentSchema,
  botProfileInputSchema,
  botProfileSchema,
  facebookPageInputSchema,
  facebookPageSchema,
  leadInputSchema,
  leadPatchSchema,
  leadSchema,
  messageInputSchema,
  messageSchema,
  templateUsageInputSchema,
  templateUsageRecordSchema,
  tenantInputSchema,
  tenantSchema,
  wabaConfigurationInputSchema,
  wabaConfigurationSchema,
} from '../schemas/domain.js';
import { parseOrThrow } from '../schemas/parse.js';
import { translateConstraintViolation } from './constraint-errors.js';
import { coreConstraints } from './core-constraints.js';
import { assertOneWrite, leadModified } from './json-merge.js';
import { parseLeadUpsert } from './lead-merge.js';
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
import type { SqlDatabase, SqlExecutor, SqlQueryOptions } from './sql.js';

export interface PostgresStoreOptions {
  /**
   * Stamps `created_at` / `updated_at` (millisecond precision, like the
   * memory store, so cursors round-trip exactly). Defaults to the system clock.
   */
  clock?: Clock;
}

interface Table<T> {
  name: string;
  what: string;
  schema: z.ZodType<T>;
  /** Domain keys stored as jsonb. */
  json: ReadonlySet<string>;
  /** Domain keys holding timestamps (strings when a row comes back inside JSON). */
  dates: ReadonlySet<string>;
  hasUpdatedAt: boolean;
}

function dateKeys(schema: z.ZodType): string[] {
  if (!(schema instanceof ZodObject)) return [];
  return Object.entries(schema.shape as Record<string, z.ZodType>)
    .filter(([, field]) => {
      let inner: z.ZodType = field;
      while (inner instanceof ZodNullable || inner instanceof ZodOptional)
        inner = inner.unwrap() as z.ZodType;
      return inner instanceof ZodDate;
    })
    .map(([key]) => key);
}

const table = <T>(
  name: string,
  what: string,
  schema: z.ZodType<T>,
  json: string[] = [],
  hasUpdatedAt = true,
): Table<T> => ({ name, what, schema, json: new Set(json), dates: new Set(dateKeys(schema)), hasUpdatedAt });

const TENANTS = table('client_accounts', 'tenant', tenantSchema, ['settings']);
const PAGES = table('facebook_pages', 'Facebook page', facebookPageSchema);
const WABAS = table('waba_configurations', 'WABA configuration', wabaConfigurationSchema, [
  'providerConfig',
  'businessProfile',
]);
const BOTS = table('bot_profiles', 'bot profile', botProfileSchema, ['personalityConfig']);
const AGENTS = table('agents', 'agent', agentSchema);
const LEADS = table('leads', 'lead', leadSchema, ['additionalSources', 'answers', 'attributes']);
const MESSAGES = table('messages', 'message', messageSchema, ['payload'], false);
const APPOINTMENTS = table('appointments', 'appointment', appointmentSchema);
const USAGE = table('template_usage_log', 'template usage record', templateUsageRecordSchema, [], false);

const column = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const property = (col: string) => col.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** Positional parameters for one statement. */
function paramList() {
  const values: unknown[] = [];
  return {
    values,
    add(value: unknown): string {
      values.push(value);
      return `$${values.length}`;
    },
    /** node-postgres would send a JS array as a Postgres array: jsonb goes as JSON text. */
    json(value: unknown): string {
      values.push(JSON.stringify(value));
      return `$${values.length}::jsonb`;
    },
  };
}
type Params = ReturnType<typeof paramList>;

const bind = (p: Params, t: Table<unknown>, key: string, value: unknown) =>
  t.json.has(key) ? p.json(value) : p.add(value);

function fromRow<T>(t: Table<T>, row: Record<string, unknown>): T {
  const record: Record<string, unknown> = {};
  for (const [col, value] of Object.entries(row)) record[property(col)] = value;
  const parsed = t.schema.safeParse(record);
  if (!parsed.success) {
    // A stored row that no longer matches its schema is a server-side fault, not a caller mistake.
    throw new LeadRelayError(`Stored ${t.what} does not match its schema`, {
      code: 'storage_corrupt',
      status: 500,
      details: { table: t.name, issues: parsed.error.issues.map((i) => i.path.join('.')) },
    });
  }
  return parsed.data;
}

/** A row that came back as JSON (`jsonb_agg`): timestamps arrive as ISO strings. */
function fromJsonRow<T>(t: Table<T>, row: Record<string, unknown>): T {
  const revived: Record<string, unknown> = {};
  for (const [col, value] of Object.entries(row)) {
    revived[col] = typeof value === 'string' && t.dates.has(property(col)) ? new Date(value) : value;
  }
  return fromRow(t, revived);
}

/** `INSERT INTO <table> (…) VALUES (…)` for a record, its values bound to `p`. */
function insertSql(t: Table<unknown>, record: Record<string, unknown>, p: Params): string {
  const entries = Object.entries(record).filter(([, v]) => v !== undefined);
  const cols = entries.map(([key]) => column(key)).join(', ');
  const vals = entries.map(([key, value]) => bind(p, t, key, value)).join(', ');
  return `INSERT INTO ${t.name} (${cols}) VALUES (${vals})`;
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

// Values a lead merge may overwrite (see isEmptyLeadValue).
const EMPTY_JSON = `('null'::jsonb, '""'::jsonb, '[]'::jsonb, '{}'::jsonb)`;
const mergeRecordSql = (col: string) =>
  `${col} = l.${col} || EXCLUDED.${col} || (
     SELECT coalesce(jsonb_object_agg(e.key, e.value), '{}'::jsonb)
       FROM jsonb_each(l.${col}) e WHERE e.value NOT IN ${EMPTY_JSON})`;
const fillSql = (col: string) =>
  `${col} = CASE WHEN l.${col} IS NULL OR l.${col} = '' THEN coalesce(EXCLUDED.${col}, l.${col}) ELSE l.${col} END`;
const LEAD_FILLED = [
  'name',
  'email',
  'facebook_page_id',
  'lead_form_id',
  'waba_configuration_id',
  'bot_profile_id',
  'agent_id',
  'time_zone',
];

/**
 * One statement, so concurrent arrivals of one phone serialise on the unique
 * index: the first inserts, the others merge into it (see `mergeLead`, which
 * the memory store runs and which this SQL mirrors rule for rule).
 */
const UPSERT_LEAD_CONFLICT = `
  ON CONFLICT (client_account_id, phone) DO UPDATE SET
    ${LEAD_FILLED.map(fillSql).join(',\n    ')},
    additional_sources = CASE
      WHEN EXCLUDED.source = l.source OR l.additional_sources ? EXCLUDED.source THEN l.additional_sources
      ELSE l.additional_sources || jsonb_build_array(EXCLUDED.source)
    END,
    ${mergeRecordSql('answers')},
    ${mergeRecordSql('attributes')},
    updated_at = EXCLUDED.updated_at
  RETURNING *, (xmax = 0) AS created`;

/**
 * The Postgres `CoreStore`, one adapter for node-postgres and PGlite alike
 * (apply `coreMigrations` first). Same contract as the memory store: inputs
 * validated with the domain schemas, every query scoped by tenant, constraint
 * violations raised as typed errors (`ConflictError`, `NotFoundError`), rows
 * parsed back into domain types.
 *
 * @example
 * const db = await createPgliteDatabase();
 * await migrate(db, coreMigrations);
 * const store = createPostgresStore(db);
 * const { lead, created } = await store.leads.upsertByPhone({ clientAccountId, phone: '+919876543210' });
 */
export function createPostgresStore(db: SqlDatabase, options: PostgresStoreOptions = {}): CoreStore {
  const clock = options.clock ?? systemClock;
  const now = () => clock.now();

  async function run(
    exec: SqlExecutor,
    text: string,
    params: unknown[],
    options?: SqlQueryOptions,
  ): Promise<Record<string, unknown>[]> {
    try {
      return (await exec.query<Record<string, unknown>>(text, params, options)).rows;
    } catch (error) {
      throw translateConstraintViolation(error, coreConstraints);
    }
  }

  async function insert<T>(t: Table<T>, record: Record<string, unknown>, exec: SqlExecutor = db): Promise<T> {
    const p = paramList();
    const rows = await run(exec, `${insertSql(t as Table<unknown>, record, p)} RETURNING *`, p.values);
    return fromRow(t, rows[0]!);
  }

  const stamped = (record: Record<string, unknown>) => {
    const at = now();
    return { ...record, createdAt: at, updatedAt: at };
  };

  async function selectOne<T>(t: Table<T>, where: string, params: unknown[]): Promise<T | null> {
    const rows = await run(db, `SELECT * FROM ${t.name} WHERE ${where} LIMIT 1`, params);
    return rows[0] ? fromRow(t, rows[0]) : null;
  }

  async function selectAll<T>(t: Table<T>, where: string, params: unknown[]): Promise<T[]> {
    const rows = await run(db, `SELECT * FROM ${t.name} WHERE ${where} ORDER BY created_at, id`, params);
    return rows.map((row) => fromRow(t, row));
  }

  const getScoped = <T>(t: Table<T>, clientAccountId: string, id: string) =>
    selectOne(t, 'client_account_id = $1 AND id = $2', [clientAccountId, id]);

  /** Deletes one row of the tenant; its foreign keys cascade to, or unset, what refers to it. */
  const deleteScoped = async <T>(t: Table<T>, clientAccountId: string, id: string) =>
    (
      await run(db, `DELETE FROM ${t.name} WHERE client_account_id = $1 AND id = $2 RETURNING id`, [
        clientAccountId,
        id,
      ])
    ).length > 0;

  /**
   * Updates one row of the tenant (or a tenant itself when `clientAccountId`
   * is null); `extra` adds computed assignments. Null when no row matched.
   */
  async function update<T>(
    t: Table<T>,
    clientAccountId: string | null,
    id: string,
    changes: Record<string, unknown>,
    options: { extra?: (p: Params) => string[]; where?: (p: Params) => string[]; exec?: SqlExecutor } = {},
  ): Promise<T | null> {
    const p = paramList();
    const sets = Object.entries(changes).map(
      ([key, value]) => `${column(key)} = ${bind(p, t as Table<unknown>, key, value)}`,
    );
    sets.push(...(options.extra?.(p) ?? []));
    if (t.hasUpdatedAt) sets.push(`updated_at = ${p.add(now())}`);
    if (sets.length === 0) sets.push('id = id');
    const where = [
      clientAccountId === null
        ? `id = ${p.add(id)}`
        : `client_account_id = ${p.add(clientAccountId)} AND id = ${p.add(id)}`,
      ...(options.where?.(p) ?? []),
    ].join(' AND ');
    const rows = await run(
      options.exec ?? db,
      `UPDATE ${t.name} SET ${sets.join(', ')} WHERE ${where} RETURNING *`,
      p.values,
    );
    return rows[0] ? fromRow(t, rows[0]) : null;
  }

  const found = <T>(row: T | null, what: string, code: string): T => {
    if (!row) throw new NotFoundError(`${what} not found`, { code });
    return row;
  };

  /** One page in keyset order on `sortColumn`, then id. */
  async function page<T extends { id: string }>(
    t: Table<T>,
    filters: (p: Params) => string[],
    options: ListOptions,
    sort: { column: string; key: keyof T; order: 'asc' | 'desc' },
  ): Promise<Page<T>> {
    const limit = pageLimit(options);
    const after = options.cursor ? decodeCursor(options.cursor) : null;
    const p = paramList();
    const where = filters(p);
    const dir = sort.order === 'asc' ? 'ASC' : 'DESC';
    if (after) {
      where.push(
        `(${sort.column}, id) ${sort.order === 'asc' ? '>' : '<'} (${p.add(after.at)}, ${p.add(after.id)})`,
      );
    }
    const rows = await run(
      db,
      `SELECT * FROM ${t.name} WHERE ${where.length ? where.join(' AND ') : 'true'}
        ORDER BY ${sort.column} ${dir}, id ${dir} LIMIT ${limit + 1}`,
      p.values,
    );
    const items = rows.slice(0, limit).map((row) => fromRow(t, row));
    const last = items[items.length - 1];
    return {
      items,
      nextCursor:
        rows.length > limit && last ? encodeCursor({ at: last[sort.key] as Date, id: last.id }) : null,
    };
  }

  return {
    tenants: {
      async create(input) {
        return insert(TENANTS, stamped(parseOrThrow(tenantInputSchema, input, 'tenant')));
      },
      get: (id) => selectOne(TENANTS, 'id = $1', [id]),
      async update(id, patch) {
        const changes = parsePatch(tenantPatchSchema, patch, 'tenant patch');
        return found(await update(TENANTS, null, id, changes), 'Tenant', 'tenant_not_found');
      },
      list: (listOptions = {}) =>
        page(TENANTS, () => [], listOptions, { column: 'created_at', key: 'createdAt', order: 'asc' }),
      async delete(id) {
        // The tenant foreign keys cascade to every table of every package.
        const rows = await run(db, 'DELETE FROM client_accounts WHERE id = $1 RETURNING id', [id]);
        return rows.length > 0;
      },
    },

    pages: {
      async upsert(input) {
        const parsed = parseOrThrow(facebookPageInputSchema, input, 'Facebook page');
        // Only the fields the caller gave change: an upsert without a token keeps the stored one.
        const given = Object.keys(facebookPagePatchSchema.shape).filter(
          (key) => (input as Record<string, unknown>)[key] !== undefined,
        );
        const sets = [
          ...given.map((key) => `${column(key)} = EXCLUDED.${column(key)}`),
          'updated_at = EXCLUDED.updated_at',
        ];
        const p = paramList();
        const record = Object.entries(stamped(parsed)).filter(([, v]) => v !== undefined);
        const rows = await run(
          db,
          `INSERT INTO facebook_pages AS f (${record.map(([k]) => column(k)).join(', ')})
           VALUES (${record.map(([, v]) => p.add(v)).join(', ')})
           ON CONFLICT (client_account_id, page_id) DO UPDATE SET ${sets.join(', ')}
           RETURNING *`,
          p.values,
        );
        return fromRow(PAGES, rows[0]!);
      },
      get: (clientAccountId, id) => getScoped(PAGES, clientAccountId, id),
      getByPageId: (clientAccountId, pageId) =>
        selectOne(PAGES, 'client_account_id = $1 AND page_id = $2', [clientAccountId, pageId]),
      findByPageId: (pageId) => selectAll(PAGES, `page_id = $1 AND status = 'active'`, [pageId]),
      async update(clientAccountId, id, patch) {
        const changes = parsePatch(facebookPagePatchSchema, patch, 'Facebook page patch');
        return found(await update(PAGES, clientAccountId, id, changes), 'Facebook page', 'page_not_found');
      },
      list: (clientAccountId) => selectAll(PAGES, 'client_account_id = $1', [clientAccountId]),
    },

    wabaConfigurations: {
      async create(input) {
        return insert(
          WABAS,
          stamped(parseOrThrow(wabaConfigurationInputSchema, input, 'WABA configuration')),
        );
      },
      get: (clientAccountId, id) => getScoped(WABAS, clientAccountId, id),
      findByNumber: (wabaNumber) => selectOne(WABAS, 'waba_number = $1', [wabaNumber]),
      findByPhoneNumberId: (phoneNumberId) =>
        selectOne(WABAS, `(provider_config->>'phoneNumberId') = $1`, [phoneNumberId]),
      async update(clientAccountId, id, patch) {
        const changes = parsePatch(wabaConfigurationPatchSchema, patch, 'WABA configuration patch');
        return found(
          await update(WABAS, clientAccountId, id, changes),
          'WABA configuration',
          'waba_not_found',
        );
      },
      list: (clientAccountId) => selectAll(WABAS, 'client_account_id = $1', [clientAccountId]),
    },

    botProfiles: {
      async create(input) {
        const parsed = parseOrThrow(botProfileInputSchema, input, 'bot profile');
        return db.transaction(async (tx) => {
          const record = stamped(parsed);
          // At most one default per tenant: a new default demotes the old one.
          if (parsed.isDefault) {
            await run(
              tx,
              'UPDATE bot_profiles SET is_default = false, updated_at = $2 WHERE client_account_id = $1 AND is_default',
              [parsed.clientAccountId, record.createdAt],
            );
          }
          return insert(BOTS, record, tx);
        });
      },
      get: (clientAccountId, id) => getScoped(BOTS, clientAccountId, id),
      async update(clientAccountId, id, patch) {
        const changes = parsePatch(botProfilePatchSchema, patch, 'bot profile patch');
        const updated = await db.transaction(async (tx) => {
          if (changes.isDefault) {
            await run(
              tx,
              `UPDATE bot_profiles SET is_default = false, updated_at = $3
                WHERE client_account_id = $1 AND is_default AND id <> $2`,
              [clientAccountId, id, now()],
            );
          }
          return update(BOTS, clientAccountId, id, changes, { exec: tx });
        });
        return found(updated, 'Bot profile', 'bot_profile_not_found');
      },
      list: (clientAccountId) => selectAll(BOTS, 'client_account_id = $1', [clientAccountId]),
      delete: (clientAccountId, id) => deleteScoped(BOTS, clientAccountId, id),
    },

    leads: {
      async create(input) {
        return insert(LEADS, stamped(parseOrThrow(leadInputSchema, input, 'lead')));
      },
      async upsertByPhone(input) {
        const parsed = parseLeadUpsert(input);
        const p = paramList();
        const record = Object.entries(stamped(parsed));
        const rows = await run(
          db,
          `INSERT INTO leads AS l (${record.map(([k]) => column(k)).join(', ')})
           VALUES (${record.map(([k, v]) => bind(p, LEADS as Table<unknown>, k, v)).join(', ')})
           ${UPSERT_LEAD_CONFLICT}`,
          p.values,
        );
        const row = rows[0]!;
        return { lead: fromRow(LEADS, row), created: row.created === true };
      },
      get: (clientAccountId, id) => getScoped(LEADS, clientAccountId, id),
      getMany: (clientAccountId, ids) =>
        ids.length === 0
          ? Promise.resolve([])
          : selectAll(LEADS, 'client_account_id = $1 AND id = ANY($2::text[])', [clientAccountId, [...ids]]),
      getByPhone: (clientAccountId, phone) =>
        selectOne(LEADS, 'client_account_id = $1 AND phone = $2', [clientAccountId, phone]),
      async update(clientAccountId, id, patch) {
        const { optedOut, mergeAnswers, mergeAttributes, expectedUpdatedAt, ...changes } = parsePatch(
          leadPatchSchema,
          patch,
          'lead patch',
        );
        assertOneWrite('answers', changes.answers, mergeAnswers);
        assertOneWrite('attributes', changes.attributes, mergeAttributes);
        const extra = (p: Params) => {
          const sets: string[] = [];
          if (optedOut !== undefined) {
            const flag = p.add(optedOut);
            // Keep the first opt-out time while the lead stays opted out.
            sets.push(
              `opted_out = ${flag}`,
              `opted_out_at = CASE WHEN ${flag}::boolean
                 THEN CASE WHEN opted_out THEN opted_out_at ELSE ${p.add(now())}::timestamptz END END`,
            );
          }
          // Merged in the row itself: a concurrent writer of another key is never overwritten.
          for (const [col, merge] of [
            ['answers', mergeAnswers],
            ['attributes', mergeAttributes],
          ] as const) {
            if (!merge) continue;
            const set = `${p.add(JSON.stringify(merge.set ?? {}))}::jsonb`;
            let value = `${col} || ${set}`;
            const patch: Record<string, Record<string, unknown>> = 'patch' in merge
              ? (merge.patch ?? {})
              : {};
            for (const [key, fields] of Object.entries(patch)) {
              const k = `${p.add(key)}::text`;
              // The object under the key as the `set` above left it, else as stored.
              const inner = `COALESCE(${set} -> ${k}, ${col} -> ${k})`;
              value += ` || jsonb_build_object(${k},
                (CASE WHEN jsonb_typeof(${inner}) = 'object' THEN ${inner} ELSE '{}'::jsonb END)
                  || ${p.add(JSON.stringify(fields))}::jsonb)`;
            }
            sets.push(`${col} = (${value}) - ${p.add(merge.remove ?? [])}::text[]`);
          }
          return sets;
        };
        const where =
          expectedUpdatedAt === undefined
            ? undefined
            : (p: Params) => [`updated_at = ${p.add(expectedUpdatedAt)}::timestamptz`];
        const updated = await update(LEADS, clientAccountId, id, changes, { extra, where });
        if (!updated && expectedUpdatedAt !== undefined && (await getScoped(LEADS, clientAccountId, id))) {
          throw leadModified(id, expectedUpdatedAt);
        }
        return found(updated, 'Lead', 'lead_not_found');
      },
      list: (clientAccountId, query = {}) =>
        page(
          LEADS,
          (p) => {
            const where = [`client_account_id = ${p.add(clientAccountId)}`];
            if (query.status?.length) where.push(`status = ANY(${p.add(query.status)}::text[])`);
            if (query.source) {
              const source = p.add(query.source);
              where.push(`(source = ${source} OR additional_sources ? ${source})`);
            }
            const search = query.search?.trim();
            if (search) {
              const pattern = p.add(`%${escapeLike(search)}%`);
              where.push(`(name ILIKE ${pattern} OR email ILIKE ${pattern} OR phone ILIKE ${pattern})`);
            }
            return where;
          },
          query,
          { column: 'created_at', key: 'createdAt', order: 'desc' },
        ),
      delete: (clientAccountId, id) => deleteScoped(LEADS, clientAccountId, id),
    },

    messages: {
      async create(input) {
        const parsed = parseOrThrow(messageInputSchema, input, 'message');
        return insert(MESSAGES, { ...parsed, createdAt: parsed.createdAt ?? now() });
      },
      get: (clientAccountId, id) => getScoped(MESSAGES, clientAccountId, id),
      async findByProviderId(clientAccountId, providerId) {
        const rows = await run(
          db,
          `SELECT * FROM messages
            WHERE client_account_id = $1 AND (provider_message_id = $2 OR provider_alt_id = $2)
            ORDER BY created_at, id LIMIT 1`,
          [clientAccountId, providerId],
        );
        return rows[0] ? fromRow(MESSAGES, rows[0]) : null;
      },
      async updateStatus(clientAccountId, id, statusUpdate) {
        const changes = parsePatch(messageStatusUpdateSchema, statusUpdate, 'message status');
        const updated = await update(MESSAGES, clientAccountId, id, {
          ...changes,
          statusAt: changes.statusAt ?? now(),
        });
        return found(updated, 'Message', 'message_not_found');
      },
      listByLead: (clientAccountId, leadId, listOptions = {}) =>
        page(
          MESSAGES,
          (p) => [`client_account_id = ${p.add(clientAccountId)}`, `lead_id = ${p.add(leadId)}`],
          listOptions,
          { column: 'created_at', key: 'createdAt', order: 'asc' },
        ),
    },

    agents: {
      async create(input) {
        return insert(AGENTS, stamped(parseOrThrow(agentInputSchema, input, 'agent')));
      },
      get: (clientAccountId, id) => getScoped(AGENTS, clientAccountId, id),
      async update(clientAccountId, id, patch) {
        const changes = parsePatch(agentPatchSchema, patch, 'agent patch');
        return found(await update(AGENTS, clientAccountId, id, changes), 'Agent', 'agent_not_found');
      },
      list: (clientAccountId) => selectAll(AGENTS, 'client_account_id = $1', [clientAccountId]),
    },

    appointments: {
      async create(input) {
        return insert(APPOINTMENTS, stamped(parseOrThrow(appointmentInputSchema, input, 'appointment')));
      },
      get: (clientAccountId, id) => getScoped(APPOINTMENTS, clientAccountId, id),
      async update(clientAccountId, id, patch) {
        const changes = parsePatch(appointmentPatchSchema, patch, 'appointment patch');
        const updated = await update(APPOINTMENTS, clientAccountId, id, changes);
        return found(updated, 'Appointment', 'appointment_not_found');
      },
      list: (clientAccountId, query = {}) =>
        page(
          APPOINTMENTS,
          (p) => {
            const where = [`client_account_id = ${p.add(clientAccountId)}`];
            if (query.leadId) where.push(`lead_id = ${p.add(query.leadId)}`);
            if (query.agentId) where.push(`agent_id = ${p.add(query.agentId)}`);
            if (query.from) where.push(`starts_at >= ${p.add(query.from)}`);
            if (query.to) where.push(`starts_at < ${p.add(query.to)}`);
            return where;
          },
          query,
          { column: 'starts_at', key: 'startsAt', order: 'asc' },
        ),
    },

    templateUsage: {
      async record(input) {
        const parsed = parseOrThrow(templateUsageInputSchema, input, 'template usage record');
        return insert(USAGE, { ...parsed, createdAt: now() });
      },
      list: (clientAccountId, query = {}) =>
        page(
          USAGE,
          (p) => {
            const where = [`client_account_id = ${p.add(clientAccountId)}`];
            if (query.templateName) where.push(`template_name = ${p.add(query.templateName)}`);
            if (query.leadId) where.push(`lead_id = ${p.add(query.leadId)}`);
            if (query.since) where.push(`created_at >= ${p.add(query.since)}`);
            return where;
          },
          query,
          { column: 'created_at', key: 'createdAt', order: 'desc' },
        ),
    },

    outbound: {
      async context(clientAccountId, key) {
        const p = paramList();
        const tenant = p.add(clientAccountId);
        const match = 'id' in key ? `l.id = ${p.add(key.id)}` : `l.phone = ${p.add(key.phone)}`;
        // One row whether or not the lead exists: the tenant's numbers ride along as JSON.
        const rows = await run(
          db,
          `SELECT l.*,
             (SELECT coalesce(jsonb_agg(w ORDER BY w.created_at, w.id), '[]'::jsonb)
                FROM waba_configurations w WHERE w.client_account_id = ${tenant}) AS tenant_waba_configurations
             FROM (VALUES (1)) AS one (x)
             LEFT JOIN leads l ON l.client_account_id = ${tenant} AND ${match}`,
          p.values,
          // Two fixed texts on every send: planning them would cost about as much as running them.
          { prepare: true },
        );
        const { tenant_waba_configurations: configs, ...lead } = rows[0]!;
        return {
          lead: lead.id === null ? null : fromRow(LEADS, lead),
          wabaConfigurations: (configs as Record<string, unknown>[]).map((c) => fromJsonRow(WABAS, c)),
        };
      },
      async record(input) {
        const { message, templateUsage, lastOutboundAt } = parseOutboundRecord(input);
        const at = now();
        const p = paramList();
        // Data-modifying CTEs all run, in one statement: one round trip and one commit for the three rows.
        const parts = [
          `message AS (${insertSql(MESSAGES as Table<unknown>, { ...message, createdAt: message.createdAt ?? at }, p)} RETURNING *)`,
        ];
        if (lastOutboundAt) {
          parts.push(
            `lead AS (UPDATE leads SET last_outbound_at = ${p.add(lastOutboundAt)}, updated_at = ${p.add(at)}
              WHERE client_account_id = ${p.add(message.clientAccountId)} AND id = ${p.add(message.leadId)})`,
          );
        }
        if (templateUsage) {
          parts.push(
            `usage AS (${insertSql(USAGE as Table<unknown>, { ...templateUsage, createdAt: at }, p)})`,
          );
        }
        // A few fixed texts (with or without the lead and usage parts), one per send: keep them prepared.
        const rows = await run(db, `WITH ${parts.join(',\n')}\nSELECT * FROM message`, p.values, {
          prepare: true,
        });
        return fromRow(MESSAGES, rows[0]!);
      },
    },
  };
}
