import { isLeadRelayError, type Lead, type Logger } from '@leadrelay/core';
import { FACEBOOK_LEAD_AD_SOURCE } from '@leadrelay/meta-leads';
import type { WabaClient } from '@leadrelay/waba';
import type { TenantSettings } from '../settings/tenant-settings.js';

/** Sources whose leads did not write first: they get the welcome template. */
const OUTSIDE_SOURCES = new Set<string>([FACEBOOK_LEAD_AD_SOURCE, 'Website', 'Referral']);
const WELCOMED_KEY = 'app';

export function wasWelcomed(lead: Pick<Lead, 'attributes'>): boolean {
  const app = lead.attributes[WELCOMED_KEY] as { welcomedAt?: unknown } | undefined;
  return typeof app?.welcomedAt === 'string';
}

const firstName = (name: string | null) => name?.trim().split(/\s+/)[0] || 'there';

// Failures a retry of the event cannot change: the send was refused, or it may have gone out.
const SETTLED = new Set(['send_outcome_unknown', 'idempotency_conflict']);

/**
 * Sends the tenant's welcome template to a lead that came from an outside
 * source, once per lead: the idempotency key is the lead's, and the lead is
 * marked welcomed after the send. Answers whether a welcome went out now.
 * Throws only when the provider provably did not get it (the event retries).
 */
export async function sendWelcome(
  deps: { waba: Pick<WabaClient, 'send' | 'templates' | 'store'>; logger: Logger; now: () => Date },
  lead: Lead,
  settings: TenantSettings | null,
): Promise<boolean> {
  const template = settings?.welcomeTemplate;
  if (!template || !lead.phone || lead.optedOut || wasWelcomed(lead) || !OUTSIDE_SOURCES.has(lead.source)) {
    return false;
  }
  const log = deps.logger.child({ tenant: lead.clientAccountId, leadId: lead.id, template: template.name });
  try {
    const stored = await deps.waba.templates.require(
      lead.clientAccountId,
      template.name,
      template.language ?? undefined,
    );
    const usesName = /\{\{\s*1\s*\}\}/.test(stored.bodyText);
    await deps.waba.send({
      tenant: lead.clientAccountId,
      to: lead.phone,
      leadId: lead.id,
      message: {
        type: 'template',
        name: stored.name,
        language: stored.language,
        ...(usesName ? { parameters: { body: [firstName(lead.name)] } } : {}),
      },
      idempotencyKey: `welcome:${lead.id}`,
      context: { flow: 'welcome' },
    });
  } catch (error) {
    const code = isLeadRelayError(error) ? error.code : '';
    if (!SETTLED.has(code) && !(isLeadRelayError(error) && error.status < 500)) throw error;
    log.warn({ err: error, code }, 'welcome template not sent');
    return false;
  }
  await deps.waba.store.leads.update(lead.clientAccountId, lead.id, {
    mergeAttributes: { patch: { [WELCOMED_KEY]: { welcomedAt: deps.now().toISOString() } } },
  });
  log.info({}, 'welcome template sent');
  return true;
}
