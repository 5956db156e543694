/**
 * A failure caused by what the user gave us (a missing file, a bad value). The CLI
 * prints its message on one line, without a stack trace, and exits with `exitCode`.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = "UserError";
  }
}
