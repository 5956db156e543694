// The code a bundle carries in its payload (built by build-bundle-runtime.mjs as one
// script, its WASM inlined): what the loader calls once the payload's SHA-256 holds.
export { BundleError } from "./bundle-container.js";
export {
  type BundleExit,
  type BundleStartOptions,
  type RunningBundle,
  startBundle,
} from "./bundle-runtime.js";
export { runInTerminal } from "./bundle-terminal.js";
