import { isLeadRelayError, ValidationError } from '@leadrelay/core';
import { describe, expect, it } from 'vitest';
import { characterCount, validateOutboundMessage } from './outbound-message.js';

function issuesOf(message: unknown): { path: string; message: string }[] {
  try {
    validateOutboundMessage(message);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  }
  throw new Error('expected the message to be invalid');
}

const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `slot_${i}`, title: `Slot ${i}` }));

describe('validateOutboundMessage', () => {
  it('accepts every kind within the limits', () => {
    const ok = [
      { type: 'text', text: 'Hi Priya 👋', previewUrl: true },
      { type: 'image', url: 'https://cdn.example.com/plan.jpg', caption: 'Floor plan' },
      { type: 'video', url: 'https://cdn.example.com/tour.mp4' },
      { type: 'audio', url: 'https://cdn.example.com/note.ogg' },
      { type: 'document', url: 'https://cdn.example.com/brochure.pdf', filename: 'brochure.pdf' },
      { type: 'location', latitude: 18.559, longitude: 73.7868, name: 'Baner site office' },
      {
        type: 'buttons',
        body: 'When would you like to visit?',
        buttons: [
          { id: 'sat', title: 'Saturday' },
          { id: 'sun', title: 'Sunday' },
          { id: 'later', title: 'Later' },
        ],
        header: 'Site visit',
        footer: 'Acme Realty',
      },
      {
        type: 'list',
        body: 'Pick a slot',
        button: 'Slots',
        sections: [
          { title: 'Saturday', rows: rows(5) },
          {
            title: 'Sunday',
            rows: rows(5).map((r) => ({ ...r, id: `${r.id}_sun`, description: 'Morning' })),
          },
        ],
      },
      { type: 'template', name: 'welcome_lead', language: 'en', parameters: { body: ['Priya'] } },
    ];
    for (const message of ok) expect(validateOutboundMessage(message)).toEqual(message);
  });

  it('counts characters as people do: an emoji is one', () => {
    expect(characterCount('👍🏽')).toBe(2);
    expect(characterCount('नमस्ते')).toBe(6);
    const title = `${'a'.repeat(19)}👍`;
    expect(
      validateOutboundMessage({ type: 'buttons', body: 'b', buttons: [{ id: '1', title }] }),
    ).toBeTruthy();
  });

  it('names each broken limit of reply buttons', () => {
    expect(issuesOf({ type: 'buttons', body: 'x', buttons: [] })[0]!.path).toBe('buttons');
    expect(issuesOf({ type: 'buttons', body: 'x', buttons: rows(4) })[0]!.path).toBe('buttons');
    expect(issuesOf({ type: 'buttons', body: 'x', buttons: [{ id: 'a', title: 'x'.repeat(21) }] })).toEqual([
      { path: 'buttons.0.title', message: 'must have at most 20 characters' },
    ]);
    expect(
      issuesOf({ type: 'buttons', body: 'x', buttons: [{ id: 'a'.repeat(257), title: 'A' }] })[0]!.path,
    ).toBe('buttons.0.id');
    expect(
      issuesOf({
        type: 'buttons',
        body: 'x',
        buttons: [
          { id: 'a', title: 'Yes' },
          { id: 'b', title: 'Yes' },
        ],
      }),
    ).toEqual([{ path: 'buttons.1.title', message: 'button titles must be unique' }]);
    expect(issuesOf({ type: 'buttons', body: 'x'.repeat(1025), buttons: rows(1) })[0]!.path).toBe('body');
    expect(issuesOf({ type: 'buttons', body: 'x', buttons: rows(1), header: 'h'.repeat(61) })[0]!.path).toBe(
      'header',
    );
    expect(issuesOf({ type: 'buttons', body: 'x', buttons: rows(1), footer: 'f'.repeat(61) })[0]!.path).toBe(
      'footer',
    );
  });

  it('names each broken limit of list messages', () => {
    const list = (over: Record<string, unknown>) => ({
      type: 'list',
      body: 'Pick',
      button: 'Slots',
      sections: [{ rows: rows(2) }],
      ...over,
    });
    expect(
      issuesOf(
        list({
          sections: [
            { title: 'A', rows: rows(6) },
            { title: 'B', rows: rows(5).map((r) => ({ ...r, id: `b${r.id}` })) },
          ],
        }),
      ),
    ).toEqual([
      { path: 'sections', message: 'a list holds at most 10 rows in all sections together, got 11' },
    ]);
    expect(issuesOf(list({ button: 'b'.repeat(21) }))[0]!.path).toBe('button');
    expect(issuesOf(list({ sections: [{ rows: [{ id: 'a', title: 't'.repeat(25) }] }] }))[0]!.path).toBe(
      'sections.0.rows.0.title',
    );
    expect(
      issuesOf(list({ sections: [{ rows: [{ id: 'a', title: 't', description: 'd'.repeat(73) }] }] }))[0]!
        .path,
    ).toBe('sections.0.rows.0.description');
    expect(issuesOf(list({ sections: [{ rows: [{ id: 'i'.repeat(201), title: 't' }] }] }))[0]!.path).toBe(
      'sections.0.rows.0.id',
    );
    expect(issuesOf(list({ sections: [{ title: 's'.repeat(25), rows: rows(1) }] }))[0]!.path).toBe(
      'sections.0.title',
    );
    expect(
      issuesOf(list({ sections: [{ rows: rows(1) }, { title: 'B', rows: [{ id: 'x', title: 'X' }] }] })),
    ).toEqual([
      {
        path: 'sections.0.title',
        message: 'every section needs a title when a list has more than one section',
      },
    ]);
    expect(
      issuesOf(
        list({
          sections: [
            {
              rows: [
                { id: 'a', title: 'A' },
                { id: 'a', title: 'B' },
              ],
            },
          ],
        }),
      ),
    ).toEqual([{ path: 'sections.0.rows.1.id', message: 'row ids must be unique' }]);
    expect(issuesOf(list({ sections: [] }))[0]!.path).toBe('sections');
  });

  it('refuses bad text, media and location messages', () => {
    expect(issuesOf({ type: 'text', text: '   ' })[0]!.path).toBe('text');
    expect(issuesOf({ type: 'text', text: 'x'.repeat(4097) })[0]!.path).toBe('text');
    expect(issuesOf({ type: 'image', url: 'ftp://x/y.jpg' })[0]!.message).toBe('must be an http(s) URL');
    expect(issuesOf({ type: 'image', url: 'https://x/y.jpg', caption: 'c'.repeat(1025) })[0]!.path).toBe(
      'caption',
    );
    expect(issuesOf({ type: 'location', latitude: 91, longitude: 0 })[0]!.path).toBe('latitude');
    expect(issuesOf({ type: 'template', name: 'Welcome Lead' })[0]!.path).toBe('name');
    const unknown = issuesOf({ type: 'sticker', url: 'https://x/y.webp' });
    expect(unknown[0]!.path).toBe('type');
  });

  it('throws a LeadRelay ValidationError whose message names the first bad field', () => {
    try {
      validateOutboundMessage({ type: 'buttons', body: 'x', buttons: rows(4) });
    } catch (error) {
      expect(isLeadRelayError(error) && error.status).toBe(400);
      expect((error as Error).message).toMatch(/^Invalid message at buttons/);
    }
  });
});
