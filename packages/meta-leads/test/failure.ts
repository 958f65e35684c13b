import { isLeadRelayError, type LeadRelayError } from '@leadrelay/core';

/** The LeadRelay error a promise rejects with; fails the test when it resolves or throws anything else. */
export async function failure(promise: Promise<unknown>): Promise<LeadRelayError> {
  try {
    await promise;
  } catch (error) {
    if (isLeadRelayError(error)) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}
