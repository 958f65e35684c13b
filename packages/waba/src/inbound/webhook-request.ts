import { errorResponse, type Logger, ValidationError } from '@leadrelay/core';

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The tenant a webhook URL names: the `tenant` query parameter, else the last
 * path segment (`/api/waba/webhook/:clientId`).
 *
 * @example tenantFromUrl(new Request('https://x.example/api/waba/webhook/acme?token=…')) // 'acme'
 */
export function tenantFromUrl(request: Request): string | null {
  const url = new URL(request.url);
  const fromQuery = url.searchParams.get('tenant');
  if (fromQuery) return fromQuery;
  const last = url.pathname.split('/').filter(Boolean).pop();
  return last ? decodeURIComponent(last) : null;
}

/**
 * Parses a webhook body as UTF-8 JSON; anything else is a `ValidationError`
 * (code `json_invalid`), which the handlers answer with 400.
 *
 * @example const payload = parseJsonBody(raw);
 */
export function parseJsonBody(raw: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(raw));
  } catch (error) {
    throw new ValidationError('The body is not valid UTF-8 JSON', { code: 'json_invalid', cause: error });
  }
}

/** The JSON answer of a handled webhook. */
export function okResponse(body: Record<string, unknown>): Response {
  return new Response(JSON.stringify(body), {
    status: 200,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  });
}

/**
 * The error answer of a webhook handler, logged once: a 5xx (the provider
 * will retry) as an error with its cause, a 4xx (bad input) as a warning.
 */
export function webhookFailure(error: unknown, logger: Logger, what: string): Response {
  const response = errorResponse(error);
  if (response.status >= 500) logger.error({ err: error }, `${what} failed`);
  else logger.warn({ status: response.status, code: (error as { code?: string }).code }, `${what} refused`);
  return response;
}
