/** A provider failure class: the stable `ProviderError.code` and whether a retry may succeed. */
export interface FailureClass {
  code: string;
  retryable: boolean;
}
