// The harness takes one base_url: a small HTTP proxy spreads its requests over the vLLM replicas in
// turn (what optimum-neuron does with nginx). Requests are forwarded whole; nothing is buffered or
// retried here (the harness retries).
import { createServer, request, type Server } from "node:http";

export type RoundRobin = { port: number; served: number[]; close: () => Promise<void> };

export async function startRoundRobin(port: number, upstreams: number[]): Promise<RoundRobin> {
  const served = upstreams.map(() => 0);
  let next = 0;
  const server: Server = createServer((req, res) => {
    const i = next++ % upstreams.length;
    served[i]++;
    const upstream = request(
      { host: "127.0.0.1", port: upstreams[i], path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", (error) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: `replica on port ${upstreams[i]}: ${error.message}` }));
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    port,
    served,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
