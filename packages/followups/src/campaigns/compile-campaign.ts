import { type CompiledCondition, compileCondition } from '../conditions/compile-condition.js';
import type { LeadSnapshot } from '../conditions/lead-snapshot.js';
import { type Duration, parseDuration } from '../time/duration.js';
import type { CampaignDefinition, ParameterValue, TemplateSpec } from './campaign.js';
import type { FollowUpMessage } from './follow-up-message.js';
import { compileTextTemplate, stringifyValue } from './text-template.js';

/** A step's message rendered for one snapshot: what to send inside the window and outside it. */
export interface RenderedStep {
  /** Free text or a template, as the step says. */
  primary: FollowUpMessage;
  /** For a text step: the template to send when the window is closed (null: skip instead). */
  fallback: Extract<FollowUpMessage, { type: 'template' }> | null;
}

export interface CompiledStep {
  id: string;
  index: number;
  delay: Duration;
  condition: CompiledCondition | null;
  render(snapshot: LeadSnapshot): RenderedStep;
}

/** A campaign version prepared for evaluation: conditions compiled, durations parsed. */
export interface CompiledCampaign {
  id: string;
  version: number;
  definition: CampaignDefinition;
  trigger: CompiledCondition | null;
  /** `no_reply` wait before the first step's delay. */
  triggerAfter: Duration | null;
  reentryCooldown: Duration | null;
  steps: CompiledStep[];
  stepById: ReadonlyMap<string, CompiledStep>;
}

/**
 * Compiles a campaign version once: conditions become closure trees,
 * durations are parsed, placeholders and template parameters are prepared.
 *
 * @example const compiled = compileCampaign({ id: c.id, version: c.version, ...campaignDefinition(c) });
 */
export function compileCampaign(
  campaign: CampaignDefinition & { id: string; version: number },
): CompiledCampaign {
  const steps = campaign.steps.map((step, index): CompiledStep => {
    const render = compileStepMessage(step.message);
    return {
      id: step.id,
      index,
      delay: parseDuration(step.delay),
      condition: step.condition === undefined ? null : compileCondition(step.condition),
      render,
    };
  });
  return {
    id: campaign.id,
    version: campaign.version,
    definition: campaign,
    trigger: campaign.trigger.condition === undefined ? null : compileCondition(campaign.trigger.condition),
    triggerAfter: campaign.trigger.after ? parseDuration(campaign.trigger.after) : null,
    reentryCooldown: campaign.reentry.cooldown ? parseDuration(campaign.reentry.cooldown) : null,
    steps,
    stepById: new Map(steps.map((s) => [s.id, s])),
  };
}

type TemplateMessage = Extract<FollowUpMessage, { type: 'template' }>;

function compileTemplate(spec: Omit<TemplateSpec, 'type'>): (s: LeadSnapshot) => TemplateMessage {
  const body = spec.parameters?.body;
  const base = {
    type: 'template' as const,
    name: spec.name,
    ...(spec.language ? { language: spec.language } : {}),
  };
  if (body === undefined) return () => ({ ...base });
  if (Array.isArray(body)) {
    const values = body.map(compileParameter);
    return (s) => ({ ...base, parameters: { body: values.map((v) => v(s)) } });
  }
  const entries = Object.entries(body).map(([k, v]) => [k, compileParameter(v)] as const);
  return (s) => ({ ...base, parameters: { body: Object.fromEntries(entries.map(([k, v]) => [k, v(s)])) } });
}

function compileParameter(value: ParameterValue): (s: LeadSnapshot) => string {
  if (value === null || typeof value !== 'object') {
    const text = stringifyValue(value);
    return () => text;
  }
  const expr = compileCondition(value);
  return (s) => stringifyValue(expr.evaluate(s));
}

function compileStepMessage(message: CampaignDefinition['steps'][number]['message']): CompiledStep['render'] {
  if (message.type === 'template') {
    const render = compileTemplate(message);
    return (s) => ({ primary: render(s), fallback: null });
  }
  const text = compileTextTemplate(message.text);
  const fallback = message.fallbackTemplate ? compileTemplate(message.fallbackTemplate) : null;
  return (s) => ({ primary: { type: 'text', text: text(s) }, fallback: fallback ? fallback(s) : null });
}
