import type { RenderedStep } from './compile-campaign.js';
import type { FollowUpMessage } from './follow-up-message.js';

export type MessageChoice =
  | { send: true; message: FollowUpMessage; kind: 'text' | 'template' | 'fallback_template' }
  | { send: false; reason: 'window_closed' };

/**
 * Decides what a step sends: free text needs the 24-hour window open; outside
 * it the step's fallback template goes instead, or the step is skipped.
 * Templates go either way. Pure: the runner, `preview` and `testSend` share it.
 *
 * @example chooseMessage(rendered, false) // { send: true, kind: 'fallback_template', message: {...} }
 */
export function chooseMessage(rendered: RenderedStep, windowOpen: boolean): MessageChoice {
  if (rendered.primary.type === 'template')
    return { send: true, message: rendered.primary, kind: 'template' };
  if (windowOpen) return { send: true, message: rendered.primary, kind: 'text' };
  if (rendered.fallback) return { send: true, message: rendered.fallback, kind: 'fallback_template' };
  return { send: false, reason: 'window_closed' };
}
