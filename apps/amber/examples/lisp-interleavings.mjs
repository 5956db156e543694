// A tiny model checker: three inputs may reach the Lisp world in any order. Fork the world
// once per interleaving, run each order in a thread of its own, and report the distinct
// final states (the value of x) and which orders lead to each.
//
//   amber script apps/amber/examples/lisp-interleavings.mjs
const PROMPT = "lisp> ";
const inputs = ["(set! x (+ x 1))", "(set! x (* x 2))", "(set! x (- x 3))"];

/** Every order of the items of `xs`. */
function permutations(xs) {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) =>
    permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]),
  );
}

const lisp = await amber.boot({ elf: new URL("../../../tools/guests/lisp/out/lisp.elf", import.meta.url) });
await lisp.expect(PROMPT);
lisp.type("(define x 1)\n");
await lisp.expect(PROMPT);

const orders = permutations(inputs);
const forks = await lisp.fork(orders.length);
const finals = await Promise.all(
  forks.map(async (world, i) => {
    for (const line of orders[i]) {
      await world.type(`${line}\n`);
      await world.expect(PROMPT);
    }
    await world.type("x\n");
    const { before } = await world.expect(PROMPT);
    await world.close();
    return before.trim();
  }),
);

const states = new Map();
for (const [i, x] of finals.entries()) states.set(x, [...(states.get(x) ?? []), orders[i]]);
console.log(
  `${orders.length} interleavings of ${inputs.length} inputs, ${states.size} distinct final states:`,
);
for (const [x, reached] of [...states].sort((a, b) => Number(a[0]) - Number(b[0]))) {
  console.log(`  x = ${x}: ${reached.map((o) => o.map((l) => l.slice(8, -1)).join(" ; ")).join("  |  ")}`);
}
lisp.close();
