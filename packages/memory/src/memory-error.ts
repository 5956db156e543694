/** Codes for misuse of the address space (configuration errors, not guest faults). */
export type MemoryErrorCode = "REGION_OVERLAP" | "REGION_INVALID" | "OUT_OF_RANGE";

export class MemoryError extends Error {
  constructor(
    readonly code: MemoryErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "MemoryError";
  }
}
