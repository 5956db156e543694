/**
 * A file the user named could not be read: the one-line message, in words rather than
 * Node's errno text ("EISDIR: illegal operation on a directory, read"). `expected` says
 * what the file should have been ("a replay log (amber run --record FILE)").
 */
export function readFailure(file: string, e: unknown, expected: string): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "EISDIR") return `${file}: is a directory, expected ${expected}`;
  if (code === "ENOENT") return `${file}: cannot read: no such file`;
  if (code === "EACCES" || code === "EPERM") return `${file}: cannot read: permission denied`;
  return `${file}: cannot read: ${(e as Error).message}`;
}
