/**
 * Whether `actual` is an interleaving of the chunks of `a` and `b` (each kept in
 * order). QEMU writes the semihosting console and the UART to two different files, so
 * their relative order is lost; Amber writes both to stdout in program order.
 */
export function isInterleaving(actual: string[], a: string[], b: string[]): boolean {
  if (actual.length !== a.length + b.length) return false;
  // reachable[j] after row i: the first i+j lines of `actual` are a[0..i) merged with b[0..j).
  let reachable = new Array<boolean>(b.length + 1).fill(false);
  reachable[0] = true;
  for (let j = 1; j <= b.length; j++) reachable[j] = reachable[j - 1]! && b[j - 1] === actual[j - 1];
  for (let i = 1; i <= a.length; i++) {
    const next = new Array<boolean>(b.length + 1).fill(false);
    for (let j = 0; j <= b.length; j++) {
      const k = i + j - 1;
      next[j] =
        (reachable[j]! && a[i - 1] === actual[k]) || (j > 0 && next[j - 1]! && b[j - 1] === actual[k]);
    }
    reachable = next;
  }
  return reachable[b.length]!;
}

/** Splits output into lines, keeping each line's terminator so that nothing is lost. */
export const lines = (text: string): string[] => text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
