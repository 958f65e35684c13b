import { createHmac } from 'node:crypto';

/**
 * A Graph API error answer in Meta's format.
 *
 * @example graphErrorResponse(190, { subcode: 463 }) // HTTP 400, the token-expired body
 */
export function graphErrorResponse(
  code: number,
  options: { status?: number; subcode?: number; message?: string; type?: string; transient?: boolean } = {},
): Response {
  return Response.json(
    {
      error: {
        message: options.message ?? `(#${code}) Graph API error`,
        type: options.type ?? 'OAuthException',
        code,
        ...(options.subcode !== undefined ? { error_subcode: options.subcode } : {}),
        ...(options.transient ? { is_transient: true } : {}),
        fbtrace_id: 'AbCdEfGhTest',
      },
    },
    { status: options.status ?? (code === 190 ? 400 : code >= 500 ? 500 : 400) },
  );
}

/**
 * Graph's refusal of a request's credentials, or `undefined` when they pass:
 * a missing or invalid page token answers 190 (session expired), a wrong
 * `appsecret_proof` (checked when `appSecret` is given) answers 100.
 */
export function graphCredentialsRefusal(
  url: URL,
  options: { isValidToken: (token: string) => boolean; appSecret?: string },
): Response | undefined {
  const token = url.searchParams.get('access_token');
  if (!token || !options.isValidToken(token)) {
    return graphErrorResponse(190, {
      subcode: 463,
      message: 'Error validating access token: Session has expired.',
    });
  }
  if (options.appSecret !== undefined) {
    const proof = createHmac('sha256', options.appSecret).update(token).digest('hex');
    if (url.searchParams.get('appsecret_proof') !== proof) {
      return graphErrorResponse(100, { message: 'Invalid appsecret_proof provided in the API argument' });
    }
  }
  return undefined;
}

/** Graph's answer for an object id it does not know (code 100, subcode 33). */
export function graphUnknownObjectResponse(id: string): Response {
  return graphErrorResponse(100, {
    message: `Unsupported get request. Object with ID '${id}' does not exist`,
    type: 'GraphMethodException',
    subcode: 33,
  });
}
