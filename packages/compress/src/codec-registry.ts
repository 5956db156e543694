import type { Codec } from "./codec.js";
import { CompressError } from "./errors.js";

/**
 * Codecs are looked up by on-disk id when reading and by name when writing. Hosts register
 * the codecs only they have (Node's zlib brotli/deflate) so the core never imports `node:`.
 */
const byId = new Map<number, Codec>();
const byName = new Map<string, Codec>();

export function registerCodec(codec: Codec): void {
  const existing = byId.get(codec.id);
  if (existing !== undefined && existing.name !== codec.name) {
    throw new CompressError(
      "INVALID_ARGUMENT",
      `codec id ${codec.id} is already taken by "${existing.name}"`,
      undefined,
      "an unused codec id",
    );
  }
  byId.set(codec.id, codec);
  byName.set(codec.name, codec);
}

export function codecById(id: number, offset?: number): Codec {
  const codec = byId.get(id);
  if (codec === undefined) {
    throw new CompressError(
      "UNKNOWN_CODEC",
      `codec id ${id} is not registered`,
      offset,
      `one of ids ${[...byId.keys()].join(", ")}`,
    );
  }
  return codec;
}

export function codecByName(name: string): Codec {
  const codec = byName.get(name);
  if (codec === undefined) {
    throw new CompressError(
      "UNKNOWN_CODEC",
      `codec "${name}" is not registered`,
      undefined,
      `one of ${[...byName.keys()].join(", ")}`,
    );
  }
  return codec;
}

export function registeredCodecs(): Codec[] {
  return [...byId.values()];
}
