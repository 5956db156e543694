import * as fs from "node:fs";
import * as path from "node:path";
import { CheckpointReader } from "@amber/checkpoint";
import { openCheckpoint } from "@amber/checkpoint/node";
import { MemoryBlockFile } from "@amber/image";
import { writeFileAtomic } from "@amber/image/node";
import { SECTION_SPECS } from "@amber/machine";
import {
  DEFAULT_CHUNK_SIZE,
  initRegistry,
  isRegistryError,
  parseRef,
  planWorld,
  pullWorlds,
  pushWorlds,
  type Ref,
  sha256Digest,
  singleFileBytes,
  type WorldPlan,
} from "@amber/registry";
import { clientFor, DirectoryBlobCache } from "@amber/registry/node";
import type { Command } from "commander";
import type { CliEnv } from "../cli-env.js";
import { ExitCode } from "../exit-codes.js";
import { formatBytes, sizeOption } from "../parse-size.js";
import { UserError } from "../user-error.js";
import { checkpointFailure, openImage } from "./checkpoint-open.js";
import { progressBar } from "./image-progress.js";
import { chosenCacheDir, isRemoteRef, registryFailure, useCache } from "./registry-open.js";

function refOf(text: string, insecure: boolean | undefined): Ref {
  try {
    return parseRef(text, { insecure });
  } catch (e) {
    if (isRegistryError(e)) throw registryFailure(e);
    throw e;
  }
}

/** Runs a registry operation; its failures become one-line errors. */
async function registryStep<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (isRegistryError(e)) throw registryFailure(e);
    throw e;
  }
}

export interface PushOptions {
  insecure?: boolean;
  json?: boolean;
  chunkSize?: string;
}

/** `amber push IMAGE REF`: the image and its parents, as worlds; only what the registry lacks goes up. */
export async function pushCommand(
  env: CliEnv,
  writeOut: (t: string) => void,
  image: string,
  refText: string,
  o: PushOptions,
): Promise<number> {
  const ref = refOf(refText, o.insecure);
  if (ref.digest !== undefined)
    throw new UserError(
      `${refText}: push names a tag, not a digest (the digest is the result)`,
      ExitCode.Usage,
    );
  if (isRemoteRef(image)) throw new UserError(`${image}: push takes a local image first`, ExitCode.Usage);
  const chunkSize =
    o.chunkSize === undefined ? DEFAULT_CHUNK_SIZE : sizeOption("--chunk-size", o.chunkSize, "512K, 1M");
  if (chunkSize < 4096 || chunkSize > 64 << 20)
    throw new UserError(`--chunk-size: ${chunkSize} is outside 4K..64M`, ExitCode.Usage);
  await initRegistry();
  const reader = openImage(image);
  let plans: WorldPlan[];
  try {
    plans = [];
    let parent: WorldPlan | undefined;
    for (const r of reader.chain.reverse()) {
      parent = planWorld(r, singleFileBytes(r), parent, chunkSize, sha256Digest);
      plans.push(parent);
    }
  } catch (e) {
    return checkpointFailure(e, image);
  } finally {
    reader.close();
  }
  const bar = progressBar("push", o.json !== true);
  const tag = ref.tag ?? "latest";
  const result = await registryStep(() =>
    pushWorlds(clientFor(ref), plans, tag, { onProgress: (p) => bar.update(p.done, p.total) }),
  ).finally(() => bar.stop());
  const digest = result.manifests.at(-1)!;
  const pinned = `${ref.host}/${ref.repository}@${digest}`;
  if (o.json) writeOut(`${JSON.stringify({ ref: refText, tag, digest, pinned, ...result }, null, 2)}\n`);
  else writeOut(`${pinned}\n`);
  env.stderr(
    `amber: pushed ${image} to ${refText}: ${result.uploadedBlobs} blobs (${formatBytes(result.uploadedBytes)}) sent, ${result.skippedBlobs} (${formatBytes(result.skippedBytes)}) already there\n`,
  );
  return ExitCode.Ok;
}

export interface PullOptions {
  output?: string;
  insecure?: boolean;
  json?: boolean;
  cache?: string;
}

/** `REPO-TAG.amber` in the working directory for `HOST/team/lisp:v1` → `lisp-v1.amber`. */
function defaultOutput(ref: Ref): string {
  const stem = ref.repository.split("/").at(-1)!;
  const which = ref.tag ?? (ref.digest ? ref.digest.slice(7, 19) : "latest");
  return `${stem}-${which}.amber`;
}

/**
 * `amber pull REF [-o IMAGE]`: the world and its parents as image files, each written under
 * a temporary name and renamed when whole (a pull cut short leaves nothing half-written).
 * Parents go beside IMAGE under the names the child's hints give, so the chain opens as
 * pushed; an existing file with another digest is never overwritten.
 */
export async function pullCommand(
  env: CliEnv,
  writeOut: (t: string) => void,
  refText: string,
  o: PullOptions,
): Promise<number> {
  const ref = refOf(refText, o.insecure);
  useCache(o.cache);
  await initRegistry();
  const out = o.output ?? defaultOutput(ref);
  const cache = new DirectoryBlobCache(chosenCacheDir());
  const bar = progressBar("pull", o.json !== true);
  const client = clientFor(ref);
  const pulled = await registryStep(() =>
    pullWorlds(client, { cache, onProgress: (done, total) => bar.update(done, total) }),
  ).finally(() => bar.stop());
  // Names: the top world at OUT, each parent where its child's hint points (beside OUT).
  const targets: string[] = [];
  let target = out;
  for (const w of pulled) {
    targets.push(target);
    let hint = "";
    try {
      hint = CheckpointReader.open(new MemoryBlockFile(w.bytes, target, false), { withoutParent: true })
        .header.parentHint;
    } catch (e) {
      return checkpointFailure(e, refText);
    }
    target = path.join(
      path.dirname(out),
      path.basename(hint) || `${w.world.config.parent?.image.slice(0, 16)}.amber`,
    );
  }
  const files: { file: string; digest: string; manifest: string; written: boolean }[] = [];
  for (let i = pulled.length - 1; i >= 0; i--) {
    const w = pulled[i]!;
    const file = targets[i]!;
    const digest = w.world.config.image.digest;
    let written = false;
    if (fs.existsSync(file)) {
      let existing: string | undefined;
      try {
        const r = openCheckpoint(file, { withoutParent: true });
        existing = r.digest;
        r.close();
      } catch {}
      if (existing !== digest)
        throw new UserError(
          `${file}: exists${existing ? ` with digest ${existing}` : " and is not a checkpoint"}; pull would need it to hold ${digest} (not overwritten)`,
          ExitCode.Failure,
        );
    } else {
      try {
        writeFileAtomic(file, (f) => f.write(0, w.bytes));
      } catch (e) {
        return checkpointFailure(e, file);
      }
      written = true;
    }
    files.push({ file, digest, manifest: w.world.manifest.digest, written });
  }
  // The chain as written opens and checks whole: every section, page map and page.
  try {
    const r = openCheckpoint(out, { sections: SECTION_SPECS });
    try {
      r.verify();
    } finally {
      r.close();
    }
  } catch (e) {
    return checkpointFailure(e, out);
  }
  const fetched = client.traffic.bytesReceived;
  if (o.json)
    writeOut(`${JSON.stringify({ ref: refText, files: files.reverse(), fetchedBytes: fetched }, null, 2)}\n`);
  else writeOut(`${out}\n`);
  env.stderr(
    `amber: pulled ${refText} → ${out} (${pulled.length} world${pulled.length === 1 ? "" : "s"}, ${formatBytes(fetched)} fetched, the rest from the cache)\n`,
  );
  return ExitCode.Ok;
}

export function registerRegistryCommands(
  program: Command,
  env: CliEnv,
  writeOut: (t: string) => void,
  setStatus: (s: Promise<number>) => void,
): void {
  const failure = (p: Promise<number>) =>
    p.catch((e: unknown) => {
      if (e instanceof UserError) {
        env.stderr(`amber: ${e.message}\n`);
        return e.exitCode;
      }
      throw e;
    });
  const refHelp = `
REF is [http://|https://]HOST[:PORT]/REPO[:TAG|@sha256:DIGEST], as OCI tools write it.
Plain HTTP (http:// or --insecure) is only allowed to localhost, 127.0.0.1 and [::1].
Credentials come from AMBER_REGISTRY_USER/AMBER_REGISTRY_PASSWORD or the Docker config
file ($DOCKER_CONFIG/config.json, else ~/.docker/config.json, "auths"), never from
the command line.

Exit status: 0 done, 2 bad command line or REF, 125 when the image or the registry
failed (unreachable, refused, a blob that does not match its digest).`;
  program
    .command("push")
    .description(
      "Push an image and its parents to an OCI registry as Amber worlds (only the chunks it lacks).",
    )
    .argument("<image>", "a saved image (its parent chain goes too)")
    .argument("<ref>", "where: HOST[:PORT]/REPO[:TAG] (tag latest when none)")
    .option("--insecure", "plain HTTP (only to localhost)")
    .option("--chunk-size <size>", "bytes per content-addressed chunk, e.g. 1M (default 512K)")
    .option("--json", "print the result as JSON")
    .addHelpText("after", refHelp)
    .action((image: string, ref: string, o: PushOptions) =>
      setStatus(failure(pushCommand(env, writeOut, image, ref, o))),
    );
  program
    .command("pull")
    .description("Pull a world (and its parents) from an OCI registry into image files.")
    .argument("<ref>", "HOST[:PORT]/REPO[:TAG|@sha256:DIGEST]")
    .option("-o, --output <image>", "the image file to write (default REPO-TAG.amber); parents go beside it")
    .option("--insecure", "plain HTTP (only to localhost)")
    .option("--cache <dir>", "the shared chunk cache (default $XDG_CACHE_HOME/amber or ~/.cache/amber)")
    .option("--json", "print the files written as JSON")
    .addHelpText("after", refHelp)
    .action((ref: string, o: PullOptions) => setStatus(failure(pullCommand(env, writeOut, ref, o))));
}
