import type { FollowUpSender, FollowUpSendRequest, FollowUpSendResult } from '../src/runner/sender.js';

export interface RecordingSender extends FollowUpSender {
  sent: FollowUpSendRequest[];
  /** Called before each send; throw to fail it, return a result to replace the default. */
  behaviour:
    | ((
        req: FollowUpSendRequest,
        n: number,
      ) => Promise<FollowUpSendResult | undefined> | FollowUpSendResult | undefined)
    | null;
}

/** A sender that records what it was asked to send and answers like a provider would. */
export function recordingSender(): RecordingSender {
  let n = 0;
  const sender: RecordingSender = {
    sent: [],
    behaviour: null,
    async send(req) {
      n++;
      const replaced = sender.behaviour ? await sender.behaviour(req, n) : undefined;
      sender.sent.push(req);
      return replaced ?? { providerMessageId: `wamid.${n}`, messageId: `msg-${n}` };
    },
  };
  return sender;
}
