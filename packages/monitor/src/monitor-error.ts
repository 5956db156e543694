/**
 * A monitor command could not do what was asked because of what the user typed or named
 * (a bad number, an unknown world, a damaged image). Hosts show the message on one line,
 * never a stack trace: the CLI maps `kind` to its exit codes (usage 2, failure 125).
 */
export class MonitorError extends Error {
  constructor(
    message: string,
    readonly kind: "usage" | "failure" = "failure",
  ) {
    super(message);
    this.name = "MonitorError";
  }
}
