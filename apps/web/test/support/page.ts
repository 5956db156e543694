import type { Page } from "playwright-core";

/** Generous: headless Chromium on a loaded two-core machine. */
export const SHOWN_MS = 120_000;

interface AmberPage {
  amber: { terminalText(): string; monitorText(): string };
}

/** Waits until the terminal shows `text` (xterm's buffer, as a person reads it). */
export async function terminalShows(page: Page, text: string, timeout = SHOWN_MS): Promise<void> {
  await page.waitForFunction((t) => (window as unknown as AmberPage).amber.terminalText().includes(t), text, {
    timeout,
    polling: 200,
  });
}

/** Waits until the monitor's log matches `re`; returns the match. */
export async function monitorShows(page: Page, re: RegExp, timeout = SHOWN_MS): Promise<RegExpMatchArray> {
  await page.waitForFunction(
    ([source, flags]) =>
      new RegExp(source!, flags).test((window as unknown as AmberPage).amber.monitorText()),
    [re.source, re.flags],
    { timeout, polling: 200 },
  );
  return (await monitorText(page)).match(re)!;
}

export const terminalText = (page: Page) =>
  page.evaluate(() => (window as unknown as AmberPage).amber.terminalText());
export const monitorText = (page: Page) =>
  page.evaluate(() => (window as unknown as AmberPage).amber.monitorText());

/** Types a line into the console (xterm's keyboard input) and presses Enter. */
export async function typeLine(page: Page, line: string): Promise<void> {
  await page.locator(".xterm-helper-textarea").focus();
  await page.keyboard.type(line);
  await page.keyboard.press("Enter");
}

/** Runs a monitor command from the command line beside the terminal. */
export async function monitor(page: Page, line: string): Promise<void> {
  await page.locator("#monitor-line").fill(line);
  await page.locator("#monitor-line").press("Enter");
}
