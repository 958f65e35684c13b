import { ValidationError } from '@leadrelay/core';
import { describe, expect, it } from 'vitest';
import { renderTemplate } from './render-template.js';
import type { WabaTemplateRecord } from './template.js';
import { fillPlaceholders, resolveTemplateParameters, templateParameterSpec } from './template-parameters.js';

type T = Pick<WabaTemplateRecord, 'name' | 'header' | 'bodyText' | 'footerText' | 'buttons'>;

const welcome: T = {
  name: 'welcome_lead',
  header: { format: 'TEXT', text: 'Welcome {{1}}' },
  bodyText: 'Hi {{1}}, thanks for asking about {{2}}. Reply here or call us at {{3}}.',
  footerText: 'Acme Realty',
  buttons: [
    { type: 'QUICK_REPLY', text: 'Book a visit' },
    { type: 'URL', text: 'See listing', url: 'https://acme.example/listing/{{1}}' },
  ],
};

const named: T = {
  name: 'visit_reminder',
  header: { format: 'IMAGE' },
  bodyText: 'नमस्ते {{first_name}}, your visit to {{project}} is on {{when}}. See you, {{first_name}}!',
  footerText: null,
  buttons: [],
};

function failure(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

describe('templateParameterSpec', () => {
  it('reads positional and named placeholders, media headers and URL buttons', () => {
    expect(templateParameterSpec(welcome)).toEqual({
      format: 'positional',
      header: ['1'],
      headerMedia: null,
      body: ['1', '2', '3'],
      buttons: [{ index: 1, type: 'url' }],
    });
    expect(templateParameterSpec(named)).toEqual({
      format: 'named',
      header: [],
      headerMedia: 'image',
      body: ['first_name', 'project', 'when'],
      buttons: [],
    });
  });

  it('rejects mixed and gapped placeholders', () => {
    expect(failure(() => templateParameterSpec({ ...welcome, bodyText: '{{1}} and {{name}}' })).code).toBe(
      'template_invalid',
    );
    expect(failure(() => templateParameterSpec({ ...welcome, bodyText: '{{2}} only' })).message).toContain(
      '1…n',
    );
  });
});

describe('renderTemplate', () => {
  it('renders the exact text: header, body and footer, one per line', () => {
    const text = renderTemplate(welcome, {
      header: ['Priya'],
      body: ['Priya', 'the 3BHK in Baner', '+91 98123 45678'],
      buttons: [{ index: 1, type: 'url', value: 'baner-3bhk' }],
    });
    expect(text).toBe(
      'Welcome Priya\nHi Priya, thanks for asking about the 3BHK in Baner. Reply here or call us at +91 98123 45678.\nAcme Realty',
    );
  });

  it('fills named placeholders everywhere they appear, from a record or in order', () => {
    const header = { type: 'image' as const, url: 'https://cdn.example.com/site.jpg' };
    const byName = renderTemplate(named, {
      header,
      body: { when: 'Sat 10:00', project: 'Baner Heights', first_name: 'José' },
    });
    expect(byName).toBe('नमस्ते José, your visit to Baner Heights is on Sat 10:00. See you, José!');
    expect(renderTemplate(named, { header, body: ['José', 'Baner Heights', 'Sat 10:00'] })).toBe(byName);
  });

  it('fills a text cut at its placeholders: repeats, spacing inside braces, unknown names kept', () => {
    const text = '{{1}} and {{ 2 }}, again {{1}}; {{3}} stays{{1}}';
    const values = [
      { name: '1', value: 'A' },
      { name: '2', value: 'B' },
    ];
    expect(fillPlaceholders(text, values)).toBe('A and B, again A; {{3}} staysA');
    // The second call reads the cached cut and must give the same answer.
    expect(fillPlaceholders(text, values)).toBe('A and B, again A; {{3}} staysA');
    expect(fillPlaceholders('no placeholders', values)).toBe('no placeholders');
    expect(fillPlaceholders('{{first_name}}', [{ name: 'first_name', value: 'Priya' }])).toBe('Priya');
  });

  it('leaves `$` sequences in values alone', () => {
    const t: T = { name: 'price', header: null, bodyText: 'Price: {{1}}', footerText: null, buttons: [] };
    expect(renderTemplate(t, { body: ['$& $1 ₹1.4 Cr'] })).toBe('Price: $& $1 ₹1.4 Cr');
  });
});

describe('parameter checks name the template and the parameter', () => {
  const ok = {
    header: ['Priya'],
    body: ['Priya', 'Baner', '+91'],
    buttons: [{ index: 1, type: 'url' as const, value: 'x' }],
  };

  it('missing', () => {
    const e = failure(() => resolveTemplateParameters(welcome, { ...ok, body: ['Priya', 'Baner'] }));
    expect(e).toMatchObject({
      code: 'template_parameter_missing',
      details: { template: 'welcome_lead', parameter: 'body.3' },
    });
    expect(e.message).toBe('Template "welcome_lead" parameter "body.3" is required');
    expect(failure(() => resolveTemplateParameters(named, { body: ['a', 'b', 'c'] })).details).toMatchObject({
      parameter: 'header',
    });
    expect(failure(() => resolveTemplateParameters(welcome, { ...ok, buttons: [] })).details).toMatchObject({
      parameter: 'buttons.1',
    });
  });

  it('extra', () => {
    const e = failure(() => resolveTemplateParameters(welcome, { ...ok, body: ['a', 'b', 'c', 'd'] }));
    expect(e).toMatchObject({ code: 'template_parameter_unexpected', details: { parameter: 'body.4' } });
    expect(
      failure(() =>
        resolveTemplateParameters(named, {
          header: { type: 'image', url: 'https://x/y.jpg' },
          body: { first_name: 'a', project: 'b', when: 'c', city: 'd' },
        }),
      ).details,
    ).toMatchObject({ template: 'visit_reminder', parameter: 'body.city' });
    expect(
      failure(() =>
        resolveTemplateParameters(welcome, {
          ...ok,
          buttons: [...ok.buttons, { index: 5, type: 'quick_reply', value: 'x' }],
        }),
      ).code,
    ).toBe('template_parameter_unexpected');
    expect(
      failure(() =>
        resolveTemplateParameters(welcome, {
          ...ok,
          buttons: [{ index: 0, type: 'url', value: 'x' }, ...ok.buttons],
        }),
      ).details,
    ).toMatchObject({
      parameter: 'buttons.0',
    });
  });

  it('empty and malformed', () => {
    expect(
      failure(() => resolveTemplateParameters(welcome, { ...ok, body: ['Priya', '  ', '+91'] })),
    ).toMatchObject({
      code: 'template_parameter_empty',
      details: { parameter: 'body.2' },
    });
    expect(
      failure(() => resolveTemplateParameters(welcome, { ...ok, body: ['Priya', 'a\nb', '+91'] })).code,
    ).toBe('template_parameter_invalid');
    expect(
      failure(() =>
        resolveTemplateParameters(named, {
          header: { type: 'video', url: 'https://x/y.mp4' },
          body: ['a', 'b', 'c'],
        }),
      ).code,
    ).toBe('template_parameter_invalid');
  });

  it('returns values in placeholder order for the providers', () => {
    const resolved = resolveTemplateParameters(welcome, ok);
    expect(resolved.body.map((v) => v.value)).toEqual(['Priya', 'Baner', '+91']);
    expect(resolved.header).toEqual({ kind: 'text', values: [{ name: '1', value: 'Priya' }] });
    expect(resolved.buttons).toEqual([{ index: 1, type: 'url', value: 'x' }]);
  });
});
