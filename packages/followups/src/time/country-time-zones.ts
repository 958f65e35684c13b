import { phoneCountry } from '@leadrelay/core';

/**
 * The primary IANA zone of each supported country, used when a lead has no
 * time zone of its own. Countries that span several zones get the zone where
 * most of their people live: the United States uses `America/New_York`,
 * Canada `America/Toronto`, Australia `Australia/Sydney`, Brazil
 * `America/Sao_Paulo`, Mexico `America/Mexico_City`, Indonesia `Asia/Jakarta`.
 * A lead elsewhere in such a country should carry its own `timeZone`.
 */
export const COUNTRY_TIME_ZONES: Readonly<Record<string, string>> = Object.freeze({
  AE: 'Asia/Dubai',
  AU: 'Australia/Sydney',
  BD: 'Asia/Dhaka',
  BH: 'Asia/Bahrain',
  BR: 'America/Sao_Paulo',
  CA: 'America/Toronto',
  DE: 'Europe/Berlin',
  EG: 'Africa/Cairo',
  ES: 'Europe/Madrid',
  FR: 'Europe/Paris',
  GB: 'Europe/London',
  GG: 'Europe/Guernsey',
  HK: 'Asia/Hong_Kong',
  ID: 'Asia/Jakarta',
  IE: 'Europe/Dublin',
  IM: 'Europe/Isle_of_Man',
  IN: 'Asia/Kolkata',
  IT: 'Europe/Rome',
  JE: 'Europe/Jersey',
  KE: 'Africa/Nairobi',
  KW: 'Asia/Kuwait',
  LK: 'Asia/Colombo',
  MX: 'America/Mexico_City',
  MY: 'Asia/Kuala_Lumpur',
  NG: 'Africa/Lagos',
  NL: 'Europe/Amsterdam',
  NP: 'Asia/Kathmandu',
  NZ: 'Pacific/Auckland',
  OM: 'Asia/Muscat',
  PH: 'Asia/Manila',
  PK: 'Asia/Karachi',
  QA: 'Asia/Qatar',
  SA: 'Asia/Riyadh',
  SG: 'Asia/Singapore',
  US: 'America/New_York',
  ZA: 'Africa/Johannesburg',
});

export interface ResolvedTimeZone {
  timeZone: string;
  /** Where it came from: the lead, its phone's country, the campaign, the tenant, or UTC. */
  source: 'lead' | 'phone_country' | 'campaign' | 'tenant' | 'default';
}

/**
 * The zone a lead's quiet hours are computed in: `lead.timeZone`, else the
 * primary zone of the phone number's country ({@link COUNTRY_TIME_ZONES}),
 * else the campaign's `schedule.timeZone`, else the tenant's zone, else UTC.
 *
 * @example resolveLeadTimeZone({ timeZone: null, phone: '+971501234567' }, { tenant: 'Asia/Kolkata' })
 * // { timeZone: 'Asia/Dubai', source: 'phone_country' }
 */
export function resolveLeadTimeZone(
  lead: { timeZone?: string | null; phone?: string | null },
  fallbacks: { campaign?: string | null; tenant?: string | null } = {},
): ResolvedTimeZone {
  if (lead.timeZone) return { timeZone: lead.timeZone, source: 'lead' };
  if (lead.phone) {
    const country = phoneCountry(lead.phone);
    const zone = country ? COUNTRY_TIME_ZONES[country] : undefined;
    if (zone) return { timeZone: zone, source: 'phone_country' };
  }
  if (fallbacks.campaign) return { timeZone: fallbacks.campaign, source: 'campaign' };
  if (fallbacks.tenant) return { timeZone: fallbacks.tenant, source: 'tenant' };
  return { timeZone: 'UTC', source: 'default' };
}
