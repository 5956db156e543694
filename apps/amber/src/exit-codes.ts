/**
 * Exit statuses of the `amber` command. A guest's own exit status passes through
 * unchanged, so Amber's own outcomes sit where guests rarely go (as `timeout` and
 * `env` do).
 */
export const ExitCode = {
  Ok: 0,
  /** Bad command line: unknown flag, missing argument, unparsable value. */
  Usage: 2,
  /** `--max-insns` ran out before the guest exited (like `timeout`'s 124). */
  BudgetExhausted: 124,
  /** Amber could not do what was asked: unreadable or invalid input file, I/O error. */
  Failure: 125,
  /** The guest stopped on a trap it had no handler for (e.g. an illegal instruction). */
  GuestCrashed: 126,
} as const;
