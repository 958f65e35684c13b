import { type TemplateCategory, ValidationError } from '@leadrelay/core';
import type { OutboundMessageType } from '../messages/outbound-message.js';
import type { TemplateStatus } from '../templates/template.js';
import { defaultPolicyRules, type EntryPointSource, type PolicyRuleSet, ruleSetAt } from './policy-rules.js';

/** How the lead reached the business through a free entry point. */
export interface EntryPoint {
  source: EntryPointSource;
  /** When the lead's entry message (with the ad or Page referral) arrived. */
  at: Date;
  /** When the business first answered it, once it has. */
  qualifyingReplyAt?: Date | null;
}

export interface PolicyInput {
  /** The instant being decided for (a clock, never `new Date()` inside). */
  now: Date;
  /** The message type to send. */
  kind: OutboundMessageType;
  /** Required when `kind` is `template`. */
  template?: { name?: string; category: TemplateCategory; status: TemplateStatus } | null;
  /** When the lead last wrote; `null` when never. */
  lastInboundAt?: Date | null;
  entryPoint?: EntryPoint | null;
  /** ISO country of the recipient's number, e.g. `IN`, `US`. */
  recipientCountry?: string | null;
  /** The lead opted out of all business-initiated messages. */
  optedOut?: boolean;
  /** The lead stopped marketing messages from this business (Cloud API error 131050). */
  marketingOptedOut?: boolean;
  /** Marketing templates sent to this lead within the cap's period. */
  recentMarketingSends?: number;
  /** The most marketing templates one lead may receive within the period; `null` for no cap. */
  marketingCap?: number | null;
  /** Rule sets to choose from; defaults to `defaultPolicyRules`. */
  rules?: readonly PolicyRuleSet[];
}

/** `service` for free-form messages, else the template's category. */
export type PricingCategory = 'service' | 'utility' | 'marketing' | 'authentication';
/** The pricing types WhatsApp reports in statuses. */
export type PricingType = 'regular' | 'free_customer_service' | 'free_entry_point';

/** Reasons a send is allowed. */
export type PolicyAllowReason =
  | 'service_window_open'
  | 'template_in_service_window'
  | 'template_outside_service_window'
  | 'free_entry_point';

/** Reasons a send is refused; a marketing pause's reason comes from its rule set (e.g. `marketing_paused_us`). */
export type PolicyRefusalReason =
  | 'opted_out'
  | 'template_not_approved'
  | 'marketing_opted_out'
  | 'marketing_paused_us'
  | 'marketing_cap_reached'
  | 'window_closed'
  | 'template_required';

export type PolicyReason = PolicyAllowReason | PolicyRefusalReason | (string & {});

export interface PolicyDecision {
  allowed: boolean;
  /** Stable code: the `PolicyError` code when refused. */
  reason: PolicyReason;
  /** One or two sentences for people: why, and until when. */
  explanation: string;
  /** Only an approved template may be sent now. */
  templateRequired: boolean;
  /** What the message is billed as when allowed; `null` when refused. */
  pricingCategory: PricingCategory | null;
  billable: boolean | null;
  pricingType: PricingType | null;
  /** The customer service window (free-form messages allowed) is open now. */
  windowOpen: boolean;
  /** When the window closes (or closed); `null` when the lead never wrote. */
  windowExpiresAt: Date | null;
  /** When the free entry point window ends, while one is open or this send opens one. */
  freeEntryPointExpiresAt: Date | null;
  /** This send is the business's first answer to an entry point and opens its free window. */
  opensFreeEntryPoint: boolean;
  /** The rule set that decided. */
  ruleSetId: string;
  decidedAt: Date;
}

const categoryLabel: Record<TemplateCategory, PricingCategory> = {
  MARKETING: 'marketing',
  UTILITY: 'utility',
  AUTHENTICATION: 'authentication',
};

/**
 * Decides whether a message may be sent now, what it costs and why: the
 * pure heart of the messaging policy (no I/O, no clock of its own). The
 * README's decision table lists every row this function answers.
 *
 * @example
 * const decision = decideSend({
 *   now: new Date('2026-11-25T10:00:00Z'),
 *   kind: 'text',
 *   lastInboundAt: new Date('2026-11-25T09:00:00Z'),
 * });
 * decision.allowed; // true — reason 'service_window_open', free until 2026-11-26T09:00:00Z
 */
export function decideSend(input: PolicyInput): PolicyDecision {
  const now = input.now;
  const rules = ruleSetAt(now, input.rules ?? defaultPolicyRules);
  const isTemplate = input.kind === 'template';
  const template = input.template ?? null;
  if (isTemplate && !template) {
    throw new ValidationError('A template decision needs the template category and status', {
      code: 'template_details_required',
    });
  }

  const lastInboundAt = input.lastInboundAt ?? null;
  const windowExpiresAt = lastInboundAt ? new Date(lastInboundAt.getTime() + rules.serviceWindowMs) : null;
  const windowOpen = windowExpiresAt !== null && now.getTime() < windowExpiresAt.getTime();
  const fep = freeEntryPoint(input.entryPoint ?? null, now, rules);

  const base = {
    windowOpen,
    windowExpiresAt,
    freeEntryPointExpiresAt: fep?.expiresAt ?? null,
    opensFreeEntryPoint: false,
    ruleSetId: rules.id,
    decidedAt: now,
  };
  const refuse = (reason: PolicyReason, explanation: string, templateRequired = false): PolicyDecision => ({
    ...base,
    allowed: false,
    reason,
    explanation,
    templateRequired,
    pricingCategory: null,
    billable: null,
    pricingType: null,
  });
  const windowText = () =>
    windowExpiresAt
      ? windowOpen
        ? `the customer service window is open until ${iso(windowExpiresAt)}`
        : `the customer service window closed at ${iso(windowExpiresAt)}`
      : 'the lead has never written, so no customer service window was opened';

  if (input.optedOut) {
    return refuse(
      'opted_out',
      'The lead opted out of WhatsApp messages from this business; nothing may be sent.',
    );
  }

  if (template) {
    const name = template.name ? `"${template.name}" ` : '';
    if (template.status !== 'APPROVED') {
      return refuse(
        'template_not_approved',
        `Template ${name}is ${template.status}; only APPROVED templates can be sent.`,
        true,
      );
    }
    if (template.category === 'MARKETING') {
      if (input.marketingOptedOut) {
        return refuse(
          'marketing_opted_out',
          'The lead stopped marketing messages from this business; send a utility template or wait for the lead to write.',
          true,
        );
      }
      const country = input.recipientCountry?.toUpperCase();
      const pause = country ? rules.marketingPauses.find((p) => p.country === country) : undefined;
      if (pause) return refuse(pause.reason, `${pause.note}; send a utility template instead.`, true);
      const cap = input.marketingCap ?? null;
      const sent = input.recentMarketingSends ?? 0;
      if (cap !== null && sent >= cap) {
        return refuse(
          'marketing_cap_reached',
          `The lead already received ${sent} marketing template(s) in the cap period (cap ${cap}).`,
          true,
        );
      }
    }
  }

  if (!isTemplate && !windowOpen) {
    const reason = lastInboundAt ? 'window_closed' : 'template_required';
    return refuse(
      reason,
      `Free-form ${input.kind} messages need an open customer service window, and ${windowText()}: send an approved template.`,
      true,
    );
  }

  // Allowed from here: work out the price.
  const pricingCategory: PricingCategory = template ? categoryLabel[template.category] : 'service';
  if (fep) {
    return {
      ...base,
      opensFreeEntryPoint: fep.opens,
      allowed: true,
      reason: 'free_entry_point',
      explanation: `${fep.opens ? 'This answer to the lead’s ad or Page entry opens' : 'The lead came through an ad or Page entry point:'} a free window until ${iso(fep.expiresAt)}; ${isTemplate ? 'templates' : `free-form messages (${windowText()})`} cost nothing.`,
      templateRequired: !windowOpen,
      pricingCategory,
      billable: false,
      pricingType: 'free_entry_point',
    };
  }
  if (!template) {
    return {
      ...base,
      allowed: true,
      reason: 'service_window_open',
      explanation: `Free-form messages are allowed: ${windowText()}.`,
      templateRequired: false,
      pricingCategory,
      billable: !rules.serviceMessagesFree,
      pricingType: rules.serviceMessagesFree ? 'free_customer_service' : 'regular',
    };
  }
  const freeInWindow = windowOpen && rules.freeTemplateCategoriesInServiceWindow.includes(template.category);
  return {
    ...base,
    allowed: true,
    reason: windowOpen ? 'template_in_service_window' : 'template_outside_service_window',
    explanation: `An approved ${template.category} template may be sent; ${windowText()}, so it is ${freeInWindow ? 'free' : 'billed'}.`,
    templateRequired: !windowOpen,
    pricingCategory,
    billable: !freeInWindow,
    pricingType: freeInWindow ? 'free_customer_service' : 'regular',
  };
}

function freeEntryPoint(
  entry: EntryPoint | null,
  now: Date,
  rules: PolicyRuleSet,
): { expiresAt: Date; opens: boolean } | null {
  const fep = rules.freeEntryPoint;
  if (!entry || !fep?.sources.includes(entry.source)) return null;
  const at = entry.at.getTime();
  const reply = entry.qualifyingReplyAt?.getTime();
  if (reply !== undefined) {
    if (reply < at || reply - at > fep.replyWithinMs) return null;
    const expiresAt = reply + fep.durationMs;
    return now.getTime() < expiresAt ? { expiresAt: new Date(expiresAt), opens: false } : null;
  }
  const sinceEntry = now.getTime() - at;
  if (sinceEntry < 0 || sinceEntry > fep.replyWithinMs) return null;
  return { expiresAt: new Date(now.getTime() + fep.durationMs), opens: true };
}

function iso(date: Date): string {
  return date.toISOString();
}
