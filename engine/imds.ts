// EC2 instance metadata (IMDSv2 only): the Spot interruption notice and the rebalance recommendation.
// The endpoint is the SDK's own variable, AWS_EC2_METADATA_SERVICE_ENDPOINT, default 169.254.169.254.

export type Notice = { kind: "spot-interruption" | "rebalance"; detail: string };

export class Imds {
  readonly endpoint: string;
  private token?: { value: string; expires: number };

  constructor(endpoint = "http://169.254.169.254") {
    this.endpoint = endpoint.replace(/\/$/, "");
  }

  private async tokenValue(): Promise<string> {
    if (this.token && this.token.expires > Date.now() + 30_000) return this.token.value;
    const res = await fetch(`${this.endpoint}/latest/api/token`, {
      method: "PUT",
      headers: { "X-aws-ec2-metadata-token-ttl-seconds": "21600" },
      signal: AbortSignal.timeout(2000),
    });
    if (!res.ok) throw new Error(`IMDS token: HTTP ${res.status}`);
    this.token = { value: await res.text(), expires: Date.now() + 21_600_000 };
    return this.token.value;
  }

  /** A metadata path's body, or undefined when it does not exist (404: no notice). */
  async get(path: string): Promise<string | undefined> {
    const res = await fetch(`${this.endpoint}/latest/meta-data/${path}`, {
      headers: { "X-aws-ec2-metadata-token": await this.tokenValue() },
      signal: AbortSignal.timeout(2000),
    });
    if (res.status === 404) return undefined;
    if (res.status === 401) {
      this.token = undefined;
      throw new Error("IMDS token rejected");
    }
    if (!res.ok) throw new Error(`IMDS ${path}: HTTP ${res.status}`);
    return res.text();
  }

  /** The first notice that the instance is going away or should be left, if any. */
  async notice(): Promise<Notice | undefined> {
    const action = await this.get("spot/instance-action");
    if (action) return { kind: "spot-interruption", detail: action };
    const rebalance = await this.get("events/recommendations/rebalance");
    if (rebalance) return { kind: "rebalance", detail: rebalance };
    return undefined;
  }
}
