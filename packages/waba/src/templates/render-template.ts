import type { TemplateParameters } from '../messages/outbound-message.js';
import type { WabaTemplate, WabaTemplateRecord } from './template.js';
import {
  fillPlaceholders,
  type ResolvedTemplateParameters,
  resolveTemplateParameters,
} from './template-parameters.js';

type RenderableTemplate = Pick<WabaTemplateRecord, 'name' | 'header' | 'bodyText' | 'footerText' | 'buttons'>;

/**
 * The text a lead reads for a template with these parameters: the text
 * header (if any), the body and the footer (if any), one per line. Media
 * headers and buttons are not text and are left out. Parameters are checked
 * first, exactly as `send` checks them, so a render never shows a `{{1}}`.
 *
 * @example
 * renderTemplate(
 *   { name: 'welcome_lead', header: null, bodyText: 'Hi {{1}}, thanks for asking about {{2}}.', footerText: 'Acme Realty', buttons: [] },
 *   { body: ['Priya', 'the 3BHK in Baner'] },
 * );
 * // 'Hi Priya, thanks for asking about the 3BHK in Baner.\nAcme Realty'
 */
export function renderTemplate(
  template: RenderableTemplate | WabaTemplate,
  params: TemplateParameters = {},
): string {
  return renderResolvedTemplate(template, resolveTemplateParameters(template, params));
}

/**
 * `renderTemplate` for parameters already checked with `resolveTemplateParameters`.
 *
 * @example renderResolvedTemplate(template, resolveTemplateParameters(template, { body: ['Priya'] }))
 */
export function renderResolvedTemplate(
  template: RenderableTemplate | WabaTemplate,
  resolved: ResolvedTemplateParameters,
): string {
  const lines: string[] = [];
  if (template.header?.format === 'TEXT') {
    lines.push(
      fillPlaceholders(template.header.text, resolved.header?.kind === 'text' ? resolved.header.values : []),
    );
  }
  lines.push(fillPlaceholders(template.bodyText, resolved.body));
  if (template.footerText) lines.push(template.footerText);
  return lines.join('\n');
}
