/** One line of the target table; `met` is undefined when the figure is missing, null when not judged. */
export interface TargetRow {
  target: string;
  anchor: string;
  amber: string;
  value: string;
  goal: string;
  met: boolean | null | undefined;
}
/** The benchmarks the targets read, by the name `--only` takes, in the order they run. */
export declare const BENCHMARKS: string[];
/** `obj.a.b.c` for the path "a.b.c", or undefined where any step is missing. */
export declare function field(obj: unknown, path: string): unknown;
/** The table's rows from the scripts' --json results keyed by benchmark name (null: it failed). */
export declare function evaluate(results: Record<string, unknown>): TargetRow[];
/** The markdown table: target | anchor | Amber | ratio or value | goal | met?, and a summary line. */
export declare function formatTable(rows: TargetRow[]): string;
