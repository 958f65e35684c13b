import { ValidationError } from '@leadrelay/core';
import type {
  TemplateButtonParam,
  TemplateLocation,
  TemplateMedia,
  TemplateParameters,
  TemplateTextParams,
} from '../messages/outbound-message.js';
import type { TemplateParameterSpec, WabaTemplate, WabaTemplateRecord } from './template.js';

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

/** A named value for one placeholder. */
export interface TemplateValue {
  name: string;
  value: string;
}

/** Parameters checked against a template and put in its placeholder order: what providers send. */
export interface ResolvedTemplateParameters {
  format: 'positional' | 'named';
  header:
    | { kind: 'text'; values: TemplateValue[] }
    | { kind: 'media'; media: TemplateMedia }
    | { kind: 'location'; location: TemplateLocation }
    | null;
  body: TemplateValue[];
  buttons: TemplateButtonParam[];
}

type TemplateTexts = Pick<WabaTemplateRecord, 'name' | 'header' | 'bodyText' | 'buttons'>;

/** Placeholder names in order of first appearance. */
function placeholders(text: string): string[] {
  const names: string[] = [];
  for (const match of text.matchAll(PLACEHOLDER)) {
    const name = match[1]!;
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

/**
 * The parameters a template takes, read from its header, body and button
 * texts. Throws a `ValidationError` for a template WhatsApp would not
 * approve: positional and named placeholders mixed, or positional ones not
 * numbered 1…n.
 *
 * @example
 * templateParameterSpec({ name: 'welcome', header: null, bodyText: 'Hi {{1}}, about {{2}}', buttons: [] }).body
 * // ['1', '2']
 */
export function templateParameterSpec(template: TemplateTexts): TemplateParameterSpec {
  const header = template.header?.format === 'TEXT' ? placeholders(template.header.text) : [];
  const body = placeholders(template.bodyText);
  const all = [...header, ...body];
  const numeric = all.filter((n) => /^\d+$/.test(n));
  if (numeric.length > 0 && numeric.length < all.length) {
    throw invalidTemplate(template.name, 'mixes positional ({{1}}) and named ({{name}}) placeholders');
  }
  const format = numeric.length > 0 || all.length === 0 ? 'positional' : 'named';
  if (format === 'positional') {
    for (const [part, names] of [
      ['header', header],
      ['body', body],
    ] as const) {
      const sorted = [...names].map(Number).sort((a, b) => a - b);
      if (sorted.some((n, i) => n !== i + 1)) {
        throw invalidTemplate(template.name, `numbers its ${part} placeholders ${names.join(', ')}; use 1…n`);
      }
      names.sort((a, b) => Number(a) - Number(b));
    }
  }
  const headerMedia =
    template.header && template.header.format !== 'TEXT'
      ? (template.header.format.toLowerCase() as TemplateParameterSpec['headerMedia'])
      : null;
  const buttons = template.buttons.flatMap((button, index) =>
    button.type === 'URL' && placeholders(button.url).length > 0 ? [{ index, type: 'url' as const }] : [],
  );
  return { format, header, headerMedia, body, buttons };
}

const specCache = new Map<string, TemplateParameterSpec>();

/**
 * `templateParameterSpec`, remembered by the texts it is read from: every
 * send and render of a template needs it, and reading it means scanning and
 * sorting placeholders. The cached spec is shared, so it is frozen.
 */
function cachedSpec(template: TemplateTexts): TemplateParameterSpec {
  const header = template.header;
  let key = `${template.name}\u0000${header ? (header.format === 'TEXT' ? `T${header.text}` : header.format) : ''}\u0000${template.bodyText}`;
  for (const button of template.buttons) key += `\u0000${button.type === 'URL' ? button.url : button.type}`;
  let spec = specCache.get(key);
  if (!spec) {
    const read = templateParameterSpec(template);
    spec = Object.freeze({
      ...read,
      header: Object.freeze(read.header) as string[],
      body: Object.freeze(read.body) as string[],
      buttons: Object.freeze(read.buttons.map((b) => Object.freeze(b))) as TemplateParameterSpec['buttons'],
    });
    // Bounded: a process that sees many distinct template texts keeps only the recent ones.
    if (specCache.size >= 1000) specCache.clear();
    specCache.set(key, spec);
  }
  return spec;
}

function invalidTemplate(name: string, problem: string): ValidationError {
  return new ValidationError(`Template "${name}" ${problem}`, {
    code: 'template_invalid',
    details: { template: name },
  });
}

function parameterError(
  code:
    | 'template_parameter_missing'
    | 'template_parameter_unexpected'
    | 'template_parameter_empty'
    | 'template_parameter_invalid',
  template: string,
  parameter: string,
  problem: string,
): ValidationError {
  return new ValidationError(`Template "${template}" parameter "${parameter}" ${problem}`, {
    code,
    details: { template, parameter },
    issues: [{ path: parameter.split('.'), message: problem }],
  });
}

function resolveText(
  template: string,
  part: 'header' | 'body',
  names: string[],
  given: TemplateTextParams | undefined,
): TemplateValue[] {
  let byName: Map<string, string>;
  if (given === undefined) byName = new Map();
  else if (Array.isArray(given)) {
    if (given.length > names.length) {
      throw parameterError(
        'template_parameter_unexpected',
        template,
        `${part}.${given.length}`,
        `is not in the template (it takes ${names.length} ${part} parameter(s))`,
      );
    }
    // Positional values are already in placeholder order.
    return names.map((name, i) => checkedValue(template, part, name, given[i]));
  } else {
    byName = new Map(Object.entries(given));
    for (const key of byName.keys()) {
      if (!names.includes(key)) {
        throw parameterError(
          'template_parameter_unexpected',
          template,
          `${part}.${key}`,
          `is not in the template (${part} placeholders: ${names.join(', ') || 'none'})`,
        );
      }
    }
  }
  return names.map((name) => checkedValue(template, part, name, byName.get(name)));
}

function checkedValue(
  template: string,
  part: 'header' | 'body',
  name: string,
  value: string | undefined,
): TemplateValue {
  if (value === undefined) {
    throw parameterError('template_parameter_missing', template, `${part}.${name}`, 'is required');
  }
  if (value.trim() === '') {
    throw parameterError('template_parameter_empty', template, `${part}.${name}`, 'must not be empty');
  }
  // WhatsApp rejects such values (error 132000 family): catch them before the network does.
  if (/[\n\t]|\s{5,}/.test(value)) {
    throw parameterError(
      'template_parameter_invalid',
      template,
      `${part}.${name}`,
      'must not contain new lines, tabs or more than four consecutive spaces',
    );
  }
  return { name, value };
}

/**
 * Checks `params` against the template (missing, unexpected, empty or
 * malformed values throw a `ValidationError` naming the template and the
 * parameter, e.g. code `template_parameter_missing`, details
 * `{ template: 'welcome_lead', parameter: 'body.2' }`) and returns them in
 * placeholder order.
 *
 * @example
 * resolveTemplateParameters(template, { body: ['Priya', 'Baner'] }).body
 * // [{ name: '1', value: 'Priya' }, { name: '2', value: 'Baner' }]
 */
export function resolveTemplateParameters(
  template: TemplateTexts | WabaTemplate,
  params: TemplateParameters = {},
): ResolvedTemplateParameters {
  const spec = cachedSpec(template);
  const name = template.name;

  let header: ResolvedTemplateParameters['header'] = null;
  const givenHeader = params.header;
  if (spec.headerMedia) {
    const media = givenHeader;
    if (media === undefined) {
      throw parameterError('template_parameter_missing', name, 'header', `needs a ${spec.headerMedia}`);
    }
    if (Array.isArray(media) || typeof media.type !== 'string' || media.type !== spec.headerMedia) {
      throw parameterError('template_parameter_invalid', name, 'header', `must be a ${spec.headerMedia}`);
    }
    header =
      media.type === 'location'
        ? { kind: 'location', location: media as TemplateLocation }
        : { kind: 'media', media: media as TemplateMedia };
  } else if (givenHeader !== undefined && !isTextParams(givenHeader)) {
    throw parameterError('template_parameter_unexpected', name, 'header', 'the template has no media header');
  } else if (spec.header.length > 0 || givenHeader !== undefined) {
    header = {
      kind: 'text',
      values: resolveText(name, 'header', spec.header, givenHeader as TemplateTextParams),
    };
    if (header.values.length === 0) header = null;
  }

  const body = resolveText(name, 'body', spec.body, params.body);

  const buttons = params.buttons ?? [];
  for (const button of buttons) {
    const expected = template.buttons[button.index];
    const where = `buttons.${button.index}`;
    if (!expected) {
      throw parameterError('template_parameter_unexpected', name, where, 'the template has no such button');
    }
    const takesValue =
      (expected.type === 'URL' &&
        spec.buttons.some((b) => b.index === button.index) &&
        button.type === 'url') ||
      (expected.type === 'QUICK_REPLY' && button.type === 'quick_reply');
    if (!takesValue) {
      throw parameterError(
        'template_parameter_unexpected',
        name,
        where,
        `a ${expected.type} button takes no ${button.type} parameter`,
      );
    }
    if (button.value.trim() === '')
      throw parameterError('template_parameter_empty', name, where, 'must not be empty');
  }
  for (const required of spec.buttons) {
    if (!buttons.some((b) => b.index === required.index)) {
      throw parameterError(
        'template_parameter_missing',
        name,
        `buttons.${required.index}`,
        'needs the URL suffix for {{1}}',
      );
    }
  }
  const seen = new Set<number>();
  for (const button of buttons) {
    if (seen.has(button.index)) {
      throw parameterError(
        'template_parameter_unexpected',
        name,
        `buttons.${button.index}`,
        'is given twice',
      );
    }
    seen.add(button.index);
  }
  return { format: spec.format, header, body, buttons: [...buttons].sort((a, b) => a.index - b.index) };
}

function isTextParams(value: unknown): value is TemplateTextParams {
  if (Array.isArray(value)) return true;
  return (
    typeof value === 'object' &&
    value !== null &&
    !('type' in value && 'url' in value) &&
    !('latitude' in value)
  );
}

/**
 * Replaces each `{{name}}` in `text` with its value.
 *
 * @example fillPlaceholders('Hi {{1}}', [{ name: '1', value: 'Priya' }]) // 'Hi Priya'
 */
export function fillPlaceholders(text: string, values: TemplateValue[]): string {
  if (values.length === 0) return text;
  const { literals, names, raw } = splitText(text);
  let out = literals[0]!;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    let value: string | undefined;
    for (const v of values) {
      if (v.name === name) {
        value = v.value;
        break;
      }
    }
    out += (value ?? raw[i]!) + literals[i + 1]!;
  }
  return out;
}

interface SplitText {
  /** The text between placeholders: one more than `names`. */
  literals: string[];
  names: string[];
  /** Each placeholder as written, kept when no value is given for it. */
  raw: string[];
}

const splitCache = new Map<string, SplitText>();

/** A template text cut at its placeholders, once per text: every render fills the same few texts. */
function splitText(text: string): SplitText {
  let split = splitCache.get(text);
  if (!split) {
    split = { literals: [], names: [], raw: [] };
    let last = 0;
    for (const match of text.matchAll(PLACEHOLDER)) {
      split.literals.push(text.slice(last, match.index));
      split.names.push(match[1]!);
      split.raw.push(match[0]);
      last = match.index + match[0].length;
    }
    split.literals.push(text.slice(last));
    if (splitCache.size >= 1000) splitCache.clear();
    splitCache.set(text, split);
  }
  return split;
}
