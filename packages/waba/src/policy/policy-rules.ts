import { ConfigurationError, type TemplateCategory } from '@leadrelay/core';

/**
 * WhatsApp's window and pricing rules as data. Each rule set applies from its
 * `effectiveFrom` until the next one: when Meta changes a rule, add an entry
 * rather than changing code, and a decision about a past message can still be
 * explained with the rules that were in force then.
 */

/** Where a lead came from when it opened the chat through a free entry point. */
export type EntryPointSource = 'ctwa' | 'page_cta';

export interface MarketingPause {
  /** ISO 3166-1 alpha-2 country of the recipient's number. */
  country: string;
  /** The refusal reason `decideSend` answers with. */
  reason: string;
  /** Why, in one sentence, for the explanation. */
  note: string;
}

export interface PolicyRuleSet {
  /** Stable id recorded with each decision, e.g. `pmp-2025-07`. */
  id: string;
  /** ISO timestamp from which the set applies (read once per rule set object: treat sets as immutable). */
  effectiveFrom: string;
  description: string;
  /** `CBP` (per conversation) or `PMP` (per message). */
  pricingModel: 'CBP' | 'PMP';
  /** How long after a lead's message free-form messages may be sent. */
  serviceWindowMs: number;
  /** The free entry point (Click-to-WhatsApp ads, Page call-to-action), or `null` where none exists. */
  freeEntryPoint: {
    sources: EntryPointSource[];
    /** The business must answer within this long of the entry message… */
    replyWithinMs: number;
    /** …and then everything it sends is free for this long from that answer. */
    durationMs: number;
  } | null;
  /** Free-form (service) messages cost nothing inside the customer service window. */
  serviceMessagesFree: boolean;
  /** Template categories that are free when sent inside an open customer service window. */
  freeTemplateCategoriesInServiceWindow: TemplateCategory[];
  /** Countries whose numbers receive no marketing templates. */
  marketingPauses: MarketingPause[];
}

const HOUR = 60 * 60 * 1000;

const usMarketingPause: MarketingPause = {
  country: 'US',
  reason: 'marketing_paused_us',
  note: 'WhatsApp does not deliver marketing templates to United States (+1) numbers since 1 April 2025',
};

const freeEntryPoint = {
  sources: ['ctwa', 'page_cta'] as EntryPointSource[],
  replyWithinMs: 24 * HOUR,
  durationMs: 72 * HOUR,
};

/**
 * The rule sets LeadRelay ships, oldest first. Pass your own list to
 * `decideSend` (or `createWabaClient({ policyRules })`) to add a change
 * before a release ships it.
 */
export const defaultPolicyRules: readonly PolicyRuleSet[] = Object.freeze([
  {
    id: 'cbp-2024-11',
    effectiveFrom: '2024-11-01T00:00:00Z',
    description:
      'Conversation-based pricing: service conversations free, utility templates free inside an open service window',
    pricingModel: 'CBP',
    serviceWindowMs: 24 * HOUR,
    freeEntryPoint,
    serviceMessagesFree: true,
    freeTemplateCategoriesInServiceWindow: ['UTILITY'],
    marketingPauses: [],
  },
  {
    id: 'cbp-2025-04',
    effectiveFrom: '2025-04-01T00:00:00Z',
    description: 'As cbp-2024-11, and marketing templates to United States numbers paused',
    pricingModel: 'CBP',
    serviceWindowMs: 24 * HOUR,
    freeEntryPoint,
    serviceMessagesFree: true,
    freeTemplateCategoriesInServiceWindow: ['UTILITY'],
    marketingPauses: [usMarketingPause],
  },
  {
    id: 'pmp-2025-07',
    effectiveFrom: '2025-07-01T00:00:00Z',
    description:
      'Per-message pricing: templates billed per delivered message by category; service messages and utility templates inside an open service window free',
    pricingModel: 'PMP',
    serviceWindowMs: 24 * HOUR,
    freeEntryPoint,
    serviceMessagesFree: true,
    freeTemplateCategoriesInServiceWindow: ['UTILITY'],
    marketingPauses: [usMarketingPause],
  },
]);

/**
 * The rule set in force at `at`: the one with the latest `effectiveFrom` not
 * after it (the earliest set for instants before every set).
 *
 * @example ruleSetAt(new Date('2025-08-01T00:00:00Z')).id // 'pmp-2025-07'
 */
export function ruleSetAt(at: Date, rules: readonly PolicyRuleSet[] = defaultPolicyRules): PolicyRuleSet {
  if (rules.length === 0)
    throw new ConfigurationError('At least one policy rule set is required', {
      code: 'policy_rules_invalid',
    });
  let chosen: PolicyRuleSet | undefined;
  let chosenFrom = 0;
  let earliest: PolicyRuleSet = rules[0]!;
  let earliestFrom = effectiveTime(earliest);
  const time = at.getTime();
  for (const set of rules) {
    const from = effectiveTime(set);
    if (from < earliestFrom) {
      earliest = set;
      earliestFrom = from;
    }
    if (from <= time && (!chosen || from >= chosenFrom)) {
      chosen = set;
      chosenFrom = from;
    }
  }
  return chosen ?? earliest;
}

// Every decision looks the rule set up: its date is parsed once per rule set object.
const effectiveTimes = new WeakMap<PolicyRuleSet, number>();

function effectiveTime(set: PolicyRuleSet): number {
  let from = effectiveTimes.get(set);
  if (from === undefined) {
    from = Date.parse(set.effectiveFrom);
    if (Number.isNaN(from))
      throw new ConfigurationError(`Rule set "${set.id}" has an invalid effectiveFrom`, {
        code: 'policy_rules_invalid',
      });
    effectiveTimes.set(set, from);
  }
  return from;
}
