import { CapturedIo } from "@amber/machine";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { COMMAND_GROUPS, commandGroupsFor } from "../src/cli-commands.js";
import type { CliContext } from "../src/cli-context.js";
import { runCli, testEnv } from "./run-cli.js";

function context(): CliContext {
  return {
    env: testEnv(new CapturedIo(), () => {}),
    writeOut: () => {},
    streams: () => {
      throw new Error("no streams here");
    },
    setStatus: () => {},
    settled: (s) => s,
    report: () => 125,
  };
}

describe("commands loaded lazily, one group at a time (cli-commands.ts)", () => {
  it("each group registers exactly the commands the table names for it", async () => {
    for (const group of COMMAND_GROUPS) {
      const program = new Command("amber");
      (await group.load())(program, context());
      expect(program.commands.map((c) => c.name())).toEqual(group.names);
    }
  });

  it("`amber --help` lists every command, in the table's order", () => {
    const { status, out } = runCli(["--help"]);
    expect(status).toBe(0);
    const listed = [...out.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]);
    expect(listed).toEqual([...COMMAND_GROUPS.flatMap((g) => g.names), "help"]);
  });

  it("a command line loads its command's group; help, a bare --version and unknown words load what they need", () => {
    const names = (argv: string[]) => commandGroupsFor(argv).flatMap((g) => g.names);
    expect(names(["resume", "w.amber", "--max-insns", "5"])).toEqual(["resume", "inspect", "verify"]);
    expect(names(["image", "read", "x.qcow2", "0", "16"])).toEqual(["image"]);
    expect(names(["bisect", "a", "b"])).toEqual(["replay", "bisect"]);
    expect(names(["--version"])).toEqual([]);
    const all = COMMAND_GROUPS.flatMap((g) => g.names);
    expect(names([])).toEqual(all);
    expect(names(["--help"])).toEqual(all);
    expect(names(["help", "resume"])).toEqual(all);
    expect(names(["resme"])).toEqual(all); // so commander can suggest `resume`
    expect(names(["-V", "resume"])).toEqual(all);
  });
});
