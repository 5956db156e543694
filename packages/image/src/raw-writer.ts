import type { BlockFile } from "./block-file.js";
import { isFilledWith, type PageSource } from "./page-source.js";

/**
 * Writes a page source as a raw file of exactly `size` bytes. Zero pages are skipped and
 * the file is sized by truncate, so on file systems with holes the result stays sparse.
 */
export function writeRaw(source: PageSource, out: BlockFile, onProgress?: (bytesDone: number) => void): void {
  const ps = source.pageSize;
  for (const page of source.pages()) {
    const at = page * ps;
    const data = source.readPage(page).subarray(0, Math.min(ps, source.size - at));
    if (!isFilledWith(data, 0)) out.write(at, data);
    onProgress?.(at + data.length);
  }
  if (out.truncate) out.truncate(source.size);
  else if (out.size() < source.size) out.write(source.size - 1, new Uint8Array(1));
}
