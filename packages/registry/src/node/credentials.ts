import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Credentials } from "../auth.js";
import { RegistryError } from "../errors.js";

/**
 * Credentials for a registry host, never from the command line:
 * 1. `AMBER_REGISTRY_USER` and `AMBER_REGISTRY_PASSWORD` (both set), for any host;
 * 2. the Docker/OCI config file, `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`:
 *    `auths["HOST[:PORT]"]` (also `https://HOST[:PORT]` and `http://HOST[:PORT]` keys) with
 *    `auth` (base64 `user:password`) or `username`/`password`, as `docker login` writes it.
 * Credential helpers (`credsStore`) are not run.
 */
export function credentialsFor(host: string, env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  const user = env.AMBER_REGISTRY_USER;
  const password = env.AMBER_REGISTRY_PASSWORD;
  if (user !== undefined && user !== "" && password !== undefined) return { username: user, password };
  const dir = env.DOCKER_CONFIG || path.join(os.homedir(), ".docker");
  const file = path.join(dir, "config.json");
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new RegistryError("IO_ERROR", `${file}: ${(e as Error).message}`);
  }
  let auths: Record<string, { auth?: unknown; username?: unknown; password?: unknown }>;
  try {
    auths = (JSON.parse(text) as { auths?: typeof auths }).auths ?? {};
  } catch (e) {
    throw new RegistryError("IO_ERROR", `${file}: not JSON (${(e as Error).message})`);
  }
  const entry = auths[host] ?? auths[`https://${host}`] ?? auths[`http://${host}`];
  if (entry === undefined) return undefined;
  if (typeof entry.auth === "string" && entry.auth !== "") {
    const plain = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = plain.indexOf(":");
    if (colon < 0)
      throw new RegistryError("IO_ERROR", `${file}: auths["${host}"].auth is not base64 of user:password`);
    return { username: plain.slice(0, colon), password: plain.slice(colon + 1) };
  }
  if (typeof entry.username === "string" && typeof entry.password === "string")
    return { username: entry.username, password: entry.password };
  return undefined;
}
