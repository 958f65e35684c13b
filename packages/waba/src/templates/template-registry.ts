import { NotFoundError } from '@leadrelay/core';
import type { TemplateParameters } from '../messages/outbound-message.js';
import type { TemplateRepository } from '../store/waba-store.js';
import { renderTemplate } from './render-template.js';
import type { WabaTemplate } from './template.js';

/** The per-tenant template registry: the stored templates plus lookups that throw and rendering. */
export interface TemplateRegistry extends TemplateRepository {
  /** Like `get`, but throws NotFoundError `template_not_found` naming the template. */
  require(clientAccountId: string, name: string, language?: string): Promise<WabaTemplate>;
  /** The exact text the lead would read (`renderTemplate`) for a stored template. */
  render(
    clientAccountId: string,
    name: string,
    params?: TemplateParameters,
    language?: string,
  ): Promise<string>;
}

/** The NotFoundError `template_not_found` naming the template (and language, when one was asked for). */
export function templateNotFound(name: string, language?: string): NotFoundError {
  return new NotFoundError(`Template "${name}"${language ? ` (${language})` : ''} is not registered`, {
    code: 'template_not_found',
    details: { template: name, ...(language ? { language } : {}) },
  });
}

/**
 * @example
 * const templates = createTemplateRegistry(wabaStore.templates);
 * await templates.upsert({ clientAccountId, name: 'welcome_lead', language: 'en', category: 'UTILITY',
 *   bodyText: 'Hi {{1}}, thanks for asking about {{2}}.', providerTemplateId: 'c6aecef6-…' });
 * await templates.render(clientAccountId, 'welcome_lead', { body: ['Priya', 'Baner'] });
 */
export function createTemplateRegistry(repository: TemplateRepository): TemplateRegistry {
  const registry: TemplateRegistry = {
    upsert: (input) => repository.upsert(input),
    get: (clientAccountId, name, language) => repository.get(clientAccountId, name, language),
    list: (clientAccountId, query) => repository.list(clientAccountId, query),
    delete: (clientAccountId, name, language) => repository.delete(clientAccountId, name, language),
    async require(clientAccountId, name, language) {
      const template = await repository.get(clientAccountId, name, language);
      if (!template) throw templateNotFound(name, language);
      return template;
    },
    async render(clientAccountId, name, params, language) {
      return renderTemplate(await registry.require(clientAccountId, name, language), params);
    },
  };
  return registry;
}
