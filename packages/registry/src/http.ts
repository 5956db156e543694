/**
 * The registry client is written once, as generators that *yield* what they need done
 * (an HTTP exchange, a pause) and receive the result: "sans-I/O". A driver performs the
 * effects: `runAsync` with `fetch` (Node 20, browsers), `runSync` with a blocking transport
 * (Node: a worker thread, see `@amber/registry/node`), which is what lets the checkpoint
 * reader's synchronous random-access file fetch a chunk on first touch.
 */

export interface HttpRequest {
  method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
  url: string;
  headers: Record<string, string>;
  body?: Uint8Array;
}

export interface HttpResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: Uint8Array;
  /** The URL answered (after redirects). */
  url: string;
}

/** A connection-level failure (refused, reset, DNS): no response at all. */
export interface NetworkFailure {
  networkError: string;
}

export type Effect = { http: HttpRequest } | { sleep: number };
export type EffectResult = HttpResponse | NetworkFailure | undefined;

/** A registry operation: yields effects, returns T. */
export type Op<T> = Generator<Effect, T, EffectResult>;

/** Performs one HTTP exchange with `fetch`, buffering the body. */
export async function fetchExchange(
  fetchImpl: typeof fetch,
  req: HttpRequest,
): Promise<HttpResponse | NetworkFailure> {
  try {
    const res = await fetchImpl(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body as BodyInit | undefined,
      redirect: "follow",
    });
    const body = req.method === "HEAD" ? new Uint8Array(0) : new Uint8Array(await res.arrayBuffer());
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => {
      headers[k.toLowerCase()] = v;
    });
    return { status: res.status, headers, body, url: res.url || req.url };
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    return { networkError: cause?.code ?? cause?.message ?? (e as Error).message };
  }
}

/** Runs an operation with `fetch` and timers. */
export async function runAsync<T>(op: Op<T>, fetchImpl: typeof fetch = globalThis.fetch): Promise<T> {
  let next = op.next(undefined);
  while (!next.done) {
    const effect = next.value;
    let result: EffectResult;
    if ("http" in effect) result = await fetchExchange(fetchImpl, effect.http);
    else {
      await new Promise((r) => setTimeout(r, effect.sleep));
      result = undefined;
    }
    next = op.next(result);
  }
  return next.value;
}

/** A blocking transport: one exchange, and a pause. */
export interface SyncTransport {
  exchange(req: HttpRequest): HttpResponse | NetworkFailure;
  sleep(ms: number): void;
}

/** Runs an operation to completion, blocking on each effect. */
export function runSync<T>(op: Op<T>, transport: SyncTransport): T {
  let next = op.next(undefined);
  while (!next.done) {
    const effect = next.value;
    let result: EffectResult;
    if ("http" in effect) result = transport.exchange(effect.http);
    else {
      transport.sleep(effect.sleep);
      result = undefined;
    }
    next = op.next(result);
  }
  return next.value;
}

/** Runs operations on either driver. */
export interface Runner {
  run<T>(op: Op<T>): Promise<T>;
}
