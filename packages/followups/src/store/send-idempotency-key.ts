/**
 * The ledger key of one step of one enrolment: the primary key of
 * `follow_up_sends` and the idempotency key handed to the sender, so a resend
 * after a lost lease carries the same key as the first attempt.
 *
 * @example sendIdempotencyKey(enrolment.id, 'day2') // 'fu:<enrolment id>:day2'
 */
export function sendIdempotencyKey(enrolmentId: string, stepId: string): string {
  return `fu:${enrolmentId}:${stepId}`;
}
