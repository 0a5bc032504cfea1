// API keys: stored only as SHA-256 hashes, compared in constant time; a key is read-only or read-write.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { Forbidden, Unauthorized } from "./errors.ts";

export type Access = "read" | "write";
export type KeyHash = { hash: string; access: Access };

export const hashKey = (key: string) => createHash("sha256").update(key, "utf8").digest("hex");
export const newApiKey = () => `se_${randomBytes(24).toString("base64url")}`;

/** Parse `hash:rw,hash:ro` (the deployment's key list) into key hashes. */
export function parseKeyHashes(text: string): KeyHash[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const [hash, mode = "rw"] = entry.split(":");
      if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error("API key hashes must be 64 hex characters (SHA-256)");
      return { hash, access: mode === "ro" ? "read" : "write" };
    });
}

export function authorize(authorization: string | undefined, keys: KeyHash[], needed: Access): Access {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
  if (!match) throw new Unauthorized("send an API key as 'Authorization: Bearer <key>'");
  const presented = Buffer.from(hashKey(match[1]), "hex");
  let found: KeyHash | undefined;
  for (const key of keys) {
    // Compare against every key, so timing does not tell how many keys exist or which matched.
    if (timingSafeEqual(presented, Buffer.from(key.hash, "hex"))) found = key;
  }
  if (!found) throw new Unauthorized("the API key is not valid");
  if (needed === "write" && found.access !== "write") throw new Forbidden("this API key is read-only");
  return found.access;
}
