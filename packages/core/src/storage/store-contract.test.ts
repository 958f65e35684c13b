import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, ValidationError } from '../errors/errors.js';
import type { Tenant } from '../schemas/domain.js';
import { createManualClock, type ManualClock, testDatabases } from '../testing/index.js';
import { coreMigrations } from './core-migrations.js';
import { createMemoryStore } from './memory-store.js';
import { migrate } from './migrations.js';
import type { CoreStore, Page } from './ports.js';
import { createPostgresStore } from './postgres-store.js';

/**
 * One contract for every `CoreStore` adapter. The suite body is a function
 * so each adapter (memory, PGlite, real Postgres) runs the very same tests;
 * packages with stores of their own follow the same pattern.
 */
export interface StoreHarness {
  store: CoreStore;
  clock: ManualClock;
  close(): Promise<void>;
}

export interface ContractOptions {
  /** Runs the tests that need parallel sessions (real Postgres only). */
  concurrency?: boolean;
}

let seq = 0;
/** Unique per call, so tests sharing one database never collide on global keys. */
const unique = () =>
  `${Date.now() % 1_000_000}${String(++seq).padStart(4, '0')}${Math.floor(Math.random() * 90 + 10)}`;
const phone = () => `+91${unique().slice(-10).padStart(10, '9')}`;
const metaId = () => `10${unique()}`;

async function drain<T>(
  fetch: (cursor: string | null) => Promise<Page<T>>,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: Page<T> = await fetch(cursor);
    items.push(...page.items);
    cursor = page.nextCursor;
    pages++;
  } while (cursor && pages < 1000);
  return { items, pages };
}

export function coreStoreContract(
  name: string,
  makeHarness: () => Promise<StoreHarness>,
  options: ContractOptions = {},
): void {
  describe(`CoreStore contract: ${name}`, () => {
    let harness: StoreHarness;
    let store: CoreStore;
    let clock: ManualClock;
    beforeAll(async () => {
      harness = await makeHarness();
      store = harness.store;
      clock = harness.clock;
    });
    afterAll(async () => {
      await harness?.close();
    });

    const tenant = (overrides: Partial<Parameters<CoreStore['tenants']['create']>[0]> = {}) =>
      store.tenants.create({ name: `Tenant ${unique()}`, ...overrides });
    const twoTenants = async (): Promise<[Tenant, Tenant]> => [await tenant(), await tenant()];

    /** One row in every core table for the tenant. */
    async function populate(t: Tenant) {
      const page = await store.pages.upsert({ clientAccountId: t.id, pageId: metaId() });
      const waba = await store.wabaConfigurations.create({
        clientAccountId: t.id,
        wabaNumber: phone(),
        provider: 'gupshup',
        credentialsEncrypted: 'lr1.x',
      });
      const bot = await store.botProfiles.create({ clientAccountId: t.id, profileName: 'Bot' });
      const agent = await store.agents.create({ clientAccountId: t.id, name: 'Agent' });
      const lead = await store.leads.create({
        clientAccountId: t.id,
        phone: phone(),
        name: 'Secret',
        agentId: agent.id,
      });
      const message = await store.messages.create({
        clientAccountId: t.id,
        leadId: lead.id,
        direction: 'inbound',
        kind: 'text',
        status: 'received',
        providerMessageId: `wamid.${unique()}`,
      });
      const appointment = await store.appointments.create({
        clientAccountId: t.id,
        leadId: lead.id,
        agentId: agent.id,
        startsAt: new Date('2030-01-01T10:00:00Z'),
        endsAt: new Date('2030-01-01T11:00:00Z'),
      });
      const usage = await store.templateUsage.record({
        clientAccountId: t.id,
        templateName: 'welcome_lead',
        phoneNumber: lead.phone!,
        leadId: lead.id,
        status: 'sent',
      });
      return { page, waba, bot, agent, lead, message, appointment, usage };
    }

    describe('tenants', () => {
      it('creates with defaults, gets, and answers null for unknown ids', async () => {
        const before = clock.now();
        const created = await tenant({ name: 'Acme Realty', settings: { plan: 'pro' } });
        expect(created).toMatchObject({
          name: 'Acme Realty',
          status: 'active',
          defaultCountry: 'IN',
          timeZone: 'UTC',
          facebookAppId: null,
          facebookAppSecretEncrypted: null,
          facebookAppSecretPreviousEncrypted: null,
          metaVerifyTokenEncrypted: null,
          settings: { plan: 'pro' },
        });
        expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
        expect(created.createdAt).toEqual(before);
        expect(created.updatedAt).toEqual(before);
        expect(await store.tenants.get(created.id)).toEqual(created);
        expect(await store.tenants.get('00000000-0000-4000-8000-000000000000')).toBeNull();
      });

      it('keeps a caller-given id and refuses to reuse it', async () => {
        const id = `tenant-${unique()}`;
        expect((await tenant({ id })).id).toBe(id);
        await expect(tenant({ id })).rejects.toMatchObject({ code: 'duplicate_id', status: 409 });
      });

      it('rejects invalid input with a ValidationError naming the field', async () => {
        const error = await store.tenants.create({ name: '', defaultCountry: 'India' }).catch((e) => e);
        expect(error).toBeInstanceOf(ValidationError);
        expect(error.issues.map((i: { path: unknown[] }) => i.path[0])).toEqual(
          expect.arrayContaining(['name', 'defaultCountry']),
        );
      });

      it('updates the given fields only and stamps updatedAt', async () => {
        const created = await tenant({ timeZone: 'Asia/Kolkata' });
        clock.advance(1_000);
        const updated = await store.tenants.update(created.id, { status: 'suspended', defaultCountry: 'ae' });
        expect(updated).toEqual({
          ...created,
          status: 'suspended',
          defaultCountry: 'AE',
          updatedAt: clock.now(),
        });
        expect(await store.tenants.get(created.id)).toEqual(updated);
        await expect(store.tenants.update('missing-tenant', { name: 'x' })).rejects.toMatchObject({
          code: 'tenant_not_found',
          status: 404,
        });
        await expect(store.tenants.update(created.id, { timeZone: 'Mars/Olympus' })).rejects.toBeInstanceOf(
          ValidationError,
        );
      });

      it('returns copies: mutating a result or an input never changes stored state', async () => {
        const settings = { nested: { a: 1 } };
        const created = await tenant({ settings });
        settings.nested.a = 2;
        created.settings.extra = true;
        (created.createdAt as Date).setTime(0);
        const fetched = await store.tenants.get(created.id);
        expect(fetched?.settings).toEqual({ nested: { a: 1 } });
        expect(fetched?.createdAt.getTime()).not.toBe(0);
        const listed = await drain((cursor) => store.tenants.list({ cursor, limit: 500 }));
        const inList = listed.items.find((t) => t.id === created.id)!;
        inList.name = 'changed';
        expect((await store.tenants.get(created.id))?.name).not.toBe('changed');
      });

      it('paginates in (createdAt, id) order without gaps or repeats, also across equal timestamps', async () => {
        clock.advance(1_000);
        const ids = new Set<string>();
        for (let i = 0; i < 5; i++) ids.add((await tenant()).id); // same instant: the id breaks ties
        clock.advance(1);
        ids.add((await tenant()).id);
        const all = (await store.tenants.list({ limit: 500 })).items;
        const paged = await drain((cursor) => store.tenants.list({ cursor, limit: 2 }));
        expect(paged.items.map((t) => t.id)).toEqual(all.map((t) => t.id));
        // A full last page ends the listing too: the store looks one row ahead.
        expect(paged.pages).toBe(Math.ceil(all.length / 2));
        expect(new Set(paged.items.map((t) => t.id)).size).toBe(paged.items.length);
        for (const id of ids) expect(paged.items.map((t) => t.id)).toContain(id);
        const sorted = [...all].sort(
          (a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
        );
        expect(all.map((t) => t.id)).toEqual(sorted.map((t) => t.id));
      });

      it('rejects a bad cursor and a bad limit as ValidationErrors', async () => {
        await expect(store.tenants.list({ cursor: 'not-a-cursor' })).rejects.toMatchObject({
          code: 'cursor_invalid',
          status: 400,
        });
        await expect(store.tenants.list({ limit: 0 })).rejects.toBeInstanceOf(ValidationError);
        await expect(store.tenants.list({ limit: 1.5 })).rejects.toBeInstanceOf(ValidationError);
      });
    });

    describe('facebook pages', () => {
      it('upserts: creates, then updates only the given fields of the same (tenant, page)', async () => {
        const t = await tenant();
        const pageId = metaId();
        const created = await store.pages.upsert({
          clientAccountId: t.id,
          pageId,
          pageName: 'Acme Homes',
          accessTokenEncrypted: 'lr1.sealed-token',
        });
        expect(created).toMatchObject({
          clientAccountId: t.id,
          pageId,
          pageName: 'Acme Homes',
          accessTokenEncrypted: 'lr1.sealed-token',
          webhookSubscribed: false,
          status: 'active',
          defaultCountry: null,
        });
        clock.advance(10);
        const again = await store.pages.upsert({ clientAccountId: t.id, pageId, webhookSubscribed: true });
        expect(again).toEqual({ ...created, webhookSubscribed: true, updatedAt: clock.now() });
        expect(await store.pages.list(t.id)).toEqual([again]);
        expect(await store.pages.get(t.id, created.id)).toEqual(again);
        expect(await store.pages.getByPageId(t.id, pageId)).toEqual(again);
      });

      it('routes a page id to every active registration, whichever tenant holds it', async () => {
        const [a, b] = await twoTenants();
        const pageId = metaId();
        const pa = await store.pages.upsert({ clientAccountId: a.id, pageId });
        clock.advance(1);
        const pb = await store.pages.upsert({ clientAccountId: b.id, pageId, defaultCountry: 'ae' });
        expect(pb.defaultCountry).toBe('AE');
        expect(await store.pages.findByPageId(pageId)).toEqual([pa, pb]);
        const disabled = await store.pages.update(b.id, pb.id, { status: 'disabled' });
        expect(disabled.status).toBe('disabled');
        expect(await store.pages.findByPageId(pageId)).toEqual([pa]);
        expect(await store.pages.findByPageId(metaId())).toEqual([]);
      });

      it('scopes get, update and list by tenant and requires an existing tenant', async () => {
        const [a, b] = await twoTenants();
        const page = await store.pages.upsert({ clientAccountId: a.id, pageId: metaId() });
        expect(await store.pages.get(b.id, page.id)).toBeNull();
        expect(await store.pages.getByPageId(b.id, page.pageId)).toBeNull();
        expect(await store.pages.list(b.id)).toEqual([]);
        await expect(store.pages.update(b.id, page.id, { pageName: 'stolen' })).rejects.toMatchObject({
          code: 'page_not_found',
        });
        expect((await store.pages.get(a.id, page.id))?.pageName).toBeNull();
        await expect(
          store.pages.upsert({ clientAccountId: 'no-such-tenant', pageId: metaId() }),
        ).rejects.toMatchObject({ code: 'tenant_not_found', status: 404 });
        await expect(store.pages.upsert({ clientAccountId: a.id, pageId: 'abc' })).rejects.toBeInstanceOf(
          ValidationError,
        );
      });
    });

    describe('WABA configurations', () => {
      const waba = (clientAccountId: string, extra: Record<string, unknown> = {}) =>
        store.wabaConfigurations.create({
          clientAccountId,
          wabaNumber: phone(),
          provider: 'cloud_api',
          credentialsEncrypted: 'lr1.sealed-credentials',
          providerConfig: { phoneNumberId: metaId(), businessAccountId: metaId() },
          ...extra,
        });

      it('creates, gets, lists and updates within the tenant', async () => {
        const [a, b] = await twoTenants();
        const config = await waba(a.id, { businessProfile: { about: 'Homes' } });
        expect(config).toMatchObject({
          clientAccountId: a.id,
          provider: 'cloud_api',
          displayName: null,
          webhookSecretEncrypted: null,
          businessProfile: { about: 'Homes' },
          messagesPerSecond: null,
          status: 'active',
        });
        expect(await store.wabaConfigurations.get(a.id, config.id)).toEqual(config);
        expect(await store.wabaConfigurations.list(a.id)).toEqual([config]);
        clock.advance(5);
        const updated = await store.wabaConfigurations.update(a.id, config.id, {
          messagesPerSecond: 20,
          providerConfig: { ...config.providerConfig, appName: 'acme' },
        });
        expect(updated).toEqual({
          ...config,
          messagesPerSecond: 20,
          providerConfig: { ...config.providerConfig, appName: 'acme' },
          updatedAt: clock.now(),
        });
        expect(await store.wabaConfigurations.get(b.id, config.id)).toBeNull();
        expect(await store.wabaConfigurations.list(b.id)).toEqual([]);
        await expect(
          store.wabaConfigurations.update(b.id, config.id, { status: 'disabled' }),
        ).rejects.toMatchObject({
          code: 'waba_not_found',
          status: 404,
        });
      });

      it('routes by WhatsApp number and by Cloud API phone number id across tenants', async () => {
        const [a, b] = await twoTenants();
        const ca = await waba(a.id);
        const cb = await waba(b.id, { provider: 'gupshup', providerConfig: { appName: 'acme-b' } });
        expect(await store.wabaConfigurations.findByNumber(ca.wabaNumber)).toEqual(ca);
        expect(await store.wabaConfigurations.findByNumber(cb.wabaNumber)).toEqual(cb);
        expect(await store.wabaConfigurations.findByNumber(phone())).toBeNull();
        const phoneNumberId = ca.providerConfig.phoneNumberId as string;
        expect(await store.wabaConfigurations.findByPhoneNumberId(phoneNumberId)).toEqual(ca);
        expect(await store.wabaConfigurations.findByPhoneNumberId(metaId())).toBeNull();
      });

      it('keeps a WhatsApp number and a phone number id unique across all tenants', async () => {
        const [a, b] = await twoTenants();
        const ca = await waba(a.id);
        const numberTaken = waba(b.id, { wabaNumber: ca.wabaNumber });
        await expect(numberTaken).rejects.toBeInstanceOf(ConflictError);
        await expect(numberTaken).rejects.toMatchObject({ code: 'waba_number_taken', status: 409 });
        await expect(
          waba(b.id, { providerConfig: { phoneNumberId: ca.providerConfig.phoneNumberId } }),
        ).rejects.toMatchObject({ code: 'phone_number_id_taken' });
        const cb = await waba(b.id);
        await expect(
          store.wabaConfigurations.update(b.id, cb.id, { wabaNumber: ca.wabaNumber }),
        ).rejects.toMatchObject({ code: 'waba_number_taken' });
        expect((await store.wabaConfigurations.get(b.id, cb.id))?.wabaNumber).toBe(cb.wabaNumber);
        // Configurations without a phone number id do not collide with each other.
        await waba(a.id, { provider: 'gupshup', providerConfig: {} });
        await waba(a.id, { provider: 'gupshup', providerConfig: {} });
        expect(await store.wabaConfigurations.list(a.id)).toHaveLength(3);
      });
    });

    describe('bot profiles', () => {
      it('creates, updates, lists and deletes within the tenant, with one default at most', async () => {
        const [a, b] = await twoTenants();
        const first = await store.botProfiles.create({
          clientAccountId: a.id,
          profileName: 'Priya',
          personalityConfig: { greeting: 'Hi!', questions: ['budget'] },
          isDefault: true,
        });
        expect(first).toMatchObject({ conversationStyle: null, responseTone: null, isDefault: true });
        clock.advance(1);
        const second = await store.botProfiles.create({
          clientAccountId: a.id,
          profileName: 'Arjun',
          isDefault: true,
        });
        expect(second.isDefault).toBe(true);
        expect((await store.botProfiles.get(a.id, first.id))?.isDefault).toBe(false);
        const promoted = await store.botProfiles.update(a.id, first.id, {
          isDefault: true,
          responseTone: 'warm',
        });
        expect(promoted).toMatchObject({ isDefault: true, responseTone: 'warm', profileName: 'Priya' });
        expect((await store.botProfiles.list(a.id)).map((p) => [p.profileName, p.isDefault])).toEqual([
          ['Priya', true],
          ['Arjun', false],
        ]);

        expect(await store.botProfiles.get(b.id, first.id)).toBeNull();
        expect(await store.botProfiles.list(b.id)).toEqual([]);
        await expect(store.botProfiles.update(b.id, first.id, { profileName: 'x' })).rejects.toMatchObject({
          code: 'bot_profile_not_found',
        });
        expect(await store.botProfiles.delete(b.id, first.id)).toBe(false);

        const lead = await store.leads.create({
          clientAccountId: a.id,
          phone: phone(),
          botProfileId: first.id,
        });
        expect(await store.botProfiles.delete(a.id, first.id)).toBe(true);
        expect(await store.botProfiles.delete(a.id, first.id)).toBe(false);
        expect(await store.botProfiles.get(a.id, first.id)).toBeNull();
        expect((await store.leads.get(a.id, lead.id))?.botProfileId).toBeNull();
      });
    });

    describe('agents', () => {
      it('creates, gets, updates and lists within the tenant', async () => {
        const [a, b] = await twoTenants();
        const agent = await store.agents.create({
          clientAccountId: a.id,
          name: 'Ravi',
          phone: '+919812345678',
        });
        expect(agent).toMatchObject({ email: null, calendarId: null, active: true, phone: '+919812345678' });
        clock.advance(1);
        const updated = await store.agents.update(a.id, agent.id, { active: false, email: 'ravi@acme.test' });
        expect(updated).toEqual({ ...agent, active: false, email: 'ravi@acme.test', updatedAt: clock.now() });
        expect(await store.agents.list(a.id)).toEqual([updated]);
        expect(await store.agents.get(b.id, agent.id)).toBeNull();
        expect(await store.agents.list(b.id)).toEqual([]);
        await expect(store.agents.update(b.id, agent.id, { name: 'x' })).rejects.toMatchObject({
          code: 'agent_not_found',
        });
        await expect(
          store.agents.create({ clientAccountId: a.id, name: 'x', email: 'nope' }),
        ).rejects.toBeInstanceOf(ValidationError);
      });
    });

    describe('leads', () => {
      it('creates with defaults and finds by id and phone within the tenant only', async () => {
        const [a, b] = await twoTenants();
        const p = phone();
        const lead = await store.leads.create({ clientAccountId: a.id, phone: p, name: 'Meera' });
        expect(lead).toMatchObject({
          clientAccountId: a.id,
          phone: p,
          name: 'Meera',
          email: null,
          source: 'WA Direct',
          additionalSources: [],
          status: 'new',
          answers: {},
          attributes: {},
          optedOut: false,
          optedOutAt: null,
          lastInboundAt: null,
          lastOutboundAt: null,
        });
        expect(await store.leads.get(a.id, lead.id)).toEqual(lead);
        expect(await store.leads.getByPhone(a.id, p)).toEqual(lead);
        expect(await store.leads.get(b.id, lead.id)).toBeNull();
        expect(await store.leads.getByPhone(b.id, p)).toBeNull();
      });

      it('gets many leads of one tenant at once, leaving out unknown and foreign ids', async () => {
        const [a, b] = await twoTenants();
        const first = await store.leads.create({ clientAccountId: a.id, phone: phone(), name: 'One' });
        const second = await store.leads.create({ clientAccountId: a.id, phone: phone(), name: 'Two' });
        const foreign = await store.leads.create({ clientAccountId: b.id, phone: phone(), name: 'Other' });
        const found = await store.leads.getMany(a.id, [second.id, first.id, foreign.id, 'missing', first.id]);
        expect(found.map((l) => l.name).sort()).toEqual(['One', 'Two']);
        expect(found.find((l) => l.id === first.id)).toEqual(first);
        expect(await store.leads.getMany(a.id, [])).toEqual([]);
        expect(await store.leads.getMany(b.id, [first.id])).toEqual([]);
      });

      it('keeps one lead per phone per tenant', async () => {
        const [a, b] = await twoTenants();
        const p = phone();
        await store.leads.create({ clientAccountId: a.id, phone: p });
        const duplicate = store.leads.create({ clientAccountId: a.id, phone: p });
        await expect(duplicate).rejects.toBeInstanceOf(ConflictError);
        await expect(duplicate).rejects.toMatchObject({ code: 'lead_phone_taken', status: 409 });
        expect((await store.leads.create({ clientAccountId: b.id, phone: p })).clientAccountId).toBe(b.id);
        // Leads without a phone (e.g. a website form with email only) never collide.
        await store.leads.create({ clientAccountId: a.id, email: 'x@acme.test' });
        await store.leads.create({ clientAccountId: a.id, email: 'y@acme.test' });
        expect((await store.leads.list(a.id)).items).toHaveLength(3);
        await expect(
          store.leads.create({ clientAccountId: 'no-such-tenant', phone: p }),
        ).rejects.toMatchObject({
          code: 'tenant_not_found',
        });
      });

      it('upsertByPhone creates once, then merges sources, answers, attributes and empty fields', async () => {
        const t = await tenant();
        const p = phone();
        const first = await store.leads.upsertByPhone({
          clientAccountId: t.id,
          phone: p,
          source: 'WA Direct',
          answers: { budget: '', city: 'Pune' },
          attributes: { campaign: 'c1', organic: null },
        });
        expect(first.created).toBe(true);
        expect(first.lead).toMatchObject({ source: 'WA Direct', additionalSources: [], name: null });

        clock.advance(1_000);
        const second = await store.leads.upsertByPhone({
          clientAccountId: t.id,
          phone: p,
          source: 'Facebook Lead Ad',
          name: 'Kiran',
          email: 'kiran@acme.test',
          status: 'qualified',
          facebookPageId: '123456',
          answers: { budget: '1-2 Cr', city: 'Mumbai', bhk: ['2', '3'] },
          attributes: { campaign: 'c2', organic: false, adId: '42' },
        });
        expect(second.created).toBe(false);
        expect(second.lead).toEqual({
          ...first.lead,
          name: 'Kiran',
          email: 'kiran@acme.test',
          facebookPageId: '123456',
          additionalSources: ['Facebook Lead Ad'],
          answers: { budget: '1-2 Cr', city: 'Pune', bhk: ['2', '3'] },
          attributes: { campaign: 'c1', organic: false, adId: '42' },
          updatedAt: clock.now(),
        });

        await store.leads.upsertByPhone({
          clientAccountId: t.id,
          phone: p,
          source: 'Facebook Lead Ad',
          name: 'Other',
        });
        await store.leads.upsertByPhone({ clientAccountId: t.id, phone: p, source: 'WA Direct' });
        const third = await store.leads.upsertByPhone({ clientAccountId: t.id, phone: p, source: 'Website' });
        const last = await store.leads.upsertByPhone({ clientAccountId: t.id, phone: p, source: 'Referral' });
        expect(third.lead.additionalSources).toEqual(['Facebook Lead Ad', 'Website']);
        expect(last.lead).toMatchObject({
          id: first.lead.id,
          source: 'WA Direct',
          status: 'new',
          name: 'Kiran',
          additionalSources: ['Facebook Lead Ad', 'Website', 'Referral'],
        });
        expect((await store.leads.list(t.id)).items).toHaveLength(1);
        expect(await store.leads.getByPhone(t.id, p)).toEqual(last.lead);
      });

      it('upsertByPhone keeps tenants apart and validates references and the phone', async () => {
        const [a, b] = await twoTenants();
        const p = phone();
        const inA = await store.leads.upsertByPhone({ clientAccountId: a.id, phone: p, source: 'Website' });
        const inB = await store.leads.upsertByPhone({ clientAccountId: b.id, phone: p, source: 'Referral' });
        expect(inB.created).toBe(true);
        expect(inB.lead.id).not.toBe(inA.lead.id);
        expect((await store.leads.get(a.id, inA.lead.id))?.additionalSources).toEqual([]);
        const agentOfB = await store.agents.create({ clientAccountId: b.id, name: 'B agent' });
        await expect(
          store.leads.upsertByPhone({ clientAccountId: a.id, phone: phone(), agentId: agentOfB.id }),
        ).rejects.toMatchObject({ code: 'agent_not_found', status: 404 });
        await expect(
          store.leads.upsertByPhone({ clientAccountId: a.id, phone: null } as never),
        ).rejects.toBeInstanceOf(ValidationError);
        await expect(
          store.leads.upsertByPhone({ clientAccountId: a.id, phone: '98765' }),
        ).rejects.toBeInstanceOf(ValidationError);
      });

      it('updates fields, tracks opt-out time, and checks references within the tenant', async () => {
        const [a, b] = await twoTenants();
        const lead = await store.leads.create({ clientAccountId: a.id, phone: phone() });
        const agent = await store.agents.create({ clientAccountId: a.id, name: 'A agent' });
        const foreignAgent = await store.agents.create({ clientAccountId: b.id, name: 'B agent' });
        clock.advance(1_000);
        const optedOutAt = clock.now();
        const updated = await store.leads.update(a.id, lead.id, {
          status: 'contacted',
          agentId: agent.id,
          optedOut: true,
          answers: { budget: '50L' },
          lastInboundAt: optedOutAt,
        });
        expect(updated).toEqual({
          ...lead,
          status: 'contacted',
          agentId: agent.id,
          optedOut: true,
          optedOutAt,
          answers: { budget: '50L' },
          lastInboundAt: optedOutAt,
          updatedAt: optedOutAt,
        });
        clock.advance(1_000);
        expect((await store.leads.update(a.id, lead.id, { optedOut: true })).optedOutAt).toEqual(optedOutAt);
        expect((await store.leads.update(a.id, lead.id, { optedOut: false })).optedOutAt).toBeNull();
        await expect(store.leads.update(a.id, lead.id, { agentId: foreignAgent.id })).rejects.toMatchObject({
          code: 'agent_not_found',
        });
        await expect(store.leads.update(b.id, lead.id, { status: 'closed_won' })).rejects.toMatchObject({
          code: 'lead_not_found',
          status: 404,
        });
        await expect(store.leads.update(a.id, lead.id, { status: 'bogus' as never })).rejects.toBeInstanceOf(
          ValidationError,
        );
        expect((await store.leads.get(a.id, lead.id))?.status).toBe('contacted');
      });

      it('merges answers and attributes key by key, and applies a precondition on updatedAt', async () => {
        const [a] = await twoTenants();
        const lead = await store.leads.create({
          clientAccountId: a.id,
          phone: phone(),
          answers: { budget: '50L', bhk: '2' },
          attributes: { utm: 'fb', waba: { marketingOptedOut: false } },
        });
        clock.advance(1_000);
        const merged = await store.leads.update(a.id, lead.id, {
          mergeAnswers: { set: { locality: 'Baner' }, remove: ['bhk'] },
          mergeAttributes: { set: { waba: { marketingOptedOut: true } } },
        });
        expect(merged.answers).toEqual({ budget: '50L', locality: 'Baner' });
        expect(merged.attributes).toEqual({ utm: 'fb', waba: { marketingOptedOut: true } });
        await expect(
          store.leads.update(a.id, lead.id, { answers: {}, mergeAnswers: { set: { x: '1' } } }),
        ).rejects.toMatchObject({ code: 'patch_invalid', status: 400 });

        // A whole-record edit of a stale read is refused; of the current one, applied.
        await expect(
          store.leads.update(a.id, lead.id, { answers: {}, expectedUpdatedAt: lead.updatedAt }),
        ).rejects.toMatchObject({ code: 'lead_modified', status: 409 });
        expect((await store.leads.get(a.id, lead.id))?.answers).toEqual({ budget: '50L', locality: 'Baner' });
        clock.advance(1_000);
        const edited = await store.leads.update(a.id, lead.id, {
          answers: { budget: '60L' },
          expectedUpdatedAt: merged.updatedAt,
        });
        expect(edited.answers).toEqual({ budget: '60L' });
        await expect(
          store.leads.update(a.id, 'no-such-lead', {
            status: 'contacted',
            expectedUpdatedAt: merged.updatedAt,
          }),
        ).rejects.toMatchObject({ code: 'lead_not_found' });
      });

      it('patches the object under an attribute key one level down, keeping its other fields', async () => {
        const [a] = await twoTenants();
        const lead = await store.leads.create({
          clientAccountId: a.id,
          phone: phone(),
          attributes: {
            utm: 'fb',
            waba: { marketingOptedOut: false, entryPoint: { source: 'ctwa' } },
            flat: 3,
          },
        });
        const patched = await store.leads.update(a.id, lead.id, {
          mergeAttributes: {
            set: { utm: 'ig' },
            patch: { waba: { marketingOptedOut: true }, bot: { step: 2 }, flat: { now: 'object' } },
          },
        });
        expect(patched.attributes).toEqual({
          utm: 'ig',
          waba: { marketingOptedOut: true, entryPoint: { source: 'ctwa' } },
          bot: { step: 2 },
          flat: { now: 'object' },
        });
        // A patch of a key that `set` writes in the same update merges into what `set` wrote.
        const both = await store.leads.update(a.id, lead.id, {
          mergeAttributes: {
            set: { bot: { step: 3, lang: 'en' } },
            patch: { bot: { step: 4 } },
            remove: ['flat'],
          },
        });
        expect(both.attributes).toEqual({
          utm: 'ig',
          waba: { marketingOptedOut: true, entryPoint: { source: 'ctwa' } },
          bot: { step: 4, lang: 'en' },
        });
      });

      it('lists newest first with filters and stable pagination', async () => {
        const [a, b] = await twoTenants();
        clock.advance(1_000);
        const made = [];
        for (let i = 0; i < 7; i++) {
          if (i % 3 === 0) clock.advance(1); // several leads share a timestamp: ids break the tie
          made.push(
            await store.leads.create({
              clientAccountId: a.id,
              phone: phone(),
              name: i === 4 ? 'Anita 100%_Sharma' : `Lead ${i}`,
              email: i === 5 ? 'VIP@Acme.test' : null,
              source: i % 2 ? 'Facebook Lead Ad' : 'WA Direct',
              status: i < 2 ? 'qualified' : 'new',
            }),
          );
        }
        await store.leads.upsertByPhone({ clientAccountId: a.id, phone: made[0]!.phone!, source: 'Website' });
        await store.leads.create({ clientAccountId: b.id, phone: phone(), name: 'Lead 0' });

        const all = (await store.leads.list(a.id)).items;
        expect(all).toHaveLength(7);
        const expected = [...made].sort(
          (x, y) => y.createdAt.getTime() - x.createdAt.getTime() || (y.id < x.id ? -1 : y.id > x.id ? 1 : 0),
        );
        expect(all.map((l) => l.id)).toEqual(expected.map((l) => l.id));
        const paged = await drain((cursor) => store.leads.list(a.id, { cursor, limit: 3 }));
        expect(paged.pages).toBe(3);
        expect(paged.items.map((l) => l.id)).toEqual(all.map((l) => l.id));

        const ids = async (query: Parameters<CoreStore['leads']['list']>[1]) =>
          (await store.leads.list(a.id, query)).items.map((l) => l.id).sort();
        expect(await ids({ status: ['qualified'] })).toEqual([made[0]!.id, made[1]!.id].sort());
        expect(await ids({ status: ['qualified', 'new'] })).toHaveLength(7);
        expect(await ids({ source: 'Facebook Lead Ad' })).toEqual(
          made
            .filter((_, i) => i % 2)
            .map((l) => l.id)
            .sort(),
        );
        expect(await ids({ source: 'Website' })).toEqual([made[0]!.id]);
        expect(await ids({ search: 'vip@acme' })).toEqual([made[5]!.id]);
        expect(await ids({ search: '100%_' })).toEqual([made[4]!.id]);
        expect(await ids({ search: '%' })).toEqual([made[4]!.id]);
        expect(await ids({ search: made[6]!.phone!.slice(-6) })).toEqual([made[6]!.id]);
        expect(await ids({ search: 'lead 0' })).toEqual([made[0]!.id]);
        expect((await store.leads.list(b.id)).items).toHaveLength(1);
      });
    });

    describe('messages', () => {
      const setup = async () => {
        const [a, b] = await twoTenants();
        const lead = await store.leads.create({ clientAccountId: a.id, phone: phone() });
        return { a, b, lead };
      };

      it('creates against a lead of the same tenant and lists the conversation oldest first', async () => {
        const { a, b, lead } = await setup();
        const other = await store.leads.create({ clientAccountId: b.id, phone: phone() });
        await expect(
          store.messages.create({
            clientAccountId: a.id,
            leadId: other.id,
            direction: 'inbound',
            kind: 'text',
            status: 'received',
          }),
        ).rejects.toMatchObject({ code: 'lead_not_found', status: 404 });

        const sent = [];
        for (let i = 0; i < 5; i++) {
          clock.advance(i === 2 ? 0 : 1);
          sent.push(
            await store.messages.create({
              clientAccountId: a.id,
              leadId: lead.id,
              direction: i % 2 ? 'outbound' : 'inbound',
              kind: 'text',
              body: `m${i}`,
              payload: { text: { body: `m${i}` } },
              status: i % 2 ? 'queued' : 'received',
            }),
          );
        }
        const given = new Date('2020-01-01T00:00:00.123Z');
        const old = await store.messages.create({
          clientAccountId: a.id,
          leadId: lead.id,
          direction: 'inbound',
          kind: 'text',
          status: 'received',
          createdAt: given,
        });
        expect(old).toMatchObject({ createdAt: given, statusAt: null, provider: null, payload: {} });
        expect(await store.messages.get(a.id, sent[0]!.id)).toEqual(sent[0]);
        expect(await store.messages.get(b.id, sent[0]!.id)).toBeNull();

        const conversation = await drain((cursor) =>
          store.messages.listByLead(a.id, lead.id, { cursor, limit: 4 }),
        );
        expect(conversation.pages).toBe(2);
        const expected = [old, ...sent].sort(
          (x, y) => x.createdAt.getTime() - y.createdAt.getTime() || (x.id < y.id ? -1 : 1),
        );
        expect(conversation.items.map((m) => m.id)).toEqual(expected.map((m) => m.id));
        expect(conversation.items[0]).toEqual(old);
        expect((await store.messages.listByLead(b.id, lead.id)).items).toEqual([]);
      });

      it('keeps provider message ids unique per tenant and finds a message by either provider id', async () => {
        const { a, b, lead } = await setup();
        const leadB = await store.leads.create({ clientAccountId: b.id, phone: phone() });
        const base = { direction: 'outbound', kind: 'template', status: 'sent' } as const;
        const message = await store.messages.create({
          ...base,
          clientAccountId: a.id,
          leadId: lead.id,
          provider: 'gupshup',
          providerMessageId: 'gs-1',
          providerAltId: 'wamid.HBgM1',
          templateName: 'welcome',
        });
        const duplicate = store.messages.create({
          ...base,
          clientAccountId: a.id,
          leadId: lead.id,
          providerMessageId: 'gs-1',
        });
        await expect(duplicate).rejects.toBeInstanceOf(ConflictError);
        await expect(duplicate).rejects.toMatchObject({ code: 'provider_message_id_taken' });
        // Unsent messages have no provider id yet; another tenant may see the same id.
        await store.messages.create({ ...base, status: 'queued', clientAccountId: a.id, leadId: lead.id });
        await store.messages.create({ ...base, status: 'queued', clientAccountId: a.id, leadId: lead.id });
        const inB = await store.messages.create({
          ...base,
          clientAccountId: b.id,
          leadId: leadB.id,
          providerMessageId: 'gs-1',
        });

        expect(await store.messages.findByProviderId(a.id, 'gs-1')).toEqual(message);
        expect(await store.messages.findByProviderId(a.id, 'wamid.HBgM1')).toEqual(message);
        expect(await store.messages.findByProviderId(b.id, 'gs-1')).toEqual(inB);
        expect(await store.messages.findByProviderId(b.id, 'wamid.HBgM1')).toBeNull();
        expect(await store.messages.findByProviderId(a.id, 'unknown')).toBeNull();
      });

      it('updates the status, ids and errors of a message in the tenant', async () => {
        const { a, b, lead } = await setup();
        const base = { clientAccountId: a.id, leadId: lead.id, direction: 'outbound', kind: 'text' } as const;
        const message = await store.messages.create({ ...base, status: 'queued', body: 'Hello' });
        const taken = await store.messages.create({ ...base, status: 'sent', providerMessageId: 'taken' });
        clock.advance(500);
        const sent = await store.messages.updateStatus(a.id, message.id, {
          status: 'sent',
          providerMessageId: 'gs-9',
        });
        expect(sent).toEqual({
          ...message,
          status: 'sent',
          providerMessageId: 'gs-9',
          statusAt: clock.now(),
        });
        const deliveredAt = new Date('2030-05-05T05:05:05.005Z');
        const delivered = await store.messages.updateStatus(a.id, message.id, {
          status: 'delivered',
          statusAt: deliveredAt,
          providerAltId: 'wamid.X',
        });
        expect(delivered).toEqual({
          ...sent,
          status: 'delivered',
          statusAt: deliveredAt,
          providerAltId: 'wamid.X',
        });
        const failed = await store.messages.updateStatus(a.id, message.id, {
          status: 'failed',
          errorCode: '131047',
          errorReason: 'Re-engagement message',
        });
        expect(failed).toMatchObject({ status: 'failed', errorCode: '131047', providerMessageId: 'gs-9' });
        expect(await store.messages.get(a.id, message.id)).toEqual(failed);
        await expect(
          store.messages.updateStatus(a.id, message.id, {
            status: 'sent',
            providerMessageId: taken.providerMessageId,
          }),
        ).rejects.toMatchObject({ code: 'provider_message_id_taken' });
        await expect(store.messages.updateStatus(b.id, message.id, { status: 'read' })).rejects.toMatchObject(
          {
            code: 'message_not_found',
            status: 404,
          },
        );
        await expect(
          store.messages.updateStatus(a.id, message.id, { status: 'exploded' as never }),
        ).rejects.toBeInstanceOf(ValidationError);
        expect((await store.messages.get(a.id, message.id))?.status).toBe('failed');
      });
    });

    describe('appointments', () => {
      it('creates, updates and lists by start time with filters, within the tenant', async () => {
        const [a, b] = await twoTenants();
        const lead = await store.leads.create({ clientAccountId: a.id, phone: phone() });
        const lead2 = await store.leads.create({ clientAccountId: a.id, phone: phone() });
        const agent = await store.agents.create({ clientAccountId: a.id, name: 'Ravi' });
        const foreignAgent = await store.agents.create({ clientAccountId: b.id, name: 'Other' });
        const at = (h: number) => new Date(Date.UTC(2030, 0, 10, h));
        const make = (leadId: string, h: number, agentId: string | null = null) =>
          store.appointments.create({
            clientAccountId: a.id,
            leadId,
            agentId,
            startsAt: at(h),
            endsAt: at(h + 1),
            timeZone: 'Asia/Kolkata',
          });
        const late = await make(lead.id, 15, agent.id);
        const early = await make(lead2.id, 9);
        const mid = await make(lead.id, 11);
        expect(early).toMatchObject({
          status: 'scheduled',
          location: null,
          meetingUrl: null,
          timeZone: 'Asia/Kolkata',
        });

        const ids = async (query: Parameters<CoreStore['appointments']['list']>[1] = {}) =>
          (await store.appointments.list(a.id, query)).items.map((x) => x.id);
        expect(await ids()).toEqual([early.id, mid.id, late.id]);
        expect(await ids({ leadId: lead.id })).toEqual([mid.id, late.id]);
        expect(await ids({ agentId: agent.id })).toEqual([late.id]);
        expect(await ids({ from: at(10), to: at(15) })).toEqual([mid.id]);
        const paged = await drain((cursor) => store.appointments.list(a.id, { cursor, limit: 2 }));
        expect(paged.items.map((x) => x.id)).toEqual([early.id, mid.id, late.id]);

        clock.advance(1);
        const moved = await store.appointments.update(a.id, early.id, {
          startsAt: at(16),
          endsAt: at(17),
          status: 'completed',
          notes: 'Visited',
          agentId: agent.id,
        });
        expect(moved).toEqual({
          ...early,
          startsAt: at(16),
          endsAt: at(17),
          status: 'completed',
          notes: 'Visited',
          agentId: agent.id,
          updatedAt: clock.now(),
        });
        expect(await ids()).toEqual([mid.id, late.id, early.id]);
        await expect(store.appointments.update(a.id, mid.id, { endsAt: at(10) })).rejects.toBeInstanceOf(
          ValidationError,
        );
        await expect(make(lead.id, 12).then(() => null)).resolves.toBeNull();
        await expect(
          store.appointments.create({
            clientAccountId: a.id,
            leadId: lead.id,
            startsAt: at(5),
            endsAt: at(4),
          }),
        ).rejects.toBeInstanceOf(ValidationError);
        await expect(
          store.appointments.update(a.id, mid.id, { agentId: foreignAgent.id }),
        ).rejects.toMatchObject({
          code: 'agent_not_found',
        });
        await expect(make(lead.id, 1, foreignAgent.id)).rejects.toMatchObject({ code: 'agent_not_found' });
        expect((await store.appointments.get(a.id, mid.id))?.endsAt).toEqual(at(12));

        expect(await store.appointments.get(b.id, mid.id)).toBeNull();
        expect((await store.appointments.list(b.id)).items).toEqual([]);
        await expect(store.appointments.update(b.id, mid.id, { status: 'cancelled' })).rejects.toMatchObject({
          code: 'appointment_not_found',
        });
        await expect(
          store.appointments.create({
            clientAccountId: b.id,
            leadId: lead.id,
            startsAt: at(1),
            endsAt: at(2),
          }),
        ).rejects.toMatchObject({ code: 'lead_not_found' });
      });
    });

    describe('template usage log', () => {
      it('records and lists newest first with filters, within the tenant', async () => {
        const [a, b] = await twoTenants();
        const lead = await store.leads.create({ clientAccountId: a.id, phone: phone() });
        const base = { clientAccountId: a.id, phoneNumber: lead.phone! } as const;
        clock.advance(1_000);
        const since = clock.now();
        const r1 = await store.templateUsage.record({
          ...base,
          templateName: 'welcome',
          status: 'sent',
          leadId: lead.id,
        });
        clock.advance(1);
        const r2 = await store.templateUsage.record({
          ...base,
          templateName: 'reminder',
          status: 'refused',
          errorCode: 'window_closed',
          category: 'MARKETING',
        });
        clock.advance(1);
        const r3 = await store.templateUsage.record({
          ...base,
          templateName: 'welcome',
          status: 'sent',
          billable: true,
          pricingCategory: 'marketing',
          providerMessageId: 'wamid.1',
        });
        expect(r2).toMatchObject({
          language: null,
          category: 'MARKETING',
          leadId: null,
          agentId: null,
          billable: null,
        });
        expect(r3.createdAt).toEqual(clock.now());
        const ids = async (query: Parameters<CoreStore['templateUsage']['list']>[1] = {}) =>
          (await store.templateUsage.list(a.id, query)).items.map((r) => r.id);
        expect(await ids()).toEqual([r3.id, r2.id, r1.id]);
        expect(await ids({ templateName: 'welcome' })).toEqual([r3.id, r1.id]);
        expect(await ids({ leadId: lead.id })).toEqual([r1.id]);
        expect(await ids({ since: new Date(since.getTime() + 1) })).toEqual([r3.id, r2.id]);
        const paged = await drain((cursor) => store.templateUsage.list(a.id, { cursor, limit: 1 }));
        expect(paged.items.map((r) => r.id)).toEqual([r3.id, r2.id, r1.id]);
        expect((await store.templateUsage.list(a.id)).items[2]).toEqual(r1);
        expect((await store.templateUsage.list(b.id)).items).toEqual([]);
        await expect(
          store.templateUsage.record({
            ...base,
            clientAccountId: b.id,
            templateName: 'x',
            status: 'sent',
            leadId: lead.id,
          }),
        ).rejects.toMatchObject({ code: 'lead_not_found' });
        await expect(
          store.templateUsage.record({
            ...base,
            clientAccountId: 'no-such-tenant',
            templateName: 'x',
            status: 'sent',
          }),
        ).rejects.toMatchObject({ code: 'tenant_not_found' });
      });
    });

    describe('deletion', () => {
      it('deletes a tenant with every row of it, and nothing of another tenant', async () => {
        const [a, b] = await twoTenants();
        const rowsOfA = await populate(a);
        const rowsOfB = await populate(b);
        expect(await store.tenants.delete(a.id)).toBe(true);
        expect(await store.tenants.delete(a.id)).toBe(false);
        expect(await store.tenants.get(a.id)).toBeNull();
        expect(await store.pages.get(a.id, rowsOfA.page.id)).toBeNull();
        expect(await store.pages.findByPageId(rowsOfA.page.pageId)).toEqual([]);
        expect(await store.wabaConfigurations.findByNumber(rowsOfA.waba.wabaNumber)).toBeNull();
        expect(await store.botProfiles.list(a.id)).toEqual([]);
        expect(await store.agents.list(a.id)).toEqual([]);
        expect(await store.leads.get(a.id, rowsOfA.lead.id)).toBeNull();
        expect(await store.messages.get(a.id, rowsOfA.message.id)).toBeNull();
        expect(await store.appointments.get(a.id, rowsOfA.appointment.id)).toBeNull();
        expect((await store.templateUsage.list(a.id)).items).toEqual([]);
        // A deleted tenant's WhatsApp number is free for another tenant.
        await expect(
          store.wabaConfigurations.create({
            clientAccountId: b.id,
            wabaNumber: rowsOfA.waba.wabaNumber,
            provider: 'gupshup',
            credentialsEncrypted: 'lr1.x',
          }),
        ).resolves.toMatchObject({ clientAccountId: b.id });
        // Writes for the deleted tenant are refused like those for a tenant that never existed.
        await expect(store.leads.create({ clientAccountId: a.id, phone: phone() })).rejects.toMatchObject({
          code: 'tenant_not_found',
        });

        expect(await store.tenants.get(b.id)).toEqual(b);
        expect(await store.pages.get(b.id, rowsOfB.page.id)).toEqual(rowsOfB.page);
        expect(await store.leads.get(b.id, rowsOfB.lead.id)).toEqual(rowsOfB.lead);
        expect(await store.messages.get(b.id, rowsOfB.message.id)).toEqual(rowsOfB.message);
        expect(await store.appointments.get(b.id, rowsOfB.appointment.id)).toEqual(rowsOfB.appointment);
        expect((await store.templateUsage.list(b.id)).items).toEqual([rowsOfB.usage]);
        expect(await store.agents.list(b.id)).toEqual([rowsOfB.agent]);
      });

      it('deletes a lead with its messages and appointments; the usage log keeps its record, lead unset', async () => {
        const t = await tenant();
        const rows = await populate(t);
        const other = await store.leads.create({ clientAccountId: t.id, phone: phone() });
        const kept = await store.messages.create({
          clientAccountId: t.id,
          leadId: other.id,
          direction: 'outbound',
          kind: 'text',
          status: 'sent',
        });
        const stranger = await tenant();
        expect(await store.leads.delete(stranger.id, rows.lead.id)).toBe(false);
        expect(await store.leads.get(t.id, rows.lead.id)).toEqual(rows.lead);

        expect(await store.leads.delete(t.id, rows.lead.id)).toBe(true);
        expect(await store.leads.delete(t.id, rows.lead.id)).toBe(false);
        expect(await store.leads.get(t.id, rows.lead.id)).toBeNull();
        expect(await store.leads.getByPhone(t.id, rows.lead.phone!)).toBeNull();
        expect(await store.messages.get(t.id, rows.message.id)).toBeNull();
        expect((await store.messages.listByLead(t.id, rows.lead.id)).items).toEqual([]);
        expect(await store.appointments.get(t.id, rows.appointment.id)).toBeNull();
        expect((await store.templateUsage.list(t.id)).items).toEqual([{ ...rows.usage, leadId: null }]);
        expect(await store.messages.get(t.id, kept.id)).toEqual(kept);
        expect(await store.agents.get(t.id, rows.agent.id)).toEqual(rows.agent);
        // The phone is free again.
        await expect(
          store.leads.create({ clientAccountId: t.id, phone: rows.lead.phone! }),
        ).resolves.toMatchObject({ phone: rows.lead.phone });
      });
    });

    describe('outbound (the send path)', () => {
      const setup = async () => {
        const [a, b] = await twoTenants();
        const lead = await store.leads.create({ clientAccountId: a.id, phone: phone(), name: 'Priya' });
        return { a, b, lead };
      };
      const numberOf = (clientAccountId: string, status: 'active' | 'disabled' = 'active') =>
        store.wabaConfigurations.create({
          clientAccountId,
          wabaNumber: phone(),
          provider: 'cloud_api',
          credentialsEncrypted: 'sealed',
          providerConfig: { phoneNumberId: metaId() },
          status,
        });

      it("reads the lead by id or phone with the tenant's numbers, never another tenant's", async () => {
        const { a, b, lead } = await setup();
        const first = await numberOf(a.id);
        clock.advance(1);
        const second = await numberOf(a.id, 'disabled');
        await numberOf(b.id);
        const byId = await store.outbound.context(a.id, { id: lead.id });
        expect(byId.lead).toEqual(await store.leads.get(a.id, lead.id));
        expect(byId.wabaConfigurations).toEqual([first, second]);
        expect(byId.wabaConfigurations).toEqual(await store.wabaConfigurations.list(a.id));
        expect((await store.outbound.context(a.id, { phone: lead.phone! })).lead).toEqual(byId.lead);
        const fromB = await store.outbound.context(b.id, { id: lead.id });
        expect(fromB.lead).toBeNull();
        expect(fromB.wabaConfigurations.map((c) => c.clientAccountId)).toEqual([b.id]);
        const none = await store.outbound.context(a.id, { phone: phone() });
        expect(none).toEqual({ lead: null, wabaConfigurations: [first, second] });
        expect(await store.outbound.context((await tenant()).id, { id: lead.id })).toEqual({
          lead: null,
          wabaConfigurations: [],
        });
      });

      it('stores the message, the lead’s lastOutboundAt and the usage line in one write', async () => {
        const { a, lead } = await setup();
        clock.advance(1_000);
        const sentAt = clock.now();
        const message = await store.outbound.record({
          message: {
            clientAccountId: a.id,
            leadId: lead.id,
            direction: 'outbound',
            kind: 'template',
            body: 'Hi Priya',
            payload: { message: { type: 'template', name: 'welcome' } },
            status: 'queued',
            provider: 'cloud_api',
            providerMessageId: `wamid.${unique()}`,
            templateName: 'welcome',
          },
          lastOutboundAt: sentAt,
          templateUsage: {
            templateName: 'welcome',
            language: 'en',
            category: 'UTILITY',
            phoneNumber: lead.phone!,
            leadId: lead.id,
            status: 'sent',
            pricingCategory: 'utility',
            billable: false,
          },
        });
        expect(message).toMatchObject({
          body: 'Hi Priya',
          status: 'queued',
          statusAt: null,
          createdAt: sentAt,
        });
        expect(await store.messages.get(a.id, message.id)).toEqual(message);
        const stored = (await store.leads.get(a.id, lead.id))!;
        expect(stored.lastOutboundAt).toEqual(sentAt);
        expect(stored.updatedAt).toEqual(sentAt);
        expect(stored.name).toBe('Priya');
        const usage = (await store.templateUsage.list(a.id, { leadId: lead.id })).items;
        expect(usage).toHaveLength(1);
        expect(usage[0]).toMatchObject({
          clientAccountId: a.id,
          templateName: 'welcome',
          status: 'sent',
          billable: false,
          createdAt: sentAt,
        });

        // Without lastOutboundAt or usage: only the message.
        clock.advance(1);
        const failed = await store.outbound.record({
          message: {
            clientAccountId: a.id,
            leadId: lead.id,
            direction: 'outbound',
            kind: 'text',
            status: 'failed',
            errorCode: 'timeout',
          },
        });
        expect(failed).toMatchObject({ status: 'failed', errorCode: 'timeout', payload: {} });
        expect((await store.leads.get(a.id, lead.id))!.lastOutboundAt).toEqual(sentAt);
        expect((await store.templateUsage.list(a.id)).items).toHaveLength(1);
      });

      it("writes nothing when a part is refused, and never another tenant's lead", async () => {
        const { a, b, lead } = await setup();
        const before = (await store.leads.get(a.id, lead.id))!;
        const base = {
          clientAccountId: a.id,
          leadId: lead.id,
          direction: 'outbound' as const,
          kind: 'template',
          status: 'queued' as const,
        };
        // The usage line names an agent the tenant does not have: the message is not kept either.
        await expect(
          store.outbound.record({
            message: base,
            lastOutboundAt: clock.now(),
            templateUsage: {
              templateName: 'welcome',
              phoneNumber: lead.phone!,
              agentId: 'no-such-agent',
              status: 'sent',
            },
          }),
        ).rejects.toMatchObject({ code: 'agent_not_found' });
        expect((await store.messages.listByLead(a.id, lead.id)).items).toEqual([]);
        expect((await store.templateUsage.list(a.id)).items).toEqual([]);
        expect(await store.leads.get(a.id, lead.id)).toEqual(before);
        // The usage line always takes the message's tenant; a message for B's tenant cannot reach A's lead.
        await expect(
          store.outbound.record({
            message: { ...base, clientAccountId: b.id },
            lastOutboundAt: clock.now(),
            templateUsage: { templateName: 'welcome', phoneNumber: lead.phone!, status: 'sent' },
          }),
        ).rejects.toMatchObject({ code: 'lead_not_found' });
        expect(await store.leads.get(a.id, lead.id)).toEqual(before);
        expect((await store.templateUsage.list(b.id)).items).toEqual([]);
        await expect(
          store.outbound.record({ message: { ...base, status: 'nope' as 'queued' } }),
        ).rejects.toBeInstanceOf(ValidationError);
      });
    });

    it("tenant B never sees tenant A's rows through any method", async () => {
      const [a, b] = await twoTenants();
      const { page, waba, bot, agent, lead, message, appointment } = await populate(a);

      expect(await store.pages.get(b.id, page.id)).toBeNull();
      expect(await store.pages.getByPageId(b.id, page.pageId)).toBeNull();
      expect(await store.pages.list(b.id)).toEqual([]);
      expect(await store.wabaConfigurations.get(b.id, waba.id)).toBeNull();
      expect(await store.wabaConfigurations.list(b.id)).toEqual([]);
      expect(await store.botProfiles.get(b.id, bot.id)).toBeNull();
      expect(await store.botProfiles.list(b.id)).toEqual([]);
      expect(await store.agents.get(b.id, agent.id)).toBeNull();
      expect(await store.agents.list(b.id)).toEqual([]);
      expect(await store.leads.get(b.id, lead.id)).toBeNull();
      expect(await store.leads.getByPhone(b.id, lead.phone!)).toBeNull();
      expect((await store.leads.list(b.id, { search: 'Secret' })).items).toEqual([]);
      expect(await store.messages.get(b.id, message.id)).toBeNull();
      expect(await store.messages.findByProviderId(b.id, message.providerMessageId!)).toBeNull();
      expect((await store.messages.listByLead(b.id, lead.id)).items).toEqual([]);
      expect(await store.appointments.get(b.id, appointment.id)).toBeNull();
      expect((await store.appointments.list(b.id, { leadId: lead.id })).items).toEqual([]);
      expect((await store.templateUsage.list(b.id)).items).toEqual([]);

      const writes: [string, () => Promise<unknown>][] = [
        ['page_not_found', () => store.pages.update(b.id, page.id, { status: 'disabled' })],
        ['waba_not_found', () => store.wabaConfigurations.update(b.id, waba.id, { status: 'disabled' })],
        ['bot_profile_not_found', () => store.botProfiles.update(b.id, bot.id, { isDefault: true })],
        ['agent_not_found', () => store.agents.update(b.id, agent.id, { active: false })],
        ['lead_not_found', () => store.leads.update(b.id, lead.id, { optedOut: true })],
        ['message_not_found', () => store.messages.updateStatus(b.id, message.id, { status: 'read' })],
        [
          'appointment_not_found',
          () => store.appointments.update(b.id, appointment.id, { status: 'cancelled' }),
        ],
      ];
      for (const [code, write] of writes) {
        const error = await write().catch((e: unknown) => e);
        expect(error, code).toBeInstanceOf(NotFoundError);
        expect(error, code).toMatchObject({ code });
      }
      expect(await store.botProfiles.delete(b.id, bot.id)).toBe(false);

      // Nothing of A changed through B's calls.
      expect(await store.pages.get(a.id, page.id)).toEqual(page);
      expect(await store.leads.get(a.id, lead.id)).toEqual(lead);
      expect(await store.messages.get(a.id, message.id)).toEqual(message);
      expect(await store.appointments.get(a.id, appointment.id)).toEqual(appointment);
      expect(await store.botProfiles.get(a.id, bot.id)).toEqual(bot);
    });

    describe.runIf(options.concurrency)('under concurrency', () => {
      it('20 concurrent upsertByPhone of one phone make exactly one lead with every source merged', async () => {
        const t = await tenant();
        const p = phone();
        const sources = Array.from({ length: 20 }, (_, i) => `Source ${i}`);
        const results = await Promise.all(
          sources.map((source, i) =>
            store.leads.upsertByPhone({
              clientAccountId: t.id,
              phone: p,
              source,
              answers: { [`q${i}`]: `a${i}` },
            }),
          ),
        );
        expect(results.filter((r) => r.created)).toHaveLength(1);
        expect(new Set(results.map((r) => r.lead.id)).size).toBe(1);
        const leads = (await store.leads.list(t.id)).items;
        expect(leads).toHaveLength(1);
        const lead = leads[0]!;
        expect([lead.source, ...lead.additionalSources].sort()).toEqual([...sources].sort());
        expect(new Set(lead.additionalSources).size).toBe(19);
        expect(Object.keys(lead.answers)).toHaveLength(20);
      });

      it('20 concurrent writers of different answer and attribute keys lose nothing', async () => {
        const t = await tenant();
        const lead = await store.leads.create({
          clientAccountId: t.id,
          phone: phone(),
          answers: { seed: '1' },
        });
        await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            store.leads.update(t.id, lead.id, {
              mergeAnswers: { set: { [`q${i}`]: `a${i}` } },
              mergeAttributes: { set: { [`k${i}`]: i }, patch: { waba: { [`f${i}`]: true } } },
              ...(i % 5 === 0 ? { status: 'contacted' as const } : {}),
            }),
          ),
        );
        const stored = (await store.leads.get(t.id, lead.id))!;
        expect(Object.keys(stored.answers).sort()).toEqual(
          ['seed', ...Array.from({ length: 20 }, (_, i) => `q${i}`)].sort(),
        );
        expect(Object.keys(stored.attributes)).toHaveLength(21);
        expect(stored.attributes.k7).toBe(7);
        // Fields patched into one shared namespace object survive each other too.
        expect(Object.keys(stored.attributes.waba as object)).toHaveLength(20);
      });

      it('two concurrent default bot profiles leave exactly one default', async () => {
        const t = await tenant();
        const settled = await Promise.allSettled(
          Array.from({ length: 4 }, (_, i) =>
            store.botProfiles.create({ clientAccountId: t.id, profileName: `Bot ${i}`, isDefault: true }),
          ),
        );
        for (const r of settled) {
          if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'bot_profile_default_taken' });
        }
        expect((await store.botProfiles.list(t.id)).filter((p) => p.isDefault)).toHaveLength(1);
      });
    });
  });
}

const startClock = () => createManualClock('2026-11-25T09:00:00.000Z');

coreStoreContract('memory', async () => {
  const clock = startClock();
  return { store: createMemoryStore({ clock }), clock, close: async () => {} };
});

for (const factory of testDatabases()) {
  coreStoreContract(
    factory.name,
    async () => {
      const db = await factory.create();
      await migrate(db, coreMigrations);
      const clock = startClock();
      return { store: createPostgresStore(db, { clock }), clock, close: () => db.close() };
    },
    { concurrency: factory.name === 'postgres' },
  );
}
