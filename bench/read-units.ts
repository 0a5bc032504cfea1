// DynamoDB read units from the items a request returned, as AWS bills them: an item's size is the sum of
// its attribute names and values (strings in UTF-8 bytes, numbers about one byte per two digits plus
// one, maps and lists 3 bytes plus their elements); a GetItem costs its item's size in 4 KB units, a
// Query the sum of the sizes it read in 4 KB units; eventually consistent reads cost half.
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

export function valueBytes(value: unknown): number {
  if (value === null || value === undefined || typeof value === "boolean") return 1;
  if (typeof value === "string") return Buffer.byteLength(value);
  if (typeof value === "number")
    return Math.ceil(String(Math.abs(value)).replace(/[.e+-]/g, "").length / 2) + 1;
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, v) => sum + 1 + valueBytes(v), 0);
  if (typeof value === "object")
    return (
      3 +
      Object.entries(value as Record<string, unknown>).reduce(
        (sum, [k, v]) => sum + Buffer.byteLength(k) + 1 + valueBytes(v),
        0,
      )
    );
  return 0;
}

export const itemBytes = (item: Record<string, unknown>) =>
  Object.entries(item).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + valueBytes(v), 0);

export type ReadMeter = { readUnits: number; requests: number; items: number };

/** A document client that counts the read units of every Get and Query it sends, into `meter`. */
export function meteredClient(db: DynamoDBDocumentClient, meter: ReadMeter): DynamoDBDocumentClient {
  const send = async (command: { constructor: { name: string }; input: { ConsistentRead?: boolean } }) => {
    const out = (await db.send(command as never)) as {
      Item?: Record<string, unknown>;
      Items?: Record<string, unknown>[];
    };
    const name = command.constructor.name;
    if (name === "GetCommand" || name === "QueryCommand") {
      const items = out.Item ? [out.Item] : (out.Items ?? []);
      const bytes = items.reduce((sum, i) => sum + itemBytes(i), 0);
      meter.readUnits += Math.max(1, Math.ceil(bytes / 4096)) * (command.input.ConsistentRead ? 1 : 0.5);
      meter.requests++;
      meter.items += items.length;
    }
    return out;
  };
  return new Proxy(db, { get: (target, key) => (key === "send" ? send : Reflect.get(target, key)) });
}
