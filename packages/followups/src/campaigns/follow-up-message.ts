/**
 * The messages follow-ups send: free text or an approved template. The shape
 * is the text and template members of `@leadrelay/waba`'s `OutboundMessage`,
 * so a value of this type can be handed to waba's `send` as is.
 */
export type FollowUpMessage =
  | { type: 'text'; text: string }
  | {
      type: 'template';
      name: string;
      language?: string;
      parameters?: { body?: string[] | Record<string, string> };
    };
