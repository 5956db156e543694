import { SingleBar } from "cli-progress";

/**
 * A progress bar on stderr for long conversions, only when stderr is a terminal (never in
 * pipes, logs or tests) and without colour under NO_COLOR. cli-progress: maintained, no
 * dependencies beyond string-width, and redraws in place without flicker.
 */
export function progressBar(
  label: string,
  enabled: boolean,
): { update(done: number, total: number): void; stop(): void } {
  if (!enabled || !process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const plain = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== "";
  const bar = new SingleBar({
    format: `${label} [{bar}] {percentage}% | {value}/{total} MiB`,
    stream: process.stderr,
    barCompleteChar: plain ? "#" : "\u2588",
    barIncompleteChar: plain ? "-" : "\u2591",
    hideCursor: true,
    fps: 10,
  });
  let started = false;
  return {
    update(done, total) {
      const mib = (n: number) => Math.round(n / 1048576);
      if (!started) {
        bar.start(mib(total), 0);
        started = true;
      }
      bar.update(mib(done));
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
