import { type BotProfile, type CoreStore, type Lead, NotFoundError } from '@leadrelay/core';

/**
 * Gives a lead its own bot profile (or `null` to fall back to the tenant's
 * default). Throws NotFoundError `bot_profile_not_found` for a profile of
 * another tenant or none, and `lead_not_found` for an unknown lead.
 *
 * @example await assignBotProfile(store, tenantId, leadId, profile.id);
 */
export async function assignBotProfile(
  store: Pick<CoreStore, 'leads' | 'botProfiles'>,
  clientAccountId: string,
  leadId: string,
  profileId: string | null,
): Promise<Lead> {
  if (profileId !== null && !(await store.botProfiles.get(clientAccountId, profileId))) {
    throw new NotFoundError('Bot profile not found', {
      code: 'bot_profile_not_found',
      details: { botProfileId: profileId },
    });
  }
  if (!(await store.leads.get(clientAccountId, leadId))) {
    throw new NotFoundError('Lead not found', { code: 'lead_not_found', details: { leadId } });
  }
  return store.leads.update(clientAccountId, leadId, { botProfileId: profileId });
}

/**
 * The profile the bot answers a lead with: the lead's own, else the tenant's
 * default, else `null` (no bot configured).
 *
 * @example const profile = await resolveBotProfile(store, tenantId, lead);
 */
export async function resolveBotProfile(
  store: Pick<CoreStore, 'botProfiles'>,
  clientAccountId: string,
  lead: Pick<Lead, 'botProfileId'>,
): Promise<BotProfile | null> {
  if (lead.botProfileId) {
    const own = await store.botProfiles.get(clientAccountId, lead.botProfileId);
    if (own) return own;
  }
  const profiles = await store.botProfiles.list(clientAccountId);
  return profiles.find((p) => p.isDefault) ?? null;
}
