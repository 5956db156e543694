export { AddressSpace, type Region } from "./address-space.js";
export { FLAT_HOST_BYTES, type FlatLayout, flatLayout } from "./flat-memory.js";
export { MemoryError, type MemoryErrorCode } from "./memory-error.js";
export type { MmioDevice } from "./mmio-device.js";
export { PAGE_SHIFT, PAGE_SIZE } from "./page.js";
export { Ram, RamBaseline, type RamOptions, RamSnapshot } from "./ram.js";
