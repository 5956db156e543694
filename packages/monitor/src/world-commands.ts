/** Monitor commands on saved worlds: save (and the guest's save-world), list, restore, diff, recompress. */
import type { CheckpointReader } from "@amber/checkpoint";
import { diffImages, formatImageDiff } from "./checkpoint-diff.js";
import { formatBytes } from "./format.js";
import { MonitorError } from "./monitor-error.js";
import type { MonitorCommand, MonitorHost } from "./monitor-host.js";
import type { WorldSession } from "./world-session.js";
import type { DamagedWorld, WorldInfo, WorldRef } from "./world-store.js";

/** Saves of at least this many touched pages (32 MiB) show a progress bar. */
const PROGRESS_PAGES = 8192;

/** A world name of the store (or an image the store can find by path or URL), or a one-line error. */
async function findWorld(host: MonitorHost, ref: string): Promise<WorldRef> {
  const store = host.session.store;
  const found = await store.find(ref);
  if (found !== undefined) return found;
  const known = await store.names();
  throw new MonitorError(
    `no world "${ref}"${known.length > 0 ? ` (saved: ${known.join(", ")})` : " (none saved yet: :save NAME)"}`,
  );
}

export async function confirmDiscard(host: MonitorHost, doing: string): Promise<boolean> {
  const s = host.session;
  if (s.state === "exited" || s.unsavedSteps === 0) return true;
  const since = s.baseline === undefined ? "since boot" : `since ${s.baseline.name}`;
  return host.confirm(
    `${doing} discards unsaved work (${s.unsavedSteps.toLocaleString("en")} instructions ${since}). Go on? [y/N] `,
  );
}

/**
 * Saves the live world as `name` (incremental on its baseline unless `full`) and says so:
 * what `:save` does, and what a guest's `(save-world "name")` asks for (`guestAwaits`).
 * With `compact`, the guest (Amber Lisp, waiting at its prompt) first compacts its heap and
 * clears its free space, so the world stores only live data. A MonitorError when the name
 * cannot be used or the guest cannot compact now; nothing is saved then.
 */
export async function saveWorldAs(
  host: MonitorHost,
  requested: string | undefined,
  options: { full?: boolean; compact?: boolean; guestAwaits?: boolean } = {},
): Promise<void> {
  const s = host.session;
  // A save still being made durable (the guest asked for one during a :save) goes first:
  // this one is incremental on it, or on the world before it if it failed.
  await s.whenSaved();
  const store = s.store;
  const name = requested === undefined ? await store.nextName() : store.checkName(requested);
  if (s.baseline !== undefined && s.baseline.location === store.locationOf(name)) {
    throw new MonitorError(
      `${name} is the world this one came from (the parent of this save): choose another name`,
      "usage",
    );
  }
  const children = (await store.list()).filter((w) => "parent" in w && w.parent === name);
  if (children.length > 0) {
    throw new MonitorError(
      `${name} is the parent of ${children.map((c) => c.name).join(", ")}: overwriting it would break them; choose another name`,
      "usage",
    );
  }
  let compaction = "";
  if (options.compact) {
    const t = performance.now();
    const { figures, steps } = await s.compactGuest();
    compaction = `; the guest compacted in ${(performance.now() - t).toFixed(1)} ms, ${steps.toLocaleString("en")} instructions (${figures})`;
  }
  // (Again: another save may have begun while this one was being prepared.)
  for (let last = s.whenSaved(); ; last = s.whenSaved()) {
    await last;
    if (last === s.whenSaved()) break;
  }
  // Worlds of a few MiB save in a blink: a bar only for the long ones.
  const bar =
    s.machine.ram.allocatedPages >= PROGRESS_PAGES
      ? host.progress(`saving ${name}`)
      : { update: () => {}, stop: () => {} };
  const started = performance.now();
  let report: ReturnType<WorldSession["save"]>;
  try {
    report = s.save(name, {
      full: options.full,
      guestAwaits: options.guestAwaits,
      progress: (d, t) => bar.update(d * 4096, t * 4096),
    });
  } finally {
    bar.stop();
  }
  // The pause the guest saw ends here; the image is made durable while the guest runs on,
  // and "saved" is said only once it is.
  const ms = performance.now() - started;
  await report.persisted;
  const durableMs = performance.now() - started;
  await store.setCurrent(name);
  const kind = report.parent === undefined ? "full" : `incremental on ${report.parent}`;
  const how = options.guestAwaits ? " (the guest's save-world)" : "";
  host.say(
    `saved ${name}${how} (${kind}): ${formatBytes(report.bytes)}, ${report.pages} page${report.pages === 1 ? "" : "s"}, at instruction ${report.steps.toLocaleString("en")}, in ${ms.toFixed(1)} ms (durable after ${durableMs.toFixed(1)} ms)${compaction} → ${report.location}\n`,
  );
}

export const save: MonitorCommand = {
  name: "save",
  args: "[NAME] [--full] [--compact]",
  summary:
    "save the world while it runs (incremental on the world it came from unless --full; --compact: the guest tidies its heap first)",
  async run(host, args) {
    const full = args.includes("--full");
    const compact = args.includes("--compact");
    const rest = args.filter((a) => a !== "--full" && a !== "--compact");
    if (rest.length > 1 || rest.some((a) => a.startsWith("--"))) {
      throw new MonitorError("usage: :save [NAME] [--full] [--compact]", "usage");
    }
    await saveWorldAs(host, rest[0], { full, compact });
  },
};

export const saves: MonitorCommand = {
  name: "saves",
  args: "",
  summary: "list the saved worlds (time, size, parent)",
  async run(host) {
    const store = host.session.store;
    const worlds: (WorldInfo | DamagedWorld)[] = await store.list();
    const current = await store.current();
    if (worlds.length === 0) {
      host.say("no saved worlds yet (:save NAME)\n");
      return;
    }
    const rows = worlds.map((w) => {
      const mark = current === w.name ? "*" : " ";
      if ("error" in w) return `${mark} ${w.name.padEnd(16)} DAMAGED: ${w.error}`;
      const when = w.created.toISOString().replace("T", " ").slice(0, 19);
      const parent = w.parent === undefined ? "(full)" : `on ${w.parent}`;
      return `${mark} ${w.name.padEnd(16)} ${when}  ${formatBytes(w.bytes).padStart(10)}  ${parent.padEnd(18)} ${w.instructions.toLocaleString("en")} insns  ${w.digest.slice(0, 12)}`;
    });
    host.out(
      `  ${"name".padEnd(16)} ${"saved (UTC)".padEnd(19)}  ${"size".padStart(10)}  ${"parent".padEnd(18)} instructions  digest\n${rows.join("\n")}\n`,
    );
  },
};

export const restore: MonitorCommand = {
  name: "restore",
  args: "NAME",
  summary: "replace the running world with a saved one (asks first if work is unsaved)",
  completesWorlds: true,
  async run(host, args) {
    if (args.length !== 1) throw new MonitorError("usage: :restore NAME", "usage");
    const world = await findWorld(host, args[0]!);
    if (!(await confirmDiscard(host, `restoring ${world.name}`))) {
      host.say("not restored\n");
      return;
    }
    const started = performance.now();
    await host.session.restore(world);
    if ((await host.session.store.find(world.name))?.location === world.location) {
      await host.session.store.setCurrent(world.name);
    }
    host.say(
      `restored ${world.name} at instruction ${host.session.machine.hart.steps.toLocaleString("en")} in ${(performance.now() - started).toFixed(1)} ms\n`,
    );
  },
};

export const diff: MonitorCommand = {
  name: "diff",
  args: "A [B]",
  summary: "what differs between two saved worlds (B: the world this one came from)",
  completesWorlds: true,
  async run(host, args) {
    if (args.length < 1 || args.length > 2) throw new MonitorError("usage: :diff A [B]", "usage");
    const store = host.session.store;
    const a = await findWorld(host, args[0]!);
    const baseline = host.session.baseline;
    if (args[1] === undefined && baseline === undefined)
      throw new MonitorError(":diff A needs B: this world was not saved or restored yet", "usage");
    const b: WorldRef =
      args[1] === undefined
        ? { name: baseline!.name, location: baseline!.location }
        : await findWorld(host, args[1]);
    const opened: CheckpointReader[] = [];
    try {
      const ra = await store.open(a);
      opened.push(ra);
      const rb = await store.open(b);
      opened.push(rb);
      host.out(formatImageDiff(diffImages(ra, rb), a.name, b.name, ra));
    } finally {
      for (const r of opened) r.close();
    }
  },
};

export const compact: MonitorCommand = {
  name: "compact",
  args: "[NAME...] | auto [on|off]",
  summary:
    "recompress saved worlds written with a fast codec to zstd (digests kept; all by default); auto: the idle-time pass",
  completesWorlds: true,
  async run(host, args) {
    if (args[0] === "auto") {
      if (host.idleCompact === undefined) throw new MonitorError("this host has no idle-time compaction");
      const how = args[1];
      if (args.length > 2 || (how !== undefined && how !== "on" && how !== "off"))
        throw new MonitorError("usage: :compact auto [on|off]", "usage");
      host.say(`${host.idleCompact(how === undefined ? undefined : how === "on")}\n`);
      return;
    }
    const store = host.session.store;
    if (store.compact === undefined) throw new MonitorError("this store cannot recompress its worlds");
    const names = args.length > 0 ? args : await store.names();
    if (names.length === 0) {
      host.say("no saved worlds yet (:save NAME)\n");
      return;
    }
    let saved = 0;
    let done = 0;
    for (const name of names) {
      const ref = await findWorld(host, name);
      const r = store.compact(ref);
      if (r === undefined) continue; // already compact
      done++;
      saved += r.bytesBefore - r.bytesAfter;
      host.say(
        `compacted ${ref.name}: ${formatBytes(r.bytesBefore)} → ${formatBytes(r.bytesAfter)}, digest kept\n`,
      );
    }
    host.say(
      done === 0
        ? "nothing to compact: every world is stored compressed\n"
        : `${done} world${done === 1 ? "" : "s"} compacted, ${formatBytes(Math.max(0, saved))} saved\n`,
    );
  },
};
