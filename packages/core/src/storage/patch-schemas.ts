import type { z } from 'zod';
import {
  agentSchema,
  appointmentSchema,
  botProfileSchema,
  facebookPageSchema,
  messageSchema,
  tenantSchema,
  wabaConfigurationSchema,
} from '../schemas/domain.js';
import { parseOrThrow } from '../schemas/parse.js';

/**
 * Schemas for the partial updates the repositories accept. They derive from
 * the record schemas (not the input schemas) on purpose: input schemas carry
 * defaults, and a default in a patch would silently overwrite stored values.
 */

export const tenantPatchSchema = tenantSchema.omit({ id: true, createdAt: true, updatedAt: true }).partial();

export const facebookPagePatchSchema = facebookPageSchema
  .pick({
    pageName: true,
    accessTokenEncrypted: true,
    webhookSubscribed: true,
    status: true,
    defaultCountry: true,
  })
  .partial();

export const wabaConfigurationPatchSchema = wabaConfigurationSchema
  .omit({ id: true, clientAccountId: true, createdAt: true, updatedAt: true })
  .partial();

export const botProfilePatchSchema = botProfileSchema
  .omit({ id: true, clientAccountId: true, createdAt: true, updatedAt: true })
  .partial();

export const agentPatchSchema = agentSchema
  .omit({ id: true, clientAccountId: true, createdAt: true, updatedAt: true })
  .partial();

export const appointmentPatchSchema = appointmentSchema
  .pick({
    status: true,
    startsAt: true,
    endsAt: true,
    agentId: true,
    location: true,
    meetingUrl: true,
    calendarEventId: true,
    notes: true,
  })
  .partial();

export const messageStatusUpdateSchema = messageSchema
  .pick({ providerMessageId: true, providerAltId: true, errorCode: true, errorReason: true })
  .partial()
  .extend({ status: messageSchema.shape.status, statusAt: messageSchema.shape.createdAt.optional() });

/**
 * Parses a patch and drops keys whose value is `undefined`, so "absent" and
 * "explicitly undefined" both mean "leave as is".
 *
 * @example const changes = parsePatch(agentPatchSchema, patch, 'agent patch');
 */
export function parsePatch<S extends z.ZodType<Record<string, unknown>>>(
  schema: S,
  patch: unknown,
  what: string,
): Partial<z.output<S>> {
  const parsed = parseOrThrow(schema, patch ?? {}, what);
  return Object.fromEntries(Object.entries(parsed).filter(([, v]) => v !== undefined)) as Partial<
    z.output<S>
  >;
}
