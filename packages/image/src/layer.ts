/** The file formats a layer can be stored in (the one list every format option checks against). */
export const IMAGE_FORMATS = ["raw", "qcow2", "amber", "vhdx", "dmg"] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];
/** What each format is called in messages ("it is a … , not a world"). */
export const IMAGE_FORMAT_NAMES: Readonly<Record<ImageFormat, string>> = {
  raw: "raw disk image",
  qcow2: "qcow2 disk image",
  amber: "Amber disk layer",
  vhdx: "VHDX disk image",
  dmg: "DMG disk image",
};
/** Formats Amber writes (DMG is read-only). */
export const WRITABLE_FORMATS: readonly ImageFormat[] = ["raw", "qcow2", "amber", "vhdx"];

export function isImageFormat(name: string): name is ImageFormat {
  return (IMAGE_FORMATS as readonly string[]).includes(name);
}

/**
 * One file of an image's stack. A layer maps parts of the logical byte space; a part it
 * does not hold is looked up in the layers below (later layers override earlier ones).
 * Presence is decided per `grain` bytes (qcow2: the cluster; Amber: the page).
 */
export interface Layer {
  readonly format: ImageFormat;
  /** Where it came from (a path, or a description for in-memory layers). */
  readonly name: string;
  /** Logical size the layer declares. */
  readonly size: number;
  readonly grain: number;
  readonly writable: boolean;
  /** The backing file this layer names itself (qcow2 backing_file, Amber backing name). */
  readonly backingName?: string;
  readonly backingFormat?: ImageFormat;
  /** Whether the grain holding `offset` is stored in this layer. */
  has(offset: number): boolean;
  /** Reads bytes that lie inside one grain for which `has` is true. */
  read(offset: number, length: number): Uint8Array;
  /**
   * Writes bytes inside one grain (writable layers only). A grain not yet stored here is
   * first filled from `below`, so a partial write never loses the lower layers' bytes.
   */
  write?(offset: number, data: Uint8Array, below: (offset: number, length: number) => Uint8Array): void;
  /** Stored extents [start, length) in ascending order, for diff, flatten and info. */
  extents(): Iterable<[number, number]>;
  /** Bytes the layer's file occupies. */
  fileSize(): number;
  sync(): void;
  close(): void;
}
