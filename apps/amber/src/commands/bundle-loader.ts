/**
 * The plain-text head of a bundle: it holds the payload (base64), checks its SHA-256
 * before anything in it is used, then runs the runtime code the payload carries. `amber
 * bundle` fills in the two placeholders. No Node API unless running in Node.
 */
import { ExitCode } from "../exit-codes.js";
import { BundleError, openBundle } from "./bundle-container.js";
import type * as Runtime from "./bundle-runtime-entry.js";

/** Replaced by `amber bundle` with the payload, base64. */
const PAYLOAD = "__AMBER_BUNDLE_PAYLOAD__";
/** Replaced by `amber bundle` with the payload's SHA-256, hex. */
const SHA256 = "__AMBER_BUNDLE_SHA256__";
/** Name of the global the runtime script defines (build-bundle-runtime.mjs). */
export const RUNTIME_GLOBAL = "amberBundleRuntime";

function decodeBase64(text: string): Uint8Array {
  const B = (globalThis as { Buffer?: { from(s: string, e: string): Uint8Array } }).Buffer;
  if (B !== undefined) {
    const b = B.from(text, "base64");
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The checked payload and the runtime it carries; a damaged payload is a BundleError. */
export async function loadPayload(): Promise<{ payload: Uint8Array; runtime: typeof Runtime }> {
  let payload: Uint8Array;
  try {
    payload = decodeBase64(PAYLOAD);
  } catch (e) {
    throw new BundleError(`the payload is not base64 (${(e as Error).message})`);
  }
  const actual = await sha256(payload);
  if (actual !== SHA256) {
    throw new BundleError(`the payload's SHA-256 is ${actual}, expected ${SHA256}`);
  }
  const code = new TextDecoder().decode(openBundle(payload).part("runtime.js"));
  const runtime = new Function(`${code}\nreturn ${RUNTIME_GLOBAL};`)() as typeof Runtime;
  return { payload, runtime };
}

/** Starts the bundled world with the host's own console wiring (browsers, embedders). */
export async function start(options: Runtime.BundleStartOptions = {}): Promise<Runtime.RunningBundle> {
  const { payload, runtime } = await loadPayload();
  return runtime.startBundle(payload, options);
}

/** Runs the bundle as a program on this Node process's terminal; a damaged bundle exits 125. */
export async function runMain(file: string, args: readonly string[]): Promise<void> {
  let loaded: Awaited<ReturnType<typeof loadPayload>>;
  try {
    loaded = await loadPayload();
  } catch (e) {
    if (!(e instanceof BundleError)) throw e;
    process.stderr.write(`amber: ${file}: damaged bundle: ${e.message}\n`);
    process.exitCode = ExitCode.Failure;
    return;
  }
  await loaded.runtime.runInTerminal(loaded.payload, file, args);
}
