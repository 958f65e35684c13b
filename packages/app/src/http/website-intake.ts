import {
  AuthError,
  type CoreStore,
  errorResponse,
  normalizePhone,
  parseOrThrow,
  readBodyLimited,
  type TenantRegistry,
  ValidationError,
} from '@leadrelay/core';
import { z } from 'zod';
import { intakeKeyMatches, type TenantSettingsStore } from '../settings/tenant-settings.js';

const MAX_BODY_BYTES = 64 * 1024;

export const websiteLeadSchema = z.object({
  name: z.string().trim().min(1).max(255),
  phone: z.string().min(4).max(32),
  email: z.string().email().max(320).optional(),
  source: z.enum(['Website', 'Referral']).default('Website'),
  // Numbers and booleans are kept as text, the way form answers are stored.
  answers: z
    .record(z.string().max(100), z.union([z.string().max(1000), z.number(), z.boolean()]))
    .transform((answers) => Object.fromEntries(Object.entries(answers).map(([k, v]) => [k, String(v)])))
    .optional(),
});

export interface WebsiteIntakeDeps {
  store: CoreStore;
  registry: TenantRegistry;
  settings: TenantSettingsStore;
  /** Records the lead's new-lead event (welcome, enrolment) durably before the answer. */
  recordNewLead(clientAccountId: string, leadId: string): Promise<void>;
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  });

/**
 * `POST /api/leads/:clientId` with `Authorization: Bearer <intakeKey>`: a
 * lead from the tenant's website or a referral, stored once per phone with
 * its sources merged (201 new, 200 merged). The new-lead event is recorded
 * on every accepted request, so a retried request after a crash still gets
 * its welcome and enrolment, once.
 */
export async function handleWebsiteLead(
  deps: WebsiteIntakeDeps,
  request: Request,
  clientId: string,
): Promise<Response> {
  try {
    if (request.method !== 'POST') {
      throw new ValidationError('Leads are POSTed', { code: 'method_not_allowed', status: 405 });
    }
    const tenant = await deps.registry.get(clientId);
    const presented = /^Bearer\s+(\S+)$/i.exec(request.headers.get('authorization') ?? '')?.[1];
    const settings = await deps.settings.get(tenant.id);
    if (!presented || !intakeKeyMatches(presented, settings?.intakeKeyHash ?? null)) {
      throw new AuthError('The intake key is missing or wrong');
    }
    const raw = await readBodyLimited(request, MAX_BODY_BYTES);
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
    } catch (error) {
      throw new ValidationError('The body is not valid UTF-8 JSON', { code: 'json_invalid', cause: error });
    }
    const input = parseOrThrow(websiteLeadSchema, body, 'lead');
    const phone = normalizePhone(input.phone, { defaultCountry: tenant.defaultCountry });
    const { lead, created } = await deps.store.leads.upsertByPhone({
      clientAccountId: tenant.id,
      phone,
      name: input.name,
      ...(input.email ? { email: input.email } : {}),
      source: input.source,
      ...(input.answers ? { answers: input.answers } : {}),
    });
    await deps.recordNewLead(tenant.id, lead.id);
    return json(created ? 201 : 200, { id: lead.id, created });
  } catch (error) {
    return errorResponse(error);
  }
}
