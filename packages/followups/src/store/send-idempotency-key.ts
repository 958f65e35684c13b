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

/**
 * The id of the scheduled step of one enrolment: `<enrolment id>:<step id>`.
 * Enrolment ids hold no `:`, so it is unique per (enrolment, step), and in
 * byte order an enrolment's steps are the range from `<enrolment id>:` to
 * `<enrolment id>;`: the primary key alone finds them.
 *
 * @example scheduledStepId(enrolment.id, 'day2') // '<enrolment id>:day2'
 */
export function scheduledStepId(enrolmentId: string, stepId: string): string {
  return `${enrolmentId}:${stepId}`;
}
