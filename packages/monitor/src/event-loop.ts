/** Scheduling on the host's event loop, the same in Node and in browsers. */
/** Runs `fn` soon, after pending I/O: setImmediate in Node, a MessageChannel in browsers and workers. */
export const scheduleSoon: (fn: () => void) => void = (() => {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown };
  if (typeof g.setImmediate === "function") return (fn) => void g.setImmediate!(fn);
  const queue: (() => void)[] = [];
  const channel = new MessageChannel();
  channel.port1.onmessage = () => queue.shift()?.();
  return (fn) => {
    queue.push(fn);
    channel.port2.postMessage(0);
  };
})();

/** A timer that does not keep a Node process alive (browsers have no unref). */
export function timer(fn: () => void, ms: number): void {
  const t = setTimeout(fn, ms) as unknown as { unref?: () => void };
  t.unref?.();
}

/**
 * A timer that can be called off (returns the function that cancels it) and, unlike
 * `timer`, keeps a Node process alive meanwhile: a guest waiting for its timer is running.
 */
export function cancellableTimer(fn: () => void, ms: number): () => void {
  const t = setTimeout(fn, ms);
  return () => clearTimeout(t);
}
