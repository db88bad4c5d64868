// iwpm web: serves the replay page (build/web/) on the loopback interface.

import { createReadStream, existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CliError, type CliIO, type Command, EXIT, parseCommandArgs, parseCount } from "./command.js";

const help = `Usage: iwpm web [options] [FILE]

Serves the capture replay page on http://127.0.0.1:PORT/ and prints its URL.
The page is static and works offline: open a capture with its file picker or
drop one on it; decoding happens in the browser. With FILE the page opens
that capture at once. Stop with Ctrl-C.

Options:
  -p, --port PORT    port to listen on (default 8935; 0 picks a free one)
      --host HOST    address to bind (default 127.0.0.1: this machine only)
  -h, --help         this text

Exit codes: 0 stopped, 1 the page is not built or the port is taken,
2 bad usage, 3 unreadable FILE.`;

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".map": "application/json",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".ico": "image/x-icon",
  ".pcap": "application/vnd.tcpdump.pcap",
  ".pcapng": "application/octet-stream",
};

/** build/web next to the bundle (build/dist/cli.js) or from the sources (src/cli/). */
export function findWebRoot(): string {
  const candidates = ["../web/", "../../build/web/"].map((c) => fileURLToPath(new URL(c, import.meta.url)));
  const found = candidates.find((dir) => existsSync(path.join(dir, "index.html")));
  if (found === undefined) {
    throw new CliError(`the replay page is not built (no index.html in ${candidates.join(" or ")}); run \`npm run build\``, EXIT.FAILURE);
  }
  return found;
}

export interface WebServerOptions {
  root: string;
  host?: string;
  port?: number;
  /** A capture to serve at /capture/<name>, opened by the page at once. */
  capture?: string;
}

export interface WebServer {
  /** The page's URL (with the capture to open, when one was given). */
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const root = path.resolve(opts.root);
  const host = opts.host ?? "127.0.0.1";
  const captureName = opts.capture !== undefined ? path.basename(opts.capture) : undefined;
  const server = createServer((req, res) => {
    const send = (status: number, text: string) => {
      res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
      res.end(text);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, "only GET\n");
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    } catch {
      return send(400, "bad path\n");
    }
    let file: string;
    if (captureName !== undefined && opts.capture !== undefined && pathname === `/capture/${captureName}`) {
      file = opts.capture;
    } else {
      file = path.join(root, pathname.endsWith("/") ? `${pathname}index.html` : pathname);
      if (file !== root && !file.startsWith(root + path.sep)) return send(403, "outside the page\n");
    }
    stat(file).then(
      (st) => {
        if (!st.isFile()) return send(404, "not found\n");
        res.writeHead(200, {
          "content-type": TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream",
          "content-length": st.size,
          "cache-control": "no-cache",
          "x-content-type-options": "nosniff",
        });
        if (req.method === "HEAD") return res.end();
        createReadStream(file)
          .on("error", () => res.destroy())
          .pipe(res);
      },
      () => send(404, "not found\n"),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 8935, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  const hostText = host.includes(":") ? `[${host}]` : host;
  const base = `http://${hostText}:${port}/`;
  return {
    url: captureName !== undefined ? `${base}#capture=${encodeURIComponent(`capture/${captureName}`)}` : base,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function run(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    port: { type: "string", short: "p" },
    host: { type: "string" },
  });
  if (values.help) {
    io.stdout.write(`${help}\n`);
    return EXIT.OK;
  }
  if (positionals.length > 1) throw new CliError("at most one capture FILE", EXIT.USAGE);
  const port = values.port !== undefined ? parseCount(values.port as string, "--port") : 8935;
  if (port > 65535) throw new CliError(`--port ${port} is not 0..65535`, EXIT.USAGE);
  const capture = positionals[0];
  if (capture !== undefined) {
    try {
      if (!(await stat(capture)).isFile()) throw new Error("not a file");
    } catch {
      throw new CliError(`cannot read ${capture}: no such file`, EXIT.INPUT);
    }
  }
  const root = findWebRoot();
  let web: WebServer;
  try {
    web = await startWebServer({
      root,
      port,
      ...(values.host ? { host: values.host as string } : {}),
      ...(capture ? { capture: path.resolve(capture) } : {}),
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "EADDRINUSE") throw new CliError(`port ${port} is taken; choose another with --port (0 picks a free one)`, EXIT.FAILURE);
    if (e.code === "EADDRNOTAVAIL") throw new CliError(`cannot bind ${values.host}: no such local address`, EXIT.FAILURE);
    throw err;
  }
  io.stdout.write(`Serving the iwpm replay page at ${web.url}\n`);
  if (values.host && values.host !== "127.0.0.1" && values.host !== "::1" && values.host !== "localhost") {
    io.stderr.write(`iwpm web: listening on ${values.host}: other machines can load the page\n`);
  }
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      io.signal?.removeEventListener("abort", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    io.signal?.addEventListener("abort", stop, { once: true });
    if (io.signal?.aborted) stop();
  });
  await web.close();
  return EXIT.OK;
}

export const command: Command = { name: "web", summary: "serve the capture replay page on 127.0.0.1", help, run };
export default command;
