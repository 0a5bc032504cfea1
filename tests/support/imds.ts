// A FAKE EC2 instance metadata service on loopback, IMDSv2 only (PUT token, then GETs with it),
// serving the Spot instance-action and rebalance recommendation paths like the real one: 404 until set.
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";

export async function fakeImds() {
  const token = randomUUID();
  const state: { instanceAction?: string; rebalance?: string; tokenRequests: number; rejected: number } = {
    tokenRequests: 0,
    rejected: 0,
  };
  const server = createServer((req, res) => {
    if (req.method === "PUT" && req.url === "/latest/api/token") {
      if (!req.headers["x-aws-ec2-metadata-token-ttl-seconds"]) return res.writeHead(400).end();
      state.tokenRequests++;
      return res.writeHead(200, { "content-type": "text/plain" }).end(token);
    }
    if (req.headers["x-aws-ec2-metadata-token"] !== token) {
      state.rejected++;
      return res.writeHead(401).end();
    }
    const body =
      req.url === "/latest/meta-data/spot/instance-action"
        ? state.instanceAction
        : req.url === "/latest/meta-data/events/recommendations/rebalance"
          ? state.rebalance
          : undefined;
    if (body === undefined) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": "text/plain" }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  return {
    endpoint: `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`,
    state,
    interrupt: (inSeconds = 120) => {
      state.instanceAction = JSON.stringify({
        action: "terminate",
        time: new Date(Date.now() + inSeconds * 1000).toISOString(),
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
