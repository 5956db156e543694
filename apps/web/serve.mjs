// A tiny static file server for the web app: serves dist/ (or --root DIR) on 127.0.0.1
// with the headers that make the page cross-origin isolated (COOP/COEP, so that
// SharedArrayBuffer is there if a later version wants it) and with single-range HTTP Range
// support, so `?image=URL` worlds are read lazily. `--mount /prefix=DIR` serves another
// folder too (e.g. a machine directory's worlds/). `--no-range` turns ranges off (to compare).
//
//   node apps/web/serve.mjs [--port 8080] [--root DIR] [--mount /worlds=DIR] [--no-range]
import { createReadStream, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
  ".json": "application/json",
  ".wasm": "application/wasm",
};

/** Starts the server; resolves with it and its URL once it listens. */
export function serve({ root, port = 0, mounts = {}, ranges = true, log = () => {} }) {
  const places = [
    ...Object.entries(mounts).map(([p, d]) => [p.replace(/\/$/, ""), resolve(d)]),
    ["", resolve(root)],
  ];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    let pathname;
    try {
      pathname = decodeURIComponent(url.pathname);
    } catch {
      res.writeHead(400).end("bad path\n");
      return;
    }
    const place = places.find(
      ([prefix]) => prefix === "" || pathname === prefix || pathname.startsWith(`${prefix}/`),
    );
    const [prefix, dir] = place;
    let rel = pathname.slice(prefix.length);
    if (rel === "" || rel.endsWith("/")) rel += "index.html";
    const file = normalize(join(dir, rel));
    if (file !== dir && !file.startsWith(dir + sep)) {
      res.writeHead(403).end("outside the served folder\n");
      return;
    }
    let size;
    try {
      const st = statSync(file);
      if (!st.isFile()) throw new Error("not a file");
      size = st.size;
    } catch {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
      log(`${req.method} ${pathname} 404`);
      return;
    }
    const headers = {
      "Content-Type": TYPES[extname(file)] ?? "application/octet-stream",
      "Cross-Origin-Opener-Policy": "same-origin",
      "Cross-Origin-Embedder-Policy": "require-corp",
      "Cross-Origin-Resource-Policy": "same-origin",
      "Cache-Control": "no-cache",
    };
    if (ranges) headers["Accept-Ranges"] = "bytes";
    const range = ranges ? /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? "") : null;
    if (range !== null && (range[1] !== "" || range[2] !== "")) {
      let start = range[1] === "" ? size - Number(range[2]) : Number(range[1]);
      let end = range[1] === "" || range[2] === "" ? size - 1 : Number(range[2]);
      start = Math.max(0, start);
      end = Math.min(end, size - 1);
      if (start > end) {
        res.writeHead(416, { ...headers, "Content-Range": `bytes */${size}` }).end();
        return;
      }
      res.writeHead(206, {
        ...headers,
        "Content-Range": `bytes ${start}-${end}/${size}`,
        "Content-Length": end - start + 1,
      });
      log(`${req.method} ${pathname} 206 ${start}-${end}`);
      if (req.method === "HEAD") res.end();
      else createReadStream(file, { start, end }).pipe(res);
      return;
    }
    res.writeHead(200, { ...headers, "Content-Length": size });
    log(`${req.method} ${pathname} 200 ${size}`);
    if (req.method === "HEAD") res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((ok) => {
    server.listen(port, "127.0.0.1", () => ok({ server, url: `http://127.0.0.1:${server.address().port}/` }));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : fallback;
  };
  if (args.includes("--help")) {
    console.log(
      "usage: node apps/web/serve.mjs [--port 8080] [--root DIR] [--mount /prefix=DIR]... [--no-range]",
    );
    process.exit(0);
  }
  const mounts = {};
  args.forEach((a, i) => {
    if (a === "--mount") {
      const [p, d] = args[i + 1].split("=");
      mounts[p] = d;
    }
  });
  const { url } = await serve({
    root: opt("--root", fileURLToPath(new URL("dist", import.meta.url))),
    port: Number(opt("--port", "8080")),
    mounts,
    ranges: !args.includes("--no-range"),
  });
  console.error(`amber web: serving on ${url} (Ctrl-C stops)`);
}
