import type { Lead, Message, Tenant, WabaConfiguration } from '@leadrelay/core';
import type { InboundConsentEvent, InboundMessageEvent, InboundStatusEvent } from './inbound-event.js';

/** An inbound event after it was applied to the stored state: what `onEvent` hooks receive. */
export type WabaEvent =
  | {
      type: 'message';
      tenant: Tenant;
      waba: WabaConfiguration | null;
      lead: Lead;
      /** True when this message created the lead. */
      leadCreated: boolean;
      message: Message;
      event: InboundMessageEvent;
    }
  | {
      type: 'status';
      tenant: Tenant;
      waba: WabaConfiguration | null;
      /** The stored outbound message, or `null` when none carries the provider id. */
      message: Message | null;
      event: InboundStatusEvent;
    }
  | {
      type: 'opt_out' | 'opt_in';
      tenant: Tenant;
      waba: WabaConfiguration | null;
      lead: Lead;
      event: InboundConsentEvent;
    };

/** Called once per applied event; a throw makes the webhook answer 5xx so the provider retries. */
export type WabaEventHandler = (event: WabaEvent) => void | Promise<void>;
