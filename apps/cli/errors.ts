/** A usage or input error: printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}
