/** A mistake in how the command was called (exit code 2), as opposed to a failure while doing the work (exit 1). */
export class UsageError extends Error {
  override name = 'UsageError';
}
