/** Exception codes of `mcause` (interrupt bit clear), from the privileged spec. */
export const Exception = {
  InstructionAddressMisaligned: 0,
  InstructionAccessFault: 1,
  IllegalInstruction: 2,
  Breakpoint: 3,
  LoadAddressMisaligned: 4,
  LoadAccessFault: 5,
  StoreAddressMisaligned: 6,
  StoreAccessFault: 7,
  EcallFromU: 8,
  EcallFromS: 9,
  EcallFromM: 11,
  InstructionPageFault: 12,
  LoadPageFault: 13,
  StorePageFault: 15,
} as const;

/** Interrupt codes of `mcause` (interrupt bit set). */
export const Interrupt = {
  SupervisorSoftware: 1,
  MachineSoftware: 3,
  SupervisorTimer: 5,
  MachineTimer: 7,
  SupervisorExternal: 9,
  MachineExternal: 11,
} as const;

export const INTERRUPT_BIT = 0x80000000;

const exceptionNames = new Map<number, string>(Object.entries(Exception).map(([k, v]) => [v, k]));
const interruptNames = new Map<number, string>(Object.entries(Interrupt).map(([k, v]) => [v, k]));

/** A readable name for an mcause value, for error messages and traces. */
export function causeName(mcause: number): string {
  const code = mcause & 0x7fffffff;
  const isInterrupt = (mcause & INTERRUPT_BIT) !== 0;
  const name = (isInterrupt ? interruptNames : exceptionNames).get(code);
  return name ?? `${isInterrupt ? "interrupt" : "exception"} ${code}`;
}
