import { type CoreStore, type Lead, phoneCountry, type TemplateCategory } from '@leadrelay/core';
import type { OutboundMessageType } from '../messages/outbound-message.js';
import { decideSend, type PolicyInput, type PricingCategory } from '../policy/decide-send.js';
import type { PolicyRuleSet } from '../policy/policy-rules.js';
import type { TemplateRepository } from '../store/waba-store.js';
import type { TemplateStatus } from '../templates/template.js';
import { readLeadWabaState } from './lead-waba-state.js';

export interface MarketingCap {
  /** Marketing templates one lead may receive… */
  max: number;
  /** …within this many milliseconds. */
  periodMs: number;
}

export interface PolicySettings {
  rules: readonly PolicyRuleSet[];
  marketingCap: MarketingCap | null;
}

/** A template that the policy would let through now, offered when a send is refused. */
export interface SuggestedTemplate {
  name: string;
  language: string;
  category: TemplateCategory;
  pricingCategory: PricingCategory;
  billable: boolean;
}

interface PolicyContextArgs {
  store: Pick<CoreStore, 'templateUsage'>;
  settings: PolicySettings;
  clientAccountId: string;
  lead: Lead | null;
  to: string;
  kind: OutboundMessageType;
  template: { name: string; category: TemplateCategory; status: TemplateStatus } | null;
  now: Date;
  /** Country lookup for `to`; default `phoneCountry`. */
  countryOf?: (e164: string) => string | undefined;
}

async function recentMarketingSends(
  store: Pick<CoreStore, 'templateUsage'>,
  clientAccountId: string,
  leadId: string,
  cap: MarketingCap,
  now: Date,
): Promise<number> {
  const since = new Date(now.getTime() - cap.periodMs);
  let count = 0;
  let cursor: string | null = null;
  do {
    const page = await store.templateUsage.list(clientAccountId, { leadId, since, limit: 100, cursor });
    count += page.items.filter((r) => r.status === 'sent' && r.category === 'MARKETING').length;
    cursor = count > cap.max ? null : page.nextCursor;
  } while (cursor);
  return count;
}

/**
 * Gathers what `decideSend` needs about a lead and a message: the window and
 * entry point, consent, the recipient's country and, for marketing
 * templates under a cap, how many went out in the cap's period.
 *
 * @example const decision = decideSend(await policyInputFor({ store, settings, clientAccountId, lead, to, kind: 'text', template: null, now }));
 */
export async function policyInputFor(args: PolicyContextArgs): Promise<PolicyInput> {
  const { lead, settings, template } = args;
  const state = lead ? readLeadWabaState(lead) : { entryPoint: null, marketingOptedOut: false };
  const cap = settings.marketingCap;
  const countMarketing = cap !== null && lead !== null && template?.category === 'MARKETING';
  return {
    now: args.now,
    kind: args.kind,
    template,
    lastInboundAt: lead?.lastInboundAt ?? null,
    entryPoint: state.entryPoint,
    recipientCountry: (args.countryOf ?? phoneCountry)(args.to) ?? null,
    optedOut: lead?.optedOut ?? false,
    marketingOptedOut: state.marketingOptedOut,
    recentMarketingSends: countMarketing
      ? await recentMarketingSends(args.store, args.clientAccountId, lead.id, cap, args.now)
      : 0,
    marketingCap: cap?.max ?? null,
    rules: settings.rules,
  };
}

const PREFERENCE: TemplateCategory[] = ['UTILITY', 'MARKETING'];

/**
 * The tenant's approved template the policy would allow right now for this
 * lead, utility before marketing (authentication templates carry codes and
 * are never offered), or `null`.
 *
 * @example const suggestion = await suggestTemplate({ … , templates: wabaStore.templates });
 */
export async function suggestTemplate(
  args: Omit<PolicyContextArgs, 'kind' | 'template'> & { templates: TemplateRepository; language?: string },
): Promise<SuggestedTemplate | null> {
  const approved = (await args.templates.list(args.clientAccountId, { status: 'APPROVED' }))
    .filter((t) => PREFERENCE.includes(t.category))
    .sort(
      (a, b) =>
        PREFERENCE.indexOf(a.category) - PREFERENCE.indexOf(b.category) ||
        Number(b.language === args.language) - Number(a.language === args.language),
    );
  let marketingInput: PolicyInput | null = null;
  for (const template of approved) {
    let input: PolicyInput;
    if (template.category !== 'MARKETING')
      input = await policyInputFor({ ...args, kind: 'template', template });
    else {
      // Counting recent marketing sends is a query: once for all marketing candidates.
      marketingInput = marketingInput ?? (await policyInputFor({ ...args, kind: 'template', template }));
      input = marketingInput;
    }
    const decision = decideSend({ ...input, template });
    if (decision.allowed) {
      return {
        name: template.name,
        language: template.language,
        category: template.category,
        pricingCategory: decision.pricingCategory!,
        billable: decision.billable!,
      };
    }
  }
  return null;
}
