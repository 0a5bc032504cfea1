// Where a run's callback may go: refused, at submit and again at each send after DNS resolution, when
// any address it resolves to is loopback, private, link-local (the instance metadata address among
// them), carrier-grade NAT, multicast, unspecified or reserved, so a callback cannot be turned inward.
// Only hosts on the deployment's explicit allowlist (empty by default) skip the address check.
import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { InvalidRequest } from "./errors.ts";

export type Resolve = (hostname: string) => Promise<string[]>;

export type CallbackPolicy = {
  /** "https" in AWS; the local stack adds "http". */
  schemes: string[];
  /** Hostnames or IP literals that may receive callbacks whatever they resolve to. */
  allowedHosts: string[];
  /** Every address a hostname resolves to (the product: the system resolver). */
  resolve: Resolve;
};

/** A callback target refused, and why (a 400 at submit; a recorded refusal at send). */
export class CallbackRefused extends InvalidRequest {
  override name = "CallbackRefused";
}

/** Every address of a hostname, as the system resolver (and so the HTTP client) would find them. */
export const systemResolve: Resolve = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

function ranges(kind: string, subnets: [string, number, "ipv4" | "ipv6"][]): [string, BlockList] {
  const list = new BlockList();
  for (const [net, prefix, type] of subnets) list.addSubnet(net, prefix, type);
  return [kind, list];
}

// Node's BlockList checks an IPv4-mapped IPv6 address (::ffff:a.b.c.d) against the IPv4 rules too.
const forbidden: [string, BlockList][] = [
  ranges("unspecified", [
    ["0.0.0.0", 8, "ipv4"],
    ["::", 128, "ipv6"],
  ]),
  ranges("loopback", [
    ["127.0.0.0", 8, "ipv4"],
    ["::1", 128, "ipv6"],
  ]),
  ranges("private", [
    ["10.0.0.0", 8, "ipv4"],
    ["172.16.0.0", 12, "ipv4"],
    ["192.168.0.0", 16, "ipv4"],
    ["fc00::", 7, "ipv6"],
  ]),
  ranges("link-local", [
    ["169.254.0.0", 16, "ipv4"],
    ["fe80::", 10, "ipv6"],
  ]),
  ranges("carrier-grade NAT", [["100.64.0.0", 10, "ipv4"]]),
  ranges("multicast", [
    ["224.0.0.0", 4, "ipv4"],
    ["ff00::", 8, "ipv6"],
  ]),
  ranges("reserved", [
    ["192.0.0.0", 24, "ipv4"],
    ["198.18.0.0", 15, "ipv4"],
    ["240.0.0.0", 4, "ipv4"],
    // NAT64 and 6to4 embed an IPv4 address that may be internal; IPv4-compatible (::a.b.c.d) too.
    ["64:ff9b::", 96, "ipv6"],
    ["64:ff9b:1::", 48, "ipv6"],
    ["2002::", 16, "ipv6"],
    ["::", 96, "ipv6"],
  ]),
];

/** Why an address may not receive a callback, or undefined when it may. */
export function forbiddenRange(address: string): string | undefined {
  const type = isIP(address);
  if (!type) return "not an IP address";
  const family = type === 4 ? "ipv4" : "ipv6";
  return forbidden.find(([, list]) => list.check(address, family))?.[0];
}

const bare = (hostname: string) => hostname.replace(/^\[|\]$/g, "").toLowerCase();

/**
 * Check a callback URL and return the addresses it may be sent to. The WHATWG URL parser has already
 * turned decimal, octal and hex IPv4 forms (http://2130706433/, http://0177.1/, http://0x7f.1/) into
 * dotted quads and IPv6 into its compressed form, so the literal tricks reach the range check as the
 * address they mean.
 */
export async function checkCallbackTarget(
  raw: string,
  policy: CallbackPolicy,
): Promise<{ url: URL; addresses: string[] }> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CallbackRefused("callbackUrl is not a URL");
  }
  const scheme = url.protocol.replace(/:$/, "");
  if (!policy.schemes.includes(scheme)) {
    throw new CallbackRefused(`callbackUrl must use ${policy.schemes.join(" or ")}, not ${scheme}`);
  }
  if (url.username || url.password) throw new CallbackRefused("callbackUrl may not carry credentials");
  const host = bare(url.hostname);
  const allowed = policy.allowedHosts.map(bare).includes(host);
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = await policy.resolve(host);
    } catch {
      throw new CallbackRefused(`callbackUrl's host ${host} does not resolve`);
    }
    if (!addresses.length) throw new CallbackRefused(`callbackUrl's host ${host} does not resolve`);
  }
  if (!allowed) {
    for (const address of addresses) {
      const why = forbiddenRange(address);
      if (why) {
        throw new CallbackRefused(
          `callbackUrl's host ${host} ${address === host ? "is" : `resolves to ${address}, which is`} a ${why} address; callbacks go to public addresses (or hosts on the deployment's allowlist)`,
        );
      }
    }
  }
  return { url, addresses };
}

/** A comma-separated setting as a list (CALLBACK_SCHEMES, CALLBACK_ALLOWED_HOSTS). */
export const listSetting = (value: string) =>
  value
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
