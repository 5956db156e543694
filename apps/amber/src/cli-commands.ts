import type { RegisterCommands } from "./cli-context.js";

/**
 * The command groups, in the order `amber --help` lists them, each with the names it
 * registers and a loader: a command's modules are initialised only when it runs (in the
 * bundle too: esbuild defers a dynamically imported module's top level, the built-ins it
 * requires included), so `amber resume` does not run the image, registry, REPL, bundle,
 * script and relocate code.
 */
export interface CommandGroup {
  names: readonly string[];
  load(): Promise<RegisterCommands>;
}

export const COMMAND_GROUPS: readonly CommandGroup[] = [
  { names: ["run"], load: async () => (await import("./commands/run-cli.js")).registerRunCommand },
  { names: ["repl"], load: async () => (await import("./repl/repl-cli.js")).registerReplCommand },
  {
    names: ["replay", "bisect"],
    load: async () => (await import("./commands/replay-cli.js")).registerReplayCommands,
  },
  {
    names: ["resume", "inspect", "verify"],
    load: async () => {
      const { registerCheckpointCommands } = await import("./commands/checkpoint.js");
      return (program, ctx) =>
        registerCheckpointCommands(program, ctx.env, ctx.writeOut, (s) => ctx.setStatus(ctx.settled(s)));
    },
  },
  {
    names: ["convert", "squash", "diff"],
    load: async () => {
      const { registerCheckpointToolCommands } = await import("./commands/checkpoint-tools.js");
      return (program, ctx) => registerCheckpointToolCommands(program, ctx.writeOut, ctx.setStatus);
    },
  },
  {
    // `image read` and `image write` are subcommands of `image`.
    names: ["image"],
    load: async () => {
      const [{ registerImageCommands }, { registerImageByteCommands }] = await Promise.all([
        import("./commands/image.js"),
        import("./commands/image-bytes.js"),
      ]);
      return (program, ctx) => {
        registerImageCommands(program, ctx.env, ctx.writeOut, ctx.setStatus);
        registerImageByteCommands(program, ctx.env, ctx.writeOut, ctx.setStatus);
      };
    },
  },
  {
    names: ["push", "pull"],
    load: async () => {
      const { registerRegistryCommands } = await import("./commands/registry.js");
      return (program, ctx) => registerRegistryCommands(program, ctx.env, ctx.writeOut, ctx.setStatus);
    },
  },
  {
    names: ["bundle"],
    load: async () => {
      const { registerBundleCommand } = await import("./commands/bundle.js");
      return (program, ctx) => registerBundleCommand(program, ctx.env, ctx.writeOut, ctx.setStatus);
    },
  },
  {
    names: ["script"],
    load: async () => {
      const { registerScriptCommand } = await import("./commands/script.js");
      return (program, ctx) => registerScriptCommand(program, ctx.env, ctx.setStatus);
    },
  },
  {
    names: ["compact"],
    load: async () => {
      const { registerCompactCommand } = await import("./commands/compact.js");
      return (program, ctx) => registerCompactCommand(program, ctx.writeOut, ctx.setStatus);
    },
  },
  {
    names: ["relocate"],
    load: async () => {
      const { registerRelocateCommand } = await import("./commands/relocate.js");
      return (program, ctx) => registerRelocateCommand(program, ctx.env, ctx.writeOut, ctx.setStatus);
    },
  },
];

/**
 * The groups a command line needs: the one whose command comes first, none for a bare
 * `--version`, else all (help, `amber help X`, a mistyped command and its suggestion).
 */
export function commandGroupsFor(argv: readonly string[]): readonly CommandGroup[] {
  if (argv.length === 1 && (argv[0] === "-V" || argv[0] === "--version")) return [];
  const named = COMMAND_GROUPS.find((g) => g.names.includes(argv[0] ?? ""));
  return named === undefined ? COMMAND_GROUPS : [named];
}

/** Loads the groups' code (in parallel), keeping their order. */
export function loadCommands(groups: readonly CommandGroup[]): Promise<RegisterCommands[]> {
  return Promise.all(groups.map((g) => g.load()));
}
