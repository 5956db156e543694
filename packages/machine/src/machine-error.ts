/** Every user-facing failure of the board has a code, so callers branch on codes, not text. */
export type MachineErrorCode =
  | "ELF_NOT_ELF"
  | "ELF_TRUNCATED"
  | "ELF_WRONG_CLASS"
  | "ELF_WRONG_ENDIAN"
  | "ELF_WRONG_MACHINE"
  | "ELF_WRONG_TYPE"
  | "ELF_BAD_SEGMENT"
  | "OUTSIDE_RAM"
  | "CONFIG_INVALID"
  /** The machine cannot be saved as it is (host time, a disk that writes into its file). */
  | "SAVE_UNSUPPORTED"
  /** `beginSave` while another save of the machine is still in progress, or a save used after `end()`. */
  | "SAVE_IN_PROGRESS"
  /** A checkpoint's sections do not describe a machine this board can restore. */
  | "CHECKPOINT_INVALID"
  /** A replay log (`amber run --record`) that cannot be read. */
  | "REPLAY_INVALID";

export class MachineError extends Error {
  constructor(
    readonly code: MachineErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "MachineError";
  }
}
