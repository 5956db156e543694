export { AmberLayer, isAmberLayer } from "./amber-layer.js";
export { type AmberWriteOptions, writeAmberLayer } from "./amber-writer.js";
export { type BlockFile, MemoryBlockFile } from "./block-file.js";
export { type CheckReport, checkLayer } from "./check-image.js";
export { type Detected, detectFormat, probeFormat, RAW_SECTOR } from "./detect-format.js";
export { DmgLayer, isDmg } from "./dmg-layer.js";
export { ImageError, type ImageErrorCode, isImageError } from "./errors.js";
export { Image, type ImageOptions, type ImageWrite } from "./image.js";
export { type ImageHost, MemoryImageHost } from "./image-host.js";
export {
  IMAGE_FORMAT_NAMES,
  IMAGE_FORMATS,
  type ImageFormat,
  isImageFormat,
  type Layer,
  WRITABLE_FORMATS,
} from "./layer.js";
export { type MapEntry, mapImage } from "./map-image.js";
export { MemoryBudget, type MemoryBudgetOptions } from "./memory-budget.js";
export {
  MAX_CHAIN_DEPTH,
  type OpenOptions,
  openImage,
  openLayer,
  openLayers,
  resolveName,
} from "./open-image.js";
export type { PageSource } from "./page-source.js";
export type { Qcow2Compression } from "./qcow2-compression.js";
export { isQcow2, type Qcow2Header } from "./qcow2-header.js";
export { type ClusterKind, Qcow2Layer } from "./qcow2-layer.js";
export { type Qcow2WriteOptions, writeQcow2 } from "./qcow2-writer.js";
export { RawLayer, type RawRange } from "./raw-layer.js";
export { writeRaw } from "./raw-writer.js";
export { isVhdx, VhdxLayer } from "./vhdx-layer.js";
export { defaultVhdxBlockSize, type VhdxSubformat, type VhdxWriteOptions, writeVhdx } from "./vhdx-writer.js";
export { flatten, saveDiff, type WriteOptions, writePages } from "./write-image.js";
export { type DeflateHost, setDeflateHost } from "./zlib-host.js";
