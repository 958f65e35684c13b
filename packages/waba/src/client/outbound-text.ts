import type { OutboundMessage } from '../messages/outbound-message.js';

/**
 * What the lead reads of a non-template message, for the conversation
 * history: the text, a caption, the interactive body, a place name.
 * Templates are rendered with `renderTemplate` instead.
 *
 * @example outboundText({ type: 'image', url: 'https://…/plan.jpg', caption: 'Floor plan' }) // 'Floor plan'
 */
export function outboundText(message: Exclude<OutboundMessage, { type: 'template' }>): string | null {
  switch (message.type) {
    case 'text':
      return message.text;
    case 'image':
    case 'video':
    case 'document':
      return message.caption ?? null;
    case 'audio':
      return null;
    case 'buttons':
    case 'list':
      return message.body;
    case 'location':
      return message.name ?? message.address ?? `${message.latitude},${message.longitude}`;
  }
}
