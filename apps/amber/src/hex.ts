/** An address or word as 0x followed by eight hex digits, as the CLI and the monitor show them. */
export const hex8 = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, "0")}`;
