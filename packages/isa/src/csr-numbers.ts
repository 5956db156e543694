/** CSR addresses from the privileged spec, and their assembler names. */
export const Csr = {
  // unprivileged counters
  cycle: 0xc00,
  time: 0xc01,
  instret: 0xc02,
  cycleh: 0xc80,
  timeh: 0xc81,
  instreth: 0xc82,
  // supervisor
  sstatus: 0x100,
  sie: 0x104,
  stvec: 0x105,
  scounteren: 0x106,
  senvcfg: 0x10a,
  sscratch: 0x140,
  sepc: 0x141,
  scause: 0x142,
  stval: 0x143,
  sip: 0x144,
  satp: 0x180,
  // machine information
  mvendorid: 0xf11,
  marchid: 0xf12,
  mimpid: 0xf13,
  mhartid: 0xf14,
  mconfigptr: 0xf15,
  // machine trap setup and handling
  mstatus: 0x300,
  misa: 0x301,
  medeleg: 0x302,
  mideleg: 0x303,
  mie: 0x304,
  mtvec: 0x305,
  mcounteren: 0x306,
  menvcfg: 0x30a,
  menvcfgh: 0x31a,
  mstatush: 0x310,
  mcountinhibit: 0x320,
  mscratch: 0x340,
  mepc: 0x341,
  mcause: 0x342,
  mtval: 0x343,
  mip: 0x344,
  pmpcfg0: 0x3a0,
  pmpaddr0: 0x3b0,
  // debug triggers (Sdtrig)
  tselect: 0x7a0,
  tdata1: 0x7a1,
  tdata2: 0x7a2,
  tdata3: 0x7a3,
  tinfo: 0x7a4,
  // machine counters
  mcycle: 0xb00,
  minstret: 0xb02,
  mcycleh: 0xb80,
  minstreth: 0xb82,
} as const;

const names = new Map<number, string>(Object.entries(Csr).map(([name, num]) => [num, name]));
for (let i = 0; i < 16; i++) names.set(0x3a0 + i, `pmpcfg${i}`);
for (let i = 0; i < 64; i++) names.set(0x3b0 + i, `pmpaddr${i}`);
for (let i = 3; i < 32; i++) {
  names.set(0xc00 + i, `hpmcounter${i}`);
  names.set(0xc80 + i, `hpmcounter${i}h`);
  names.set(0xb00 + i, `mhpmcounter${i}`);
  names.set(0xb80 + i, `mhpmcounter${i}h`);
  names.set(0x320 + i, `mhpmevent${i}`);
}

/** The assembler name of a CSR, or its number in hex as objdump prints unknown ones. */
export function csrName(num: number): string {
  return names.get(num) ?? `0x${num.toString(16)}`;
}
