import { z } from 'zod';
import { agentSchema, createClientSchema, pageSchema, templateSchema } from './admin-api.js';
import { websiteLeadSchema } from './website-intake.js';

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });

const errorBody = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} },
    },
  },
};

const created = (description: string) => ({
  '201': {
    description,
    content: {
      'application/json': {
        schema: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
      },
    },
  },
  '400': {
    description: 'The body is invalid; the error names the field',
    content: { 'application/json': { schema: errorBody } },
  },
  '401': {
    description: 'The admin token is missing or wrong',
    content: { 'application/json': { schema: errorBody } },
  },
  '404': { description: 'No such client', content: { 'application/json': { schema: errorBody } } },
});

const body = (s: z.ZodType) => ({ required: true, content: { 'application/json': { schema: schema(s) } } });
const clientId = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const admin = [{ adminToken: [] }];

/** The OpenAPI 3.1 description of the routes `createLeadRelay` serves, generated from their zod schemas. */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: { title: 'LeadRelay', version: '0.1.0', description: 'Admin API, lead intake and webhooks.' },
    components: {
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' },
        intakeKey: { type: 'http', scheme: 'bearer', description: "The client's website intake key" },
      },
      schemas: { Error: errorBody },
    },
    paths: {
      '/api/admin/clients': {
        post: {
          summary: 'Onboard a client business',
          security: admin,
          requestBody: body(createClientSchema),
          responses: created('The client, with a generated intake key and webhook token shown once'),
        },
        get: {
          summary: 'List clients without secrets',
          security: admin,
          responses: { '200': { description: '`{ items: [...] }`' } },
        },
      },
      '/api/admin/clients/{id}/pages': {
        post: {
          summary: 'Register a Facebook page',
          security: admin,
          parameters: [clientId],
          requestBody: body(pageSchema),
          responses: created('The page'),
        },
      },
      '/api/admin/clients/{id}/templates': {
        post: {
          summary: 'Register a WhatsApp template',
          security: admin,
          parameters: [clientId],
          requestBody: body(templateSchema),
          responses: created('The template'),
        },
      },
      '/api/admin/clients/{id}/campaigns': {
        post: {
          summary: 'Create a follow-up campaign (the follow-ups campaign schema)',
          security: admin,
          parameters: [clientId],
          responses: created('The campaign'),
        },
      },
      '/api/admin/clients/{id}/agents': {
        post: {
          summary: 'Create an agent',
          security: admin,
          parameters: [clientId],
          requestBody: body(agentSchema),
          responses: created('The agent'),
        },
      },
      '/api/leads/{id}': {
        post: {
          summary: 'A website or referral lead',
          security: [{ intakeKey: [] }],
          parameters: [clientId],
          requestBody: body(websiteLeadSchema),
          responses: {
            '201': { description: 'A new lead' },
            '200': { description: 'Merged into the lead with that phone' },
            '401': { description: 'Wrong intake key' },
          },
        },
      },
      '/api/meta/webhook/{id}': {
        get: {
          summary: "Meta's subscription handshake",
          parameters: [clientId],
          responses: {
            '200': { description: 'The challenge' },
            '403': { description: 'Wrong verify token' },
          },
        },
        post: {
          summary: 'Lead Ads webhook, signed with X-Hub-Signature-256',
          parameters: [clientId],
          responses: { '200': { description: 'Recorded' }, '401': { description: 'Bad signature' } },
        },
      },
      '/api/waba/webhook/{id}': {
        get: {
          summary: 'Cloud API subscription handshake',
          parameters: [clientId],
          responses: { '200': { description: 'The challenge' } },
        },
        post: {
          summary: 'WhatsApp messages and statuses (Cloud API signed, or Gupshup with ?token=)',
          parameters: [clientId],
          responses: { '200': { description: 'Recorded' }, '401': { description: 'Bad signature or token' } },
        },
      },
      '/healthz': { get: { summary: 'Liveness', responses: { '200': { description: 'ok' } } } },
      '/readyz': {
        get: {
          summary: 'Readiness (database)',
          responses: { '200': { description: 'ready' }, '503': { description: 'unavailable' } },
        },
      },
    },
  };
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

/** A page that lists the document's routes, with their request schemas; no script, no CDN. */
export function docsPage(document: Record<string, unknown>): string {
  const paths = document.paths as Record<
    string,
    Record<string, { summary?: string; requestBody?: { content: Record<string, { schema: unknown }> } }>
  >;
  const sections = Object.entries(paths).flatMap(([path, operations]) =>
    Object.entries(operations).map(([method, op]) => {
      const schemaText = op.requestBody
        ? JSON.stringify(op.requestBody.content['application/json']?.schema, null, 2)
        : null;
      return `<section><h2><code>${method.toUpperCase()} ${escapeHtml(path)}</code></h2><p>${escapeHtml(op.summary ?? '')}</p>${
        schemaText
          ? `<details><summary>Request body</summary><pre>${escapeHtml(schemaText)}</pre></details>`
          : ''
      }</section>`;
    }),
  );
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>LeadRelay API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}h2{font-size:1rem;margin:1.5rem 0 .25rem}pre{background:#f4f4f4;padding:.75rem;overflow:auto}</style>
</head><body><h1>LeadRelay API</h1><p>The machine-readable description is at <a href="/openapi.json">/openapi.json</a>.</p>${sections.join('\n')}</body></html>`;
}
