import { z } from 'zod';
import { messageInputSchema, templateUsageInputSchema } from '../schemas/domain.js';
import { parseOrThrow } from '../schemas/parse.js';
import type { OutboundRecordInput } from './ports.js';

/**
 * Validates an `outbound.record` input for either store. The usage line takes
 * the message's tenant, so one write never spans two tenants.
 */
export function parseOutboundRecord(input: OutboundRecordInput) {
  const message = parseOrThrow(messageInputSchema, input.message, 'message');
  const templateUsage =
    input.templateUsage === undefined
      ? null
      : parseOrThrow(
          templateUsageInputSchema,
          { ...input.templateUsage, clientAccountId: message.clientAccountId },
          'template usage record',
        );
  const lastOutboundAt =
    input.lastOutboundAt === undefined
      ? null
      : parseOrThrow(z.date(), input.lastOutboundAt, 'lastOutboundAt');
  return { message, templateUsage, lastOutboundAt };
}
