import type { Clock, CoreStore, Logger, TenantRegistry } from '@leadrelay/core';
import type { BotResponder } from '../bot/bot-responder.js';
import type { ConsentKeywords } from '../inbound/consent-keywords.js';
import type { WabaEventHandler } from '../inbound/waba-event.js';
import type { WabaProvider } from '../providers/provider.js';
import type { RateLimiter } from '../rate-limit/rate-limiter.js';
import type { SendRequest, SendResult } from '../send/send-types.js';
import type { WabaStore } from '../store/waba-store.js';
import type { TemplateRegistry } from '../templates/template-registry.js';
import type { PolicySettings } from './policy-context.js';

/** Everything the client's parts share; built once by `createWabaClient`. */
export interface ClientContext {
  store: CoreStore;
  registry: TenantRegistry;
  wabaStore: WabaStore;
  templates: TemplateRegistry;
  providers: Map<string, WabaProvider>;
  limiter: RateLimiter | null;
  clock: Clock;
  logger: Logger;
  policy: PolicySettings;
  consentKeywords: ConsentKeywords;
  botResponder: BotResponder | null;
  onEvent: WabaEventHandler | null;
  /** Messages the bot reads before answering. */
  conversationLimit: number;
  send(request: SendRequest): Promise<SendResult>;
}
