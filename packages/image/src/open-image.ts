import { AmberLayer } from "./amber-layer.js";
import type { BlockFile } from "./block-file.js";
import { detectFormat } from "./detect-format.js";
import { DmgLayer } from "./dmg-layer.js";
import { ImageError } from "./errors.js";
import { Image, type ImageOptions } from "./image.js";
import type { ImageHost } from "./image-host.js";
import type { ImageFormat, Layer } from "./layer.js";
import { Qcow2Layer } from "./qcow2-layer.js";
import { RawLayer } from "./raw-layer.js";
import { VhdxLayer } from "./vhdx-layer.js";

/** Deepest backing chain followed: deeper is a loop in disguise or a hostile file. */
export const MAX_CHAIN_DEPTH = 64;

export interface OpenOptions extends ImageOptions {
  /** The top file's format; default: detected by content (see detect-format.ts; unknown is an error, not raw). */
  format?: ImageFormat;
  /** Open the top file for writing (writes then go into it instead of being shadowed). */
  writable?: boolean;
  /** Directories tried, in order, for backing names not found next to the file naming them. */
  searchPath?: readonly string[];
  /** Do not follow backing names (open one file alone). */
  noBacking?: boolean;
}

/** Opens one file as a layer of the given (or detected) format. */
export function openLayer(file: BlockFile, format: ImageFormat | undefined, writable: boolean): Layer {
  const fmt = format ?? detectFormat(file);
  if (fmt === "qcow2") return new Qcow2Layer(file, { writable });
  if (fmt === "vhdx") return new VhdxLayer(file, { writable });
  if (fmt === "dmg") {
    if (writable)
      throw new ImageError(
        "READ_ONLY",
        `${file.name}: DMG images are read-only in Amber; write a diff layer instead`,
      );
    return new DmgLayer(file);
  }
  if (fmt === "amber") {
    if (writable)
      throw new ImageError(
        "READ_ONLY",
        `${file.name}: Amber layers are read-only; write a diff layer instead`,
      );
    return new AmberLayer(file);
  }
  return new RawLayer(file);
}

/** Finds a backing/layer name: next to the file naming it, then along the search path. */
export function resolveName(
  host: ImageHost,
  name: string,
  from: string | undefined,
  searchPath: readonly string[],
): string {
  const tried: string[] = [];
  const candidates = [
    from === undefined ? name : host.relativeTo(name, from),
    ...searchPath.map((dir) => host.relativeTo(name, `${dir.replace(/\/?$/, "/")}x`)),
  ];
  if (name.startsWith("/"))
    candidates.push(
      ...searchPath.map((dir) =>
        host.relativeTo(name.slice(name.lastIndexOf("/") + 1), `${dir.replace(/\/?$/, "/")}x`),
      ),
    );
  for (const c of candidates) {
    if (host.exists(c)) return c;
    tried.push(c);
  }
  throw new ImageError(
    "NOT_FOUND",
    `${name}${from === undefined ? "" : ` (named by ${from})`}: not found (tried ${tried.join(", ")})`,
  );
}

/**
 * Opens a file and its backing chain (qcow2 backing_file, Amber backing name) as an image,
 * lowest layer first. Loops and chains deeper than MAX_CHAIN_DEPTH are refused.
 */
export function openImage(host: ImageHost, path: string, options: OpenOptions = {}): Image {
  const layers: Layer[] = [];
  const seen = new Set<string>();
  let current: string | undefined = path;
  let format = options.format;
  let writable = options.writable ?? false;
  try {
    while (current !== undefined) {
      const canonical = host.canonical(current);
      if (seen.has(canonical)) {
        throw new ImageError("BACKING_LOOP", `${path}: backing chain loops back to ${current}`);
      }
      if (seen.size >= MAX_CHAIN_DEPTH)
        throw new ImageError("BACKING_LOOP", `${path}: backing chain deeper than ${MAX_CHAIN_DEPTH}`);
      seen.add(canonical);
      const file = host.open(current, writable);
      let layer: Layer;
      try {
        layer = openLayer(file, format, writable);
      } catch (e) {
        file.close();
        throw e;
      }
      layers.unshift(layer);
      writable = false;
      const backing = options.noBacking ? undefined : layer.backingName;
      if (backing === undefined || backing === "") break;
      format = layer.backingFormat;
      current = resolveName(host, backing, current, options.searchPath ?? []);
    }
  } catch (e) {
    for (const l of layers) l.close();
    throw e;
  }
  const top = layers[layers.length - 1];
  return new Image(layers, { size: top.size, ...options });
}

/**
 * Opens an explicit list of layer files, lowest first (Simics style: later files override
 * earlier ones). Names are resolved along the search path; only the last may be writable.
 */
export function openLayers(
  host: ImageHost,
  paths: readonly { path: string; format?: ImageFormat }[],
  options: ImageOptions & { searchPath?: readonly string[]; writableTop?: boolean } = {},
): Image {
  const layers: Layer[] = [];
  try {
    paths.forEach(({ path, format }, i) => {
      const resolved = resolveName(host, path, undefined, options.searchPath ?? []);
      const writable = (options.writableTop ?? false) && i === paths.length - 1;
      const file = host.open(resolved, writable);
      layers.push(openLayer(file, format, writable));
    });
  } catch (e) {
    for (const l of layers) l.close();
    throw e;
  }
  return new Image(layers, options);
}
