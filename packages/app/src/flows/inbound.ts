import type { Logger } from '@leadrelay/core';
import type { FollowUps } from '@leadrelay/followups';
import type { WabaEvent } from '@leadrelay/waba';

const DELIVERY = new Set(['sent', 'delivered', 'read', 'failed']);

/**
 * What an applied WhatsApp event means for follow-ups: a message from the
 * lead stops the campaigns waiting for a reply (and may enrol it in
 * `inbound_message` campaigns), an opt-out ends every enrolment, a delivery
 * status updates the step's statistics. Runs inside the event's processing,
 * so a failure retries the event; each call is idempotent.
 */
export async function applyInboundToFollowUps(
  followUps: FollowUps,
  event: WabaEvent,
  logger: Logger,
): Promise<void> {
  const tenant = event.tenant.id;
  switch (event.type) {
    case 'message':
      await followUps.handleLeadEvent({
        type: 'inbound_message',
        tenant,
        leadId: event.lead.id,
        at: event.event.at,
      });
      return;
    case 'opt_out':
      await followUps.handleExitEvent({
        type: 'opted_out',
        tenant,
        leadId: event.lead.id,
        at: event.event.at,
      });
      return;
    case 'opt_in':
      return;
    case 'status': {
      const status = event.event.status;
      if (!event.message?.providerMessageId || !status || !DELIVERY.has(status)) return;
      await followUps.recordDeliveryStatus({
        tenant,
        providerMessageId: event.message.providerMessageId,
        status: status as 'sent' | 'delivered' | 'read' | 'failed',
        at: event.event.at,
      });
      logger.debug({ tenant, status }, 'delivery status passed to follow-ups');
      return;
    }
  }
}
