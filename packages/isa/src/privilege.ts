/** Privilege levels as encoded in mstatus.MPP and the spec's tables. */
export const Privilege = {
  User: 0,
  Supervisor: 1,
  Machine: 3,
} as const;
export type Privilege = (typeof Privilege)[keyof typeof Privilege];
