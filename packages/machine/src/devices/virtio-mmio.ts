/**
 * The virtio-mmio (version 2) transport's registers and the split virtqueue's descriptor
 * flags (virtio 1.2 spec, sections 4.2.2 and 2.7), for `VirtioMmioTransport` and
 * `SplitVirtqueues`.
 */
export const MAGIC = 0x000;
export const VERSION = 0x004;
export const DEVICE_ID = 0x008;
export const VENDOR_ID = 0x00c;
export const DEVICE_FEATURES = 0x010;
export const DEVICE_FEATURES_SEL = 0x014;
export const DRIVER_FEATURES = 0x020;
export const DRIVER_FEATURES_SEL = 0x024;
export const QUEUE_SEL = 0x030;
export const QUEUE_NUM_MAX = 0x034;
export const QUEUE_NUM = 0x038;
export const QUEUE_READY = 0x044;
export const QUEUE_NOTIFY = 0x050;
export const INTERRUPT_STATUS = 0x060;
export const INTERRUPT_ACK = 0x064;
export const STATUS = 0x070;
export const QUEUE_DESC_LOW = 0x080;
export const QUEUE_DESC_HIGH = 0x084;
export const QUEUE_DRIVER_LOW = 0x090;
export const QUEUE_DRIVER_HIGH = 0x094;
export const QUEUE_DEVICE_LOW = 0x0a0;
export const QUEUE_DEVICE_HIGH = 0x0a4;
export const CONFIG_GENERATION = 0x0fc;
/** Device-specific configuration space starts here. */
export const CONFIG = 0x100;

export const MAGIC_VALUE = 0x74726976; // "virt"
/** QEMU's vendor id ("QEMU"), which QEMU's empty slots report too. */
export const VENDOR_QEMU = 0x554d4551;

/** Device status bits (virtio 1.2, 2.1) the device looks at. */
export const STATUS_DRIVER_OK = 4;
export const STATUS_FEATURES_OK = 8;
export const STATUS_NEEDS_RESET = 64;

/** InterruptStatus bits: a used buffer, a configuration change. */
export const INT_USED_BUFFER = 1;
export const INT_CONFIG_CHANGE = 2;

/** Feature bit of virtio 1.x itself (a legacy-free device insists on it). */
export const F_VERSION_1 = 32;

/** Split virtqueue descriptor flags. */
export const DESC_F_NEXT = 1;
export const DESC_F_WRITE = 2;
export const DESC_F_INDIRECT = 4;
/** Available ring flag: the driver wants no interrupt for buffers it gets back. */
export const AVAIL_F_NO_INTERRUPT = 1;
