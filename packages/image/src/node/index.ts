import type * as Zlib from "node:zlib";
import { setDeflateHost } from "../zlib-host.js";

/** node:zlib, loaded on first use: most images never need it, and loading it is ≈ 10 ms of a CLI's start. */
const zlib = (): typeof Zlib => process.getBuiltinModule("node:zlib");

// qcow2's deflate clusters need zlib; in Node it is always there, so importing this entry provides it.
setDeflateHost({
  deflateRawSync: (buf, options) => zlib().deflateRawSync(buf, options),
  inflateRawSync: (buf, options) => zlib().inflateRawSync(buf, options),
  inflateSync: (buf, options) => zlib().inflateSync(buf, options),
  get constants() {
    return zlib().constants;
  },
});

export { hostReason, ioError, NodeBlockFile } from "./node-block-file.js";
export { nodeImageHost, tempSpillFile, writeFileAtomic } from "./node-image-host.js";
