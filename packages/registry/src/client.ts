import { basicAuthorization, type Challenge, type Credentials, parseChallenge } from "./auth.js";
import { RegistryError } from "./errors.js";
import type { HttpRequest, HttpResponse, Op } from "./http.js";
import { apiBase, isLoopback, type Ref } from "./ref.js";
import { sha256Digest } from "./sha256.js";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const MANIFEST_ACCEPT = [
  OCI_MANIFEST,
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

export interface ClientOptions {
  /** For this registry host; from `@amber/registry/node`'s `credentialsFor` in Node. */
  credentials?: Credentials;
  /** Attempts per request on 5xx, 429 and connection failures (default 5). */
  attempts?: number;
  /** First pause between attempts in ms, doubled each time (default 100). */
  backoffMs?: number;
  /** Blobs up to this size are uploaded in one PUT; larger ones in PATCH pieces (default 8 MiB). */
  monolithicMax?: number;
  /** Size of each PATCH piece of a chunked upload (default 4 MiB). */
  uploadPiece?: number;
  /** Blobs larger than this are read in Range pieces, each retried on its own (default 4 MiB). */
  rangePiece?: number;
}

/** Counts of what went over the wire (for progress and benchmarks). */
export interface Traffic {
  requests: number;
  bytesSent: number;
  bytesReceived: number;
  retries: number;
}

/**
 * An OCI distribution API client for one repository (`/v2/<repo>/...`): ping, Bearer-token
 * and Basic auth from the registry's challenge, blob HEAD/GET (with Range)/uploads
 * (monolithic, chunked with resume), manifest GET/PUT/HEAD. Every method is an `Op`: run it
 * with `runAsync` (fetch) or `runSync` (a blocking transport).
 */
export class RegistryClient {
  readonly base: string;
  readonly traffic: Traffic = { requests: 0, bytesSent: 0, bytesReceived: 0, retries: 0 };
  private authorization: string | undefined;
  private readonly attempts: number;
  private readonly backoffMs: number;

  constructor(
    readonly ref: Ref,
    private readonly options: ClientOptions = {},
  ) {
    this.base = apiBase(ref);
    this.attempts = Math.max(1, options.attempts ?? 5);
    this.backoffMs = options.backoffMs ?? 100;
  }

  private repoUrl(rest: string): string {
    return `${this.base}${this.ref.repository}/${rest}`;
  }

  private fail(code: "HTTP" | "NOT_FOUND" | "UNAUTHORIZED", doing: string, res: HttpResponse): never {
    let detail = "";
    try {
      const j = JSON.parse(new TextDecoder().decode(res.body)) as {
        errors?: { code?: string; message?: string }[];
      };
      const e = j.errors?.[0];
      if (e) detail = `: ${e.code ?? ""}${e.message ? ` (${e.message})` : ""}`;
    } catch {}
    throw new RegistryError(code, `${this.ref.text}: ${doing}: HTTP ${res.status}${detail}`);
  }

  /** Answers a 401's challenge: Basic with the credentials, or a Bearer token from the realm. */
  private *authenticate(challenge: Challenge, scope: string): Op<void> {
    if (challenge.scheme === "basic") {
      if (!this.options.credentials)
        throw new RegistryError(
          "UNAUTHORIZED",
          `${this.ref.text}: the registry asks for a user name and password (set them in the Docker config file or AMBER_REGISTRY_USER/AMBER_REGISTRY_PASSWORD)`,
        );
      this.authorization = basicAuthorization(this.options.credentials);
      return;
    }
    if (challenge.scheme !== "bearer" || !challenge.params.realm)
      throw new RegistryError(
        "UNAUTHORIZED",
        `${this.ref.text}: unsupported authentication "${challenge.scheme}"`,
      );
    const url = new URL(challenge.params.realm);
    if (url.protocol === "http:" && this.ref.scheme === "https")
      throw new RegistryError("UNAUTHORIZED", `${this.ref.text}: token realm ${url.origin} is plain HTTP`);
    if (challenge.params.service) url.searchParams.set("service", challenge.params.service);
    url.searchParams.set("scope", challenge.params.scope ?? scope);
    const headers: Record<string, string> = {};
    if (this.options.credentials) headers.authorization = basicAuthorization(this.options.credentials);
    const res = yield* this.exchange({ method: "GET", url: url.toString(), headers }, "fetching a token");
    if (res.status === 401 || res.status === 403) this.fail("UNAUTHORIZED", "the token service refused", res);
    if (res.status !== 200) this.fail("HTTP", "fetching a token", res);
    let token: unknown;
    try {
      const j = JSON.parse(new TextDecoder().decode(res.body)) as { token?: unknown; access_token?: unknown };
      token = j.token ?? j.access_token;
    } catch {}
    if (typeof token !== "string" || token === "")
      throw new RegistryError("UNAUTHORIZED", `${this.ref.text}: the token service answered without a token`);
    this.authorization = `Bearer ${token}`;
  }

  /** One exchange, retried with backoff on connection failures, 5xx and 429. */
  private *exchange(req: HttpRequest, doing: string, retry = true): Op<HttpResponse> {
    for (let attempt = 1; ; attempt++) {
      this.traffic.requests++;
      this.traffic.bytesSent += req.body?.length ?? 0;
      const res = yield { http: req };
      const failed = res === undefined || "networkError" in res;
      if (failed && res !== undefined && /SSL|TLS|CERT/i.test(res.networkError))
        throw new RegistryError(
          "NETWORK",
          `${this.ref.text}: ${doing}: TLS with ${this.ref.host} failed (${res.networkError})${this.ref.scheme === "https" && isLoopback(this.ref.host) ? "; a plain-HTTP registry on this machine needs http:// or --insecure" : ""}`,
        );
      const transient = failed || res.status >= 500 || res.status === 429;
      if (!transient) {
        this.traffic.bytesReceived += res.body.length;
        return res;
      }
      if (!retry || attempt >= this.attempts) {
        if (failed)
          throw new RegistryError(
            "NETWORK",
            `${this.ref.text}: ${doing}: cannot reach ${this.ref.host} (${res === undefined ? "no answer" : res.networkError}) after ${attempt} attempt${attempt === 1 ? "" : "s"}`,
          );
        this.fail("HTTP", `${doing} (after ${attempt} attempts)`, res);
      }
      this.traffic.retries++;
      yield { sleep: this.backoffMs * 2 ** (attempt - 1) };
    }
  }

  /** A request to the registry with its authorization; a 401 is answered once. */
  *send(req: HttpRequest, doing: string, scope = "pull", retry = true): Op<HttpResponse> {
    const fullScope = `repository:${this.ref.repository}:${scope}`;
    for (let round = 0; ; round++) {
      const headers = { ...req.headers };
      if (this.authorization) headers.authorization = this.authorization;
      const res = yield* this.exchange({ ...req, headers }, doing, retry);
      if (res.status !== 401) return res;
      const challenge = parseChallenge(res.headers["www-authenticate"] ?? "");
      if (round > 0 || challenge === undefined) {
        const how = this.options.credentials ? "the credentials were refused" : "no credentials";
        this.fail("UNAUTHORIZED", `${doing} (${how})`, res);
      }
      yield* this.authenticate(challenge, fullScope);
    }
  }

  /** GET /v2/: whether the registry speaks the distribution API (and lets us in). */
  *ping(): Op<void> {
    const res = yield* this.send({ method: "GET", url: this.base, headers: {} }, "checking /v2/");
    if (res.status !== 200) this.fail("HTTP", "checking /v2/", res);
  }

  /** The blob's size if the repository has it, else undefined. */
  *headBlob(digest: string): Op<number | undefined> {
    const res = yield* this.send(
      { method: "HEAD", url: this.repoUrl(`blobs/${digest}`), headers: {} },
      `checking blob ${digest}`,
    );
    if (res.status === 404) return undefined;
    if (res.status !== 200) this.fail("HTTP", `checking blob ${digest}`, res);
    const n = Number(res.headers["content-length"]);
    return Number.isSafeInteger(n) && n >= 0 ? n : 0;
  }

  /** Bytes [offset, offset+length) of a blob with a Range request (206). */
  *getBlobRange(digest: string, offset: number, length: number): Op<Uint8Array> {
    const doing = `reading bytes ${offset}..${offset + length - 1} of blob ${digest}`;
    const res = yield* this.send(
      {
        method: "GET",
        url: this.repoUrl(`blobs/${digest}`),
        headers: { range: `bytes=${offset}-${offset + length - 1}` },
      },
      doing,
    );
    if (res.status === 404) this.fail("NOT_FOUND", doing, res);
    if (res.status === 206) {
      if (res.body.length !== length)
        throw new RegistryError("HTTP", `${this.ref.text}: ${doing}: got ${res.body.length} bytes`);
      return res.body;
    }
    if (res.status === 200 && res.body.length >= offset + length)
      return res.body.slice(offset, offset + length);
    return this.fail("HTTP", doing, res);
  }

  /**
   * A whole blob, checked against its digest. `size` (when known) is checked too and lets a
   * large blob be read in Range pieces; `context` says in errors what the blob is.
   */
  *getBlob(digest: string, size?: number, context = ""): Op<Uint8Array> {
    const what = `blob ${digest}${context ? ` (${context})` : ""}`;
    let bytes: Uint8Array;
    const piece = this.options.rangePiece ?? 4 << 20;
    if (size !== undefined && size > piece) {
      bytes = new Uint8Array(size);
      for (let at = 0; at < size; at += piece)
        bytes.set(yield* this.getBlobRange(digest, at, Math.min(piece, size - at)), at);
    } else {
      const res = yield* this.send(
        { method: "GET", url: this.repoUrl(`blobs/${digest}`), headers: {} },
        `reading ${what}`,
      );
      if (res.status === 404) this.fail("NOT_FOUND", `reading ${what}`, res);
      if (res.status !== 200) this.fail("HTTP", `reading ${what}`, res);
      bytes = res.body;
    }
    if (size !== undefined && bytes.length !== size)
      throw new RegistryError(
        "DIGEST_MISMATCH",
        `${this.ref.text}: ${what}: the registry sent ${bytes.length} bytes (expected ${size})`,
      );
    const actual = sha256Digest(bytes);
    if (actual !== digest)
      throw new RegistryError(
        "DIGEST_MISMATCH",
        `${this.ref.text}: ${what} does not match its digest: the registry sent bytes hashing to ${actual}`,
      );
    return bytes;
  }

  private uploadUrl(location: string | undefined, doing: string): string {
    if (!location) throw new RegistryError("HTTP", `${this.ref.text}: ${doing}: no Location in the answer`);
    return new URL(location, this.base).toString();
  }

  private withDigest(url: string, digest: string): string {
    const u = new URL(url);
    u.searchParams.set("digest", digest);
    return u.toString();
  }

  /** Starts an upload session: its URL. */
  private *startUpload(doing: string): Op<string> {
    const res = yield* this.send(
      { method: "POST", url: this.repoUrl("blobs/uploads/"), headers: { "content-length": "0" } },
      doing,
      "pull,push",
    );
    if (res.status !== 202) this.fail(res.status === 404 ? "NOT_FOUND" : "HTTP", doing, res);
    return this.uploadUrl(res.headers.location, doing);
  }

  /** How many bytes an upload session holds (GET on it: `Range: 0-N`). */
  private *uploadOffset(url: string, doing: string): Op<number> {
    const res = yield* this.send({ method: "GET", url, headers: {} }, doing, "pull,push");
    if (res.status !== 204) this.fail("HTTP", doing, res);
    const m = /^0-(\d+)$/.exec(res.headers.range ?? "");
    return m ? Number(m[1]) + 1 : 0;
  }

  /**
   * Uploads `bytes` as blob `digest`: one PUT when small, else PATCH pieces; a PATCH that
   * fails is resumed from the offset the registry reports for the session.
   */
  *uploadBlob(bytes: Uint8Array, digest: string, onProgress?: (sent: number) => void): Op<void> {
    const doing = `uploading blob ${digest}`;
    let url = yield* this.startUpload(doing);
    const octet = "application/octet-stream";
    if (bytes.length <= (this.options.monolithicMax ?? 8 << 20)) {
      const res = yield* this.send(
        { method: "PUT", url: this.withDigest(url, digest), headers: { "content-type": octet }, body: bytes },
        doing,
        "pull,push",
      );
      if (res.status !== 201) this.fail("HTTP", doing, res);
      onProgress?.(bytes.length);
      return;
    }
    const piece = this.options.uploadPiece ?? 4 << 20;
    let at = 0;
    let failures = 0;
    while (at < bytes.length) {
      const end = Math.min(bytes.length, at + piece);
      let res: HttpResponse | undefined;
      try {
        res = yield* this.send(
          {
            method: "PATCH",
            url,
            headers: { "content-type": octet, "content-range": `${at}-${end - 1}` },
            body: bytes.subarray(at, end),
          },
          doing,
          "pull,push",
          false,
        );
      } catch (e) {
        if (!(e instanceof RegistryError) || (e.code !== "NETWORK" && e.code !== "HTTP")) throw e;
        res = undefined;
      }
      if (res !== undefined && res.status === 202) {
        url = this.uploadUrl(res.headers.location ?? url, doing);
        at = end;
        failures = 0;
        onProgress?.(at);
        continue;
      }
      if (res !== undefined && res.status < 500 && res.status !== 416) this.fail("HTTP", doing, res);
      // The piece may or may not have arrived: ask the session how far it got, go on from there.
      if (++failures >= this.attempts)
        throw new RegistryError(
          "NETWORK",
          `${this.ref.text}: ${doing}: PATCH at offset ${at} failed ${failures} times`,
        );
      this.traffic.retries++;
      yield { sleep: this.backoffMs * 2 ** (failures - 1) };
      at = yield* this.uploadOffset(url, doing);
    }
    const res = yield* this.send(
      { method: "PUT", url: this.withDigest(url, digest), headers: { "content-length": "0" } },
      doing,
      "pull,push",
    );
    if (res.status !== 201) this.fail("HTTP", doing, res);
  }

  /** A manifest by tag or digest, checked against its digest: its bytes and digest. */
  *getManifest(reference: string): Op<{ bytes: Uint8Array; digest: string; mediaType: string }> {
    const doing = `reading manifest ${reference}`;
    const res = yield* this.send(
      { method: "GET", url: this.repoUrl(`manifests/${reference}`), headers: { accept: MANIFEST_ACCEPT } },
      doing,
    );
    if (res.status === 404) this.fail("NOT_FOUND", doing, res);
    if (res.status !== 200) this.fail("HTTP", doing, res);
    const digest = sha256Digest(res.body);
    const expected = reference.startsWith("sha256:") ? reference : res.headers["docker-content-digest"];
    if (expected !== undefined && expected !== digest)
      throw new RegistryError(
        "DIGEST_MISMATCH",
        `${this.ref.text}: manifest ${reference} does not match its digest ${expected}: the registry sent bytes hashing to ${digest}`,
      );
    return { bytes: res.body, digest, mediaType: (res.headers["content-type"] ?? "").split(";")[0]!.trim() };
  }

  /** Whether the repository has the manifest (by tag or digest). */
  *hasManifest(reference: string): Op<boolean> {
    const doing = `checking manifest ${reference}`;
    const res = yield* this.send(
      { method: "HEAD", url: this.repoUrl(`manifests/${reference}`), headers: { accept: MANIFEST_ACCEPT } },
      doing,
    );
    if (res.status === 404) return false;
    if (res.status !== 200) this.fail("HTTP", doing, res);
    return true;
  }

  /** Stores a manifest under a tag or its digest; returns its digest. */
  *putManifest(reference: string, bytes: Uint8Array, mediaType = OCI_MANIFEST): Op<string> {
    const doing = `storing manifest ${reference}`;
    const res = yield* this.send(
      {
        method: "PUT",
        url: this.repoUrl(`manifests/${reference}`),
        headers: { "content-type": mediaType },
        body: bytes,
      },
      doing,
      "pull,push",
    );
    if (res.status !== 201) this.fail("HTTP", doing, res);
    return sha256Digest(bytes);
  }
}
