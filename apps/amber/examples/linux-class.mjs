// A class demo, as SBUML's were: boot Linux once, save it at the shell prompt, then give
// each of 20 students a machine resumed from that instant, with a command of their own.
// Every copy starts from the same state: each reports the same uptime.
//
//   amber script apps/amber/examples/linux-class.mjs
const out = new URL("../../../tools/guests/linux/out/", import.meta.url);
const PROMPT = "amber# ";

const linux = await amber.boot({
  kernel: new URL("Image-mmu", out),
  firmware: new URL("firmware.elf", out),
});
await linux.expect(PROMPT);
const prompt = linux.save("prompt");
console.log(
  `booted to the prompt in ${prompt.instructions.toLocaleString("en")} instructions; saved (${prompt.bytes} bytes)`,
);

const commands = [
  "uname",
  "uptime",
  "boottime",
  "echo hello from student 3",
  "count 5",
  "ls /",
  "ls /proc",
  "cat /proc/version",
  "cat /proc/cpuinfo",
  "cat /proc/meminfo",
  "cat /proc/uptime",
  "echo 10 + 11 = 21",
  "count 12",
  "ls /dev",
  "cat /proc/cmdline",
  "cat /proc/interrupts",
  "echo goodbye",
  "cat /proc/loadavg",
  "echo the last but one",
  "help",
];
const uptimes = new Set();
for (const [i, command] of commands.entries()) {
  linux.restore("prompt");
  // First the uptime: every copy resumes at the same instant, so it is the same for all.
  linux.type("uptime\n");
  await linux.expect("uptime\r\n"); // the shell echoes the line
  uptimes.add((await linux.expect(PROMPT)).before.trim());
  linux.type(`${command}\n`);
  await linux.expect(`${command}\r\n`);
  const { before } = await linux.expect(PROMPT);
  const lines = before.trimEnd().split(/\r?\n/);
  console.log(`student ${String(i + 1).padStart(2)}: ${command} → ${lines.length} line(s): ${lines[0]}`);
}
console.log(
  `every student's machine started at the same instant: ${uptimes.size === 1 ? "yes" : "no"} (${[...uptimes].join(", ")})`,
);
linux.close();
