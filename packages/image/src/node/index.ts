import * as zlib from "node:zlib";
import { setDeflateHost } from "../zlib-host.js";

// qcow2's deflate clusters need zlib; in Node it is always there, so importing this entry provides it.
setDeflateHost(zlib);

export { hostReason, ioError, NodeBlockFile } from "./node-block-file.js";
export { nodeImageHost, tempSpillFile, writeFileAtomic } from "./node-image-host.js";
