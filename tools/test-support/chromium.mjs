// How this project runs a real browser: Debian's chromium (which `.ci/run` installs) under
// playwright-core, as root and headless, on a machine whose only network is loopback. One
// place for it, read by the browser tests and the web benchmark.

/** Debian's chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/**
 * Its flags: no sandbox (root), no GPU, and none of the background connections (updates,
 * sync, first-run) that a closed network refuses many at a time.
 */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--headless",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
