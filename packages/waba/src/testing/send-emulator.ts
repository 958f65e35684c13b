import { setTimeout as wait } from 'node:timers/promises';
import type { Logger } from '@leadrelay/core';
import {
  type EmulatorFault,
  type EmulatorServer,
  faultResponse,
  postCallback,
  startEmulatorServer,
} from '@leadrelay/core/testing';
import { MOCK_FAILURES, type MockFailure, providerFailureResponse } from './provider-failure-response.js';

export type { EmulatorFault } from '@leadrelay/core/testing';

/** A request's headers as a plain record (names lower-case), as mocks and emulators record them. */
export function headersOf(request: Request): Record<string, string> {
  const out: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

/** A user's answer to an interactive message: a pressed reply button or a chosen list row. */
export interface InboundReply {
  id: string;
  title: string;
  /** Default `button_reply`. */
  kind?: 'button_reply' | 'list_reply';
  description?: string;
}

/** An `InboundReply` as the payload builders take it. */
export function replyFields(reply: InboundReply) {
  return {
    replyId: reply.id,
    title: reply.title,
    ...(reply.kind ? { kind: reply.kind } : {}),
    ...(reply.description ? { description: reply.description } : {}),
  };
}

/** Options both WhatsApp provider emulators take. */
export interface SendEmulatorOptions {
  /** Default 0: any free port. */
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Every line carries `emulation: 'gupshup'` or `'cloud_api'`. */
  logger?: Logger;
  /** Delay before every answer, in ms. */
  delayMs?: number;
  /** `Retry-After` seconds on a rate-limit failure. Default 1. */
  retryAfterSeconds?: number;
}

/** What both emulators record of each send they receive. */
export interface EmulatedSendBase {
  path: string;
  receivedAt: Date;
  /** Header names lower-case. */
  headers: Record<string, string>;
  /** The recipient, digits as sent. */
  to: string;
  /** The message type as sent (`text`, `template`, `image`, `quick_reply`, `interactive`, …). */
  type: string;
  /** The text the user reads: a text body, an interactive body or a caption. */
  text: string | null;
  /** The HTTP status answered, or `null` when the connection was dropped. */
  status: number | null;
  /** The id answered to an accepted send. */
  messageId: string | null;
}

/** A delivery status an emulator posts back, with a failure's code when `failed`. */
export interface StatusDeliveryOptions<Status extends string> {
  webhookUrl: string;
  /** The accepted sends to report on; default every accepted send. */
  messageIds?: readonly string[];
  /** Posted in this order for each message. Default `sent`, `delivered`, `read`. */
  statuses?: readonly Status[];
  /** With a `failed` status: the provider's error code and text. */
  failure?: { code: number; reason?: string };
}

/** Status callbacks posted by themselves after each accepted send. */
export type AutoStatuses<Delivery, Status extends string> = Delivery &
  Omit<StatusDeliveryOptions<Status>, 'messageIds'> & {
    /** Wait after the answer to the send, in ms. Default 200. */
    afterMs?: number;
  };

/** One callback an emulator posted and the receiver's answer. */
export interface CallbackDelivery {
  messageId: string | null;
  kind: string;
  /** The receiver's HTTP status. */
  httpStatus: number;
  body: string;
}

/** A callback ready to post: where, what and with which headers. */
export interface CallbackRequest {
  url: string;
  body: string;
  headers?: Record<string, string>;
}

/** The provider-specific part of an emulator: reading a send and writing answers and callbacks. */
export interface SendEmulatorSpec<Send extends EmulatedSendBase, Status extends string, Delivery> {
  emulation: 'gupshup' | 'cloud_api';
  /**
   * Reads a request: the send it carries (recorded) and, when the provider
   * would refuse it (bad key, missing field), the refusal; or only a refusal
   * for a request that is no send at all (not recorded).
   */
  read(request: Request): Promise<{ send: Send; refusal?: Response } | { refusal: Response }>;
  /** The answer to an accepted send; sets `send.messageId`. */
  accept(send: Send): Response;
  statusCallback(
    send: Send,
    status: Status,
    options: Delivery & StatusDeliveryOptions<Status>,
  ): CallbackRequest;
}

export interface SendEmulator<Send extends EmulatedSendBase, Status extends string, Delivery> {
  /** Base URL for the provider's `baseUrl` option. */
  readonly url: string;
  /** Every send received, refused or dropped ones included, in arrival order. */
  readonly sent: Send[];
  /** The next request(s) meet this fault; faults queue up in order. */
  failNext(fault: EmulatorFault<MockFailure>): void;
  clearFaults(): void;
  /** Forgets what was sent and any queued fault. */
  reset(): void;
  /** Posts status callbacks for accepted sends, one at a time, in order; resolves with the receiver's answers. */
  deliverStatuses(options: Delivery & StatusDeliveryOptions<Status>): Promise<CallbackDelivery[]>;
  /** Cancels callbacks in flight and stops the server. */
  close(): Promise<void>;
}

/** The running emulator and the server under it, for the provider's own additions (`inbound`). */
export interface StartedSendEmulator<Send extends EmulatedSendBase, Status extends string, Delivery> {
  emulator: SendEmulator<Send, Status, Delivery>;
  server: EmulatorServer;
  /** Posts one callback and logs it. */
  post(kind: string, messageId: string | null, callback: CallbackRequest): Promise<CallbackDelivery>;
}

/**
 * The part the Gupshup and Cloud API emulators share: recording, faults,
 * the answer to each send and status callbacks; the spec translates to the
 * provider's wire format.
 */
export async function startSendEmulator<Send extends EmulatedSendBase, Status extends string, Delivery>(
  spec: SendEmulatorSpec<Send, Status, Delivery>,
  options: SendEmulatorOptions & { autoStatuses?: AutoStatuses<Delivery, Status> },
): Promise<StartedSendEmulator<Send, Status, Delivery>> {
  const sent: Send[] = [];
  const retryAfter = options.retryAfterSeconds ?? 1;
  let server: EmulatorServer | undefined;

  const post = async (kind: string, messageId: string | null, callback: CallbackRequest) => {
    const answer = await postCallback(server!.logger, {
      ...callback,
      what: kind,
      signal: server!.signal,
    });
    return { messageId, kind, httpStatus: answer.status, body: answer.body };
  };

  const deliver = async (
    sends: Send[],
    delivery: Delivery & StatusDeliveryOptions<Status>,
  ): Promise<CallbackDelivery[]> => {
    const statuses = delivery.statuses ?? (['sent', 'delivered', 'read'] as unknown as Status[]);
    const out: CallbackDelivery[] = [];
    for (const send of sends) {
      for (const status of statuses) {
        out.push(await post(`status:${status}`, send.messageId, spec.statusCallback(send, status, delivery)));
      }
    }
    return out;
  };

  const handle = async (request: Request, fault: EmulatorFault | undefined): Promise<Response> => {
    const read = await spec.read(request);
    if (!('send' in read)) return read.refusal;
    const { send } = read;
    sent.push(send);
    let response: Response;
    if (fault?.status !== undefined) response = faultResponse(fault);
    else if (fault?.failure !== undefined) {
      response = providerFailureResponse(spec.emulation, fault.failure as MockFailure, retryAfter);
    } else if (read.refusal) response = read.refusal;
    // A dropped send is not accepted: no message id, no statuses.
    else if (fault?.drop) response = new Response(null, { status: 502 });
    else {
      response = spec.accept(send);
      const auto = options.autoStatuses;
      if (auto) {
        server!.background(async (signal) => {
          // After the (possibly slowed) answer has gone out, as a provider reports on a message it accepted.
          const answerDelayMs = (options.delayMs ?? 0) + (fault?.delayMs ?? 0);
          await wait(answerDelayMs + (auto.afterMs ?? 200), undefined, { signal });
          await deliver([send], auto);
        });
      }
    }
    send.status = fault?.drop ? null : response.status;
    return response;
  };

  server = await startEmulatorServer({
    emulation: spec.emulation,
    failures: MOCK_FAILURES,
    handle,
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.delayMs !== undefined ? { delayMs: options.delayMs } : {}),
  });
  const running = server;

  const emulator: SendEmulator<Send, Status, Delivery> = {
    url: running.url,
    sent,
    failNext: (fault) => running.failNext(fault),
    clearFaults: () => running.clearFaults(),
    reset() {
      sent.length = 0;
      running.clearFaults();
    },
    deliverStatuses(delivery) {
      const accepted = sent.filter(
        (s) =>
          s.messageId !== null &&
          (delivery.messageIds === undefined || delivery.messageIds.includes(s.messageId)),
      );
      return deliver(accepted, delivery);
    },
    close: () => running.close(),
  };
  return { emulator, server: running, post };
}
