import { RegistryError } from "./errors.js";

/** A parsed `[http://|https://]HOST[:PORT]/REPO[:TAG|@sha256:DIGEST]`. */
export interface Ref {
  /** "https" unless the REF says http:// or the caller allowed plain HTTP (`insecure`). */
  scheme: "http" | "https";
  /** HOST[:PORT] as written. */
  host: string;
  repository: string;
  tag?: string;
  digest?: string;
  /** The REF as the user wrote it, for messages. */
  text: string;
}

const REPO_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Whether HOST[:PORT] names this machine (the only hosts plain HTTP may reach). */
export function isLoopback(host: string): boolean {
  const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0]!;
  return LOOPBACK.has(name.toLowerCase());
}

/**
 * Whether `s` is written as a REF rather than a path: a scheme, or a first component that
 * is a host as Docker tells them (has a dot or a port, or is `localhost`).
 */
export function looksLikeRef(s: string): boolean {
  if (/^https?:\/\//.test(s)) return true;
  const slash = s.indexOf("/");
  if (slash <= 0) return false;
  const first = s.slice(0, slash);
  if (!/^(?:[A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:]+\])(?::\d+)?$/.test(first)) return false;
  return first === "localhost" || first.includes(".") || first.includes(":") || first.startsWith("[");
}

function bad(text: string, why: string): never {
  throw new RegistryError(
    "BAD_REF",
    `${text}: ${why} (expected [http://|https://]HOST[:PORT]/REPO[:TAG|@sha256:DIGEST])`,
  );
}

/**
 * Parses a REF as OCI tools write it. `insecure` lets a REF without a scheme use plain HTTP;
 * plain HTTP (either way) is refused unless HOST is localhost, 127.0.0.1 or [::1].
 */
export function parseRef(text: string, options: { insecure?: boolean } = {}): Ref {
  let rest = text;
  let scheme: "http" | "https" = options.insecure ? "http" : "https";
  const m = /^(https?):\/\//.exec(rest);
  if (m) {
    scheme = m[1] as "http" | "https";
    rest = rest.slice(m[0].length);
  }
  const slash = rest.indexOf("/");
  if (slash <= 0) bad(text, "no HOST/ before the repository");
  const host = rest.slice(0, slash);
  if (!/^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(?::\d{1,5})?$/.test(host))
    bad(text, `"${host}" is not HOST[:PORT]`);
  const port = /:(\d+)$/.exec(host);
  if (port && (Number(port[1]) < 1 || Number(port[1]) > 65535))
    bad(text, `port ${port[1]} is outside 1..65535`);
  let path = rest.slice(slash + 1);
  let digest: string | undefined;
  let tag: string | undefined;
  const at = path.indexOf("@");
  if (at >= 0) {
    digest = path.slice(at + 1);
    path = path.slice(0, at);
    if (!DIGEST.test(digest)) bad(text, `"${digest}" is not sha256: and 64 lowercase hex digits`);
  }
  const colon = path.lastIndexOf(":");
  if (colon > path.lastIndexOf("/")) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
    if (!TAG.test(tag)) bad(text, `"${tag}" is not a tag ([A-Za-z0-9_][A-Za-z0-9_.-]*, ≤ 128)`);
  }
  if (path === "" || !path.split("/").every((c) => REPO_COMPONENT.test(c)))
    bad(text, `"${path}" is not a repository (lowercase components separated by /)`);
  if (scheme === "http" && !isLoopback(host))
    bad(text, `plain HTTP is only allowed to localhost, 127.0.0.1 or [::1], not ${host}`);
  return { scheme, host, repository: path, tag, digest, text };
}

/** What the manifest is fetched by: the digest if given, else the tag, else "latest". */
export function refReference(ref: Ref): string {
  return ref.digest ?? ref.tag ?? "latest";
}

/** The base URL of the registry's API: `https://HOST/v2/`. */
export function apiBase(ref: Pick<Ref, "scheme" | "host">): string {
  return `${ref.scheme}://${ref.host}/v2/`;
}
