import type { FollowUpLead } from '../conditions/lead-snapshot.js';
import type { ExitRules, TriggerType } from './campaign.js';

/** Why an enrolment stopped before its last step. */
export type ExitReason =
  | 'replied'
  | 'appointment_booked'
  | 'opted_out'
  | 'status_changed'
  | 'campaign_stopped'
  | 'reentered'
  | 'send_failed'
  /** A step's send may or may not have been delivered; nothing more is sent to be safe. */
  | 'send_outcome_unknown';

/**
 * Whether a lead's current facts end its enrolment, and why. Opt-out always
 * ends it; a reply ends it when `onReply` is set (always for `no_reply`
 * campaigns); `appointment_booked` status when `onAppointmentBooked`; any
 * status listed in `leadStatusIn`.
 *
 * @example exitReasonFor(rules, 'lead_created', lead, enrolledAt) // 'replied' | null
 */
export function exitReasonFor(
  rules: ExitRules,
  trigger: TriggerType,
  lead: Pick<FollowUpLead, 'optedOut' | 'lastInboundAt' | 'status'>,
  enrolledAt: Date,
): ExitReason | null {
  if (lead.optedOut) return 'opted_out';
  if (
    (rules.onReply || trigger === 'no_reply') &&
    lead.lastInboundAt &&
    lead.lastInboundAt.getTime() > enrolledAt.getTime()
  ) {
    return 'replied';
  }
  if (rules.onAppointmentBooked && lead.status === 'appointment_booked') return 'appointment_booked';
  if (rules.leadStatusIn.includes(lead.status)) return 'status_changed';
  return null;
}
