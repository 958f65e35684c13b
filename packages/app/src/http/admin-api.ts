import { timingSafeEqual as bytesEqual, randomBytes } from 'node:crypto';
import {
  AuthError,
  type Clock,
  type CoreStore,
  errorResponse,
  LeadRelayError,
  NotFoundError,
  normalizePhone,
  parseOrThrow,
  readBodyLimited,
  type SecretBox,
  sealTenantSecret,
  type TenantRegistry,
  ValidationError,
} from '@leadrelay/core';
import type { FollowUps } from '@leadrelay/followups';
import { createMetaOnboarding, type GraphLeadsClient } from '@leadrelay/meta-leads';
import type { WabaClient } from '@leadrelay/waba';
import { z } from 'zod';
import { generateIntakeKey, hashIntakeKey, type TenantSettingsStore } from '../settings/tenant-settings.js';

export interface AdminApiDeps {
  /** Bearer token of the operator; without one the admin API answers 404. */
  adminToken: string | undefined;
  store: CoreStore;
  registry: TenantRegistry;
  secretBox: SecretBox;
  settings: TenantSettingsStore;
  waba: WabaClient;
  followUps: FollowUps;
  graph: GraphLeadsClient;
  clock: Clock;
}

const MAX_BODY_BYTES = 256 * 1024;
const secret = z.string().min(8).max(4096);

export const createClientSchema = z.object({
  name: z.string().trim().min(1).max(255),
  defaultCountry: z
    .string()
    .regex(/^[A-Za-z]{2}$/)
    .default('IN'),
  timezone: z.string().min(1).max(64).default('UTC'),
  meta: z
    .object({ appId: z.string().regex(/^[0-9]{1,30}$/), appSecret: secret, verifyToken: secret })
    .optional(),
  waba: z
    .discriminatedUnion('provider', [
      z.object({
        provider: z.literal('gupshup'),
        number: z.string().min(4).max(32),
        appName: z.string().min(1).max(255),
        apiKey: secret,
      }),
      z.object({
        provider: z.literal('cloud'),
        number: z.string().min(4).max(32),
        phoneNumberId: z.string().regex(/^[0-9]{1,30}$/),
        accessToken: secret,
        appSecret: secret.optional(),
      }),
    ])
    .optional(),
  welcomeTemplate: z.string().min(1).max(512).optional(),
  intakeKey: z.string().min(16).max(256).optional(),
  webhookToken: z.string().min(16).max(256).optional(),
});

export const templateSchema = z.object({
  name: z.string().min(1).max(512),
  language: z.string().min(2).max(15),
  category: z.enum(['MARKETING', 'UTILITY', 'AUTHENTICATION']),
  status: z.enum(['APPROVED', 'PENDING', 'REJECTED', 'PAUSED', 'DISABLED']).default('APPROVED'),
  body: z.string().min(1).max(1024),
  providerTemplateId: z.string().max(255).optional(),
});

export const pageSchema = z.object({
  pageId: z.string().regex(/^[0-9]{1,30}$/),
  pageName: z.string().max(255).optional(),
  accessToken: z.string().min(1).max(4096),
});

export const agentSchema = z.object({
  name: z.string().trim().min(1).max(255),
  email: z.string().email().max(320).optional(),
  phone: z.string().max(32).optional(),
  calendarId: z.string().max(255).optional(),
});

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  });

const newToken = () => randomBytes(24).toString('base64url');

function tokenMatches(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && bytesEqual(a, b);
}

async function readJson(request: Request): Promise<unknown> {
  const raw = await readBodyLimited(request, MAX_BODY_BYTES);
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch (error) {
    throw new ValidationError('The body is not valid UTF-8 JSON', { code: 'json_invalid', cause: error });
  }
}

/**
 * The operator API under `/api/admin`, behind `Authorization: Bearer <adminToken>`:
 * onboard a client business (tenant, Meta app, WhatsApp number, welcome
 * template, intake key and webhook token), its pages, templates, campaigns
 * and agents. Secrets are sealed before they are stored and never answered
 * back, except the generated intake key and webhook token, once.
 */
export function createAdminApi(deps: AdminApiDeps): (request: Request, path: string) => Promise<Response> {
  const onboarding = createMetaOnboarding({
    store: deps.store,
    secretBox: deps.secretBox,
    graph: deps.graph,
    registry: deps.registry,
  });

  async function createClient(request: Request): Promise<Response> {
    const input = parseOrThrow(createClientSchema, await readJson(request), 'client');
    const tenant = await deps.store.tenants.create({
      name: input.name,
      defaultCountry: input.defaultCountry.toUpperCase(),
      timeZone: input.timezone,
    });
    if (input.meta) await onboarding.registerApp(tenant.id, input.meta);
    const webhookToken = input.webhookToken ?? newToken();
    let waba: { id: string; provider: string; number: string } | null = null;
    if (input.waba) {
      const w = input.waba;
      const seal = (kind: Parameters<typeof sealTenantSecret>[2], value: string) =>
        sealTenantSecret(deps.secretBox, tenant.id, kind, value);
      const created = await deps.store.wabaConfigurations.create({
        clientAccountId: tenant.id,
        wabaNumber: normalizePhone(w.number, { defaultCountry: tenant.defaultCountry }),
        provider: w.provider === 'cloud' ? 'cloud_api' : 'gupshup',
        credentialsEncrypted: seal('waba_credentials', w.provider === 'cloud' ? w.accessToken : w.apiKey),
        // Gupshup callbacks carry it as ?token=; the Cloud API signs its own.
        webhookSecretEncrypted: seal('waba_webhook_secret', webhookToken),
        providerConfig:
          w.provider === 'cloud'
            ? {
                phoneNumberId: w.phoneNumberId,
                ...(w.appSecret ? { appSecretEncrypted: seal('meta_app_secret', w.appSecret) } : {}),
              }
            : { appName: w.appName },
      });
      waba = { id: created.id, provider: created.provider, number: created.wabaNumber };
    }
    const intakeKey = input.intakeKey ?? generateIntakeKey();
    await deps.settings.set(
      tenant.id,
      {
        intakeKeyHash: hashIntakeKey(intakeKey),
        ...(input.welcomeTemplate
          ? { welcomeTemplate: { name: input.welcomeTemplate, language: null } }
          : {}),
      },
      deps.clock.now(),
    );
    return json(201, {
      id: tenant.id,
      name: tenant.name,
      defaultCountry: tenant.defaultCountry,
      timezone: tenant.timeZone,
      waba,
      welcomeTemplate: input.welcomeTemplate ?? null,
      // Shown once: only their hash (intake key) or sealed form (webhook token) is kept.
      ...(input.intakeKey ? {} : { intakeKey }),
      ...(input.webhookToken ? {} : { webhookToken }),
    });
  }

  async function listClients(): Promise<Response> {
    const items = [];
    let cursor: string | null = null;
    do {
      const page = await deps.store.tenants.list({ cursor, limit: 500 });
      for (const t of page.items) {
        const settings = await deps.settings.get(t.id);
        const numbers = await deps.store.wabaConfigurations.list(t.id);
        items.push({
          id: t.id,
          name: t.name,
          status: t.status,
          defaultCountry: t.defaultCountry,
          timezone: t.timeZone,
          metaAppId: t.facebookAppId,
          waba: numbers.map((n) => ({
            id: n.id,
            provider: n.provider,
            number: n.wabaNumber,
            status: n.status,
          })),
          welcomeTemplate: settings?.welcomeTemplate?.name ?? null,
          createdAt: t.createdAt,
        });
      }
      cursor = page.nextCursor;
    } while (cursor);
    return json(200, { items });
  }

  async function forClient(clientId: string, what: string, request: Request): Promise<Response> {
    const tenant = await deps.registry.get(clientId);
    const body = await readJson(request);
    switch (what) {
      case 'pages': {
        const input = parseOrThrow(pageSchema, body, 'page');
        const page = await onboarding.registerPage(tenant.id, input);
        return json(201, { id: page.id, pageId: page.pageId, pageName: page.pageName, status: page.status });
      }
      case 'templates': {
        const input = parseOrThrow(templateSchema, body, 'template');
        const template = await deps.waba.templates.upsert({
          clientAccountId: tenant.id,
          name: input.name,
          language: input.language,
          category: input.category,
          status: input.status,
          bodyText: input.body,
          ...(input.providerTemplateId ? { providerTemplateId: input.providerTemplateId } : {}),
        });
        return json(201, template);
      }
      case 'campaigns': {
        if (typeof body !== 'object' || body === null) {
          throw new ValidationError('A campaign is a JSON object', { code: 'validation_failed' });
        }
        const campaign = await deps.followUps.createCampaign({
          ...(body as Record<string, unknown>),
          clientAccountId: tenant.id,
        } as Parameters<FollowUps['createCampaign']>[0]);
        return json(201, campaign);
      }
      case 'agents': {
        const input = parseOrThrow(agentSchema, body, 'agent');
        const agent = await deps.store.agents.create({
          clientAccountId: tenant.id,
          name: input.name,
          ...(input.email ? { email: input.email } : {}),
          ...(input.phone
            ? { phone: normalizePhone(input.phone, { defaultCountry: tenant.defaultCountry }) }
            : {}),
          ...(input.calendarId ? { calendarId: input.calendarId } : {}),
        });
        return json(201, agent);
      }
      case 'users':
        throw new LeadRelayError('Dashboard users arrive with the dashboard API', {
          code: 'not_implemented',
          status: 501,
        });
      default:
        throw new NotFoundError(`No admin route for ${what}`, { code: 'route_not_found' });
    }
  }

  return async (request, path) => {
    try {
      if (!deps.adminToken)
        throw new NotFoundError('The admin API is not enabled', { code: 'route_not_found' });
      const presented = /^Bearer\s+(\S+)$/i.exec(request.headers.get('authorization') ?? '')?.[1];
      if (!presented || !tokenMatches(presented, deps.adminToken))
        throw new AuthError('The admin token is missing or wrong');
      if (path === '/api/admin/clients') {
        if (request.method === 'POST') return await createClient(request);
        if (request.method === 'GET') return await listClients();
      }
      const nested = /^\/api\/admin\/clients\/([^/]+)\/([a-z]+)$/.exec(path);
      if (nested && request.method === 'POST')
        return await forClient(decodeURIComponent(nested[1]!), nested[2]!, request);
      throw new NotFoundError(`No admin route for ${request.method} ${path}`, { code: 'route_not_found' });
    } catch (error) {
      return errorResponse(error);
    }
  };
}
