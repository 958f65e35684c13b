import { setupServer } from 'msw/node';

/**
 * An msw server for Graph: any request to a host other than the loopback
 * (our own test servers) that no handler answers is an error (msw 3 names
 * the option `onUnhandledFrame`; it was `onUnhandledRequest` before).
 */
export function createGraphServer() {
  const server = setupServer();
  return {
    server,
    listen() {
      server.listen({
        onUnhandledFrame({ frame, defaults }) {
          const request = (frame.data as { request?: Request }).request;
          const host = request ? new URL(request.url).hostname : '';
          if (host === '127.0.0.1' || host === 'localhost') return;
          defaults.error();
        },
      });
    },
  };
}
