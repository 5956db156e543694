// Issue 16's targets, judged from the benchmark scripts' --json output: which figure of which
// script each target reads, its anchor from the same run, the goal and whether it is met, and
// the markdown table that shows them. Pure (no benchmark runs here): tools/bench/targets.mjs
// runs the scripts and feeds their JSON in. Fields are read by name and a missing one shows as
// "n/a", so a script that gains or loses fields does not break the table.

const MiB = 1 << 20;

/** The benchmarks the targets read, by the name `--only` takes, in the order they run. */
export const BENCHMARKS = ["cpu", "paged", "linux", "save", "resume", "rss", "process"];

/** `obj.a.b.c` for the path "a.b.c", or undefined where any step is missing. */
export function field(obj, path) {
  let x = obj;
  for (const k of path.split(".")) {
    if (x === null || typeof x !== "object") return undefined;
    x = x[k];
  }
  return x;
}

const num = (x) => (typeof x === "number" && Number.isFinite(x) ? x : undefined);
const show = (x, digits, unit = "") => (num(x) === undefined ? "n/a" : `${x.toFixed(digits)}${unit}`);
const ms = (x) => show(x, num(x) !== undefined && Math.abs(x) < 10 ? 1 : 0, " ms");
const seconds = (x) => show(x, 2, " s");
const times = (x) => show(x, 2, "×");
const mib = (x, digits = 0) => show(num(x) === undefined ? x : x / MiB, digits, " MiB");

/** Yes when `x` exists and passes `test`; undefined (shown "n/a") when it is missing. */
const judge = (x, test) => (num(x) === undefined ? undefined : test(x));

/** A save-speed row (kind, ramMiB, place; this tree's variant), or undefined. */
function saveRow(save, kind, place, ramMiB) {
  const rows = field(save, "rows");
  if (!Array.isArray(rows)) return undefined;
  return rows.find(
    (r) =>
      r?.kind === kind &&
      r.place === place &&
      (ramMiB === undefined || r.ramMiB === ramMiB) &&
      (r.variant === undefined || r.variant === "this tree"),
  );
}

/** Every other "…Ms" figure a save row carries (e.g. a pause or durable time), as "name X ms". */
function extraTimes(row) {
  if (!row) return "";
  const extra = Object.entries(row)
    .filter(([k, v]) => k.endsWith("Ms") && k !== "wallMs" && k !== "cpuMs" && num(v) !== undefined)
    .map(([k, v]) => `${k.slice(0, -2)} ${ms(v)}`);
  return extra.length ? `; ${extra.join(", ")}` : "";
}

function cpuRows(r, guest, goal, min, cpuIsTarget) {
  return [
    {
      target: `${guest}, Amber/QEMU TCG speed (wall)`,
      anchor: `QEMU ${seconds(field(r, "qemu.wallSeconds"))} wall (${show(field(r, "qemu.mips"), 1, " MIPS")})`,
      // Judged whole process against whole process; Amber's run alone is shown beside it.
      amber: `${seconds(field(r, "amber.seconds"))} run, ${seconds(field(r, "amber.wallSeconds"))} process (${show(field(r, "amber.mips"), 1, " MIPS")}; run alone ${times(field(r, "ratio"))})`,
      value: times(field(r, "wallRatio")),
      goal,
      met: judge(field(r, "wallRatio"), (x) => x >= min),
    },
    {
      target: `${guest}, Amber/QEMU TCG speed (CPU)`,
      anchor: `QEMU ${seconds(field(r, "qemu.cpuSeconds"))} CPU`,
      amber: `${seconds(field(r, "amber.cpuSeconds"))} CPU`,
      value: times(field(r, "cpuRatio")),
      goal: cpuIsTarget ? goal : "– (the target is wall)",
      met: cpuIsTarget ? judge(field(r, "cpuRatio"), (x) => x >= min) : null,
    },
  ];
}

function saveRows(save, kind, ramMiB, goalMs, label) {
  return ["disk", "tmpfs"].map((place) => {
    const row = saveRow(save, kind, place, ramMiB);
    // The full save's anchors: `lz4 -1` and `zstd -1` over the same 32 MiB of page bytes.
    const all = field(save, "rows");
    const anchors = Array.isArray(all) ? all.filter((r) => r?.kind === "anchor" && r.place === place) : [];
    return {
      target: `${label}, ${place === "disk" ? "disk (synced)" : "tmpfs"}`,
      anchor:
        kind !== "full"
          ? "–"
          : anchors.length
            ? anchors.map((a) => `${a.tool ?? "?"} CLI ${ms(a.wallMs)}`).join(", ")
            : "n/a",
      amber: `${ms(field(row, "wallMs"))} wall, ${ms(field(row, "cpuMs"))} CPU${extraTimes(row)}`,
      value: ms(field(row, "wallMs")),
      goal: `< ${goalMs} ms`,
      met: judge(field(row, "wallMs"), (x) => x < goalMs),
    };
  });
}

function rssRows(result) {
  const rss = field(result, "rss");
  const node0 = `\`node -e 0\` ${mib(field(result, "node0RssBytes"))}, Node with its JIT busy ${mib(field(result, "nodeJitRssBytes"))}`;
  if (!Array.isArray(rss) || rss.length === 0)
    return [
      {
        target: "RSS running a guest that touched T bytes",
        anchor: node0,
        amber: "n/a",
        value: "n/a",
        goal: "≤ 1.2·T + 50 MB",
        met: undefined,
      },
    ];
  return rss.map((r) => {
    const ratio =
      num(r?.rssBytes) !== undefined && num(r?.boundBytes) ? r.rssBytes / r.boundBytes : undefined;
    return {
      target: `peak RSS, guest touched T = ${mib(r?.touchedBytes, 1)}`,
      anchor: node0,
      amber: `RSS ${mib(r?.rssBytes)} (bound ${mib(r?.boundBytes)})`,
      value: `${show(ratio, 2)} of bound`,
      goal: "≤ 1.2·T + 50 MB",
      met: judge(ratio, (x) => x <= 1),
    };
  });
}

/**
 * The table's rows from the scripts' results, keyed by benchmark name (see BENCHMARKS).
 * A benchmark absent from `results` (not run) gives no rows; one present as null (it failed)
 * gives its rows with "n/a".
 */
export function evaluate(results) {
  const has = (name) => Object.hasOwn(results, name);
  const rows = [];
  if (has("cpu")) rows.push(...cpuRows(results.cpu, "bench.elf", "≥ 1.2×", 1.2, true));
  if (has("paged")) rows.push(...cpuRows(results.paged, "bench-paged (Sv32, S-mode)", "≥ 0.8×", 0.8, false));
  if (has("linux")) {
    const r = results.linux;
    rows.push({
      target: "Linux MMU boot to prompt, Amber/QEMU time",
      anchor: `QEMU ${seconds(field(r, "qemu.secondsToPrompt"))}`,
      amber: `${seconds(field(r, "amber.secondsToPrompt"))} (${show(field(r, "amber.mips"), 1, " MIPS")})`,
      value: times(field(r, "timeRatio")),
      goal: "≤ 1.0×",
      met: judge(field(r, "timeRatio"), (x) => x <= 1),
    });
  }
  if (has("save")) {
    rows.push(...saveRows(results.save, "full", 128, 50, "full save, 128 MiB RAM / 32 MiB touched"));
    for (const ram of [128, 1024])
      rows.push(
        ...saveRows(results.save, "incremental", ram, 3, `incremental save, 1 MiB dirty, ${ram} MiB RAM`),
      );
  }
  if (has("resume")) {
    // The user's path: `amber resume` in a fresh process with its V8 code cache, open to the
    // first guest instruction; without the cache and warm (Amber's own work) shown beside it.
    const r = results.resume;
    const first = field(r, "resume.firstMs");
    rows.push({
      target: "resume to first guest instruction, in process",
      anchor: "Firecracker < 8 ms (published)",
      amber: `${ms(first)} in \`amber resume\` with its code cache, CPU ${ms(field(r, "resume.firstCpuMs"))} (${ms(field(r, "resume.firstNoCacheMs"))} without; warm ${ms(field(r, "resume.warmMs"))}; ${mib(field(r, "resume.imageBytes"))} image)`,
      value: ms(first),
      goal: "< 5 ms",
      met: judge(first, (x) => x < 5),
    });
  }
  if (has("process")) {
    const r = results.process;
    const over = field(r, "overCpuMs");
    rows.push({
      target: "`amber resume` whole process over `node -e 0`",
      anchor: `\`node -e 0\` ${ms(field(r, "node0.cpuMs"))} CPU, ${ms(field(r, "node0.wallMs"))} wall`,
      amber: `${ms(field(r, "resume.cpuMs"))} CPU, ${ms(field(r, "resume.wallMs"))} wall`,
      value: num(over) === undefined ? "n/a" : `${over >= 0 ? "+" : ""}${ms(over)} CPU`,
      goal: "< +60 ms CPU",
      met: judge(over, (x) => x < 60),
    });
  }
  if (has("rss")) rows.push(...rssRows(results.rss));
  return rows;
}

const cell = (s) => String(s).replaceAll("|", "\\|").replaceAll("\n", " ");
const metText = (met) => (met === true ? "yes" : met === false ? "NO" : met === null ? "–" : "n/a");

/** The markdown table: target | anchor | Amber | ratio or value | goal | met? */
export function formatTable(rows) {
  const lines = [
    "| target | anchor (same run) | Amber | ratio or value | goal | met? |",
    "| --- | --- | --- | ---: | --- | --- |",
  ];
  for (const r of rows)
    lines.push(`| ${[r.target, r.anchor, r.amber, r.value, r.goal, metText(r.met)].map(cell).join(" | ")} |`);
  const judged = rows.filter((r) => r.met === true || r.met === false);
  const met = judged.filter((r) => r.met).length;
  const unknown = rows.filter((r) => r.met === undefined).length;
  lines.push("", `met ${met} of ${judged.length} judged targets${unknown ? `; ${unknown} n/a` : ""}`);
  return lines.join("\n");
}
