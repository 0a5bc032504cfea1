// DynamoDB data that survives a restart, without a native module: dynalite keeps its tables in memory,
// every write it acknowledges is appended to a journal file before the answer leaves, and the next start
// replays the journal, then rewrites it as the items it holds so it does not grow across restarts.
//
// Why not dynalite's own `path` option: its on-disk store is LevelDB through classic-level, a native
// addon whose install script builds it where no prebuilt binary fits the platform. The journal needs
// nothing but Node, and an acknowledged write is on disk even when the stack is killed outright.
import { appendFileSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { dirname } from "node:path";

/** The writes that change items. Table operations are not journaled: serverless.yml defines the table. */
const JOURNALED = new Set(["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"]);

type Entry = { op: string; body: Record<string, unknown> };

export class JournalUnreadable extends Error {
  override name = "JournalUnreadable";
}

async function call(url: string, op: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.0",
      "x-amz-target": `DynamoDB_20120810.${op}`,
      "x-amz-date": "20240101T000000Z",
      authorization:
        "AWS4-HMAC-SHA256 Credential=local/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=local",
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${op}: HTTP ${response.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * Replay the journal into the (empty) table at `url`, then rewrite it as the items the table now holds.
 * Returns how many items there are.
 */
export async function restoreJournal(file: string, url: string, table: string): Promise<number> {
  let text = "";
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const lines = text.split("\n");
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    let entry: Entry;
    try {
      entry = JSON.parse(line) as Entry;
    } catch {
      // A kill in the middle of an append leaves a partial last line: that write was never acknowledged.
      if (i >= lines.length - 2) break;
      throw new JournalUnreadable(`${file}:${i + 1} is not a journal entry`);
    }
    try {
      await call(url, entry.op, entry.body);
    } catch (error) {
      throw new JournalUnreadable(
        `${file}:${i + 1} (${entry.op}) does not apply to the table this spoteval defines: ${(error as Error).message}`,
      );
    }
  }
  // Compact: the items as they are now, 25 to an entry, written aside and moved into place.
  const items: unknown[] = [];
  let start: unknown;
  do {
    const page = await call(url, "Scan", {
      TableName: table,
      ...(start ? { ExclusiveStartKey: start } : {}),
    });
    items.push(...((page.Items as unknown[]) ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  await mkdir(dirname(file), { recursive: true });
  let compacted = "";
  for (let i = 0; i < items.length; i += 25) {
    const puts = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    compacted += `${JSON.stringify({ op: "BatchWriteItem", body: { RequestItems: { [table]: puts } } })}\n`;
  }
  await writeFile(`${file}.new`, compacted);
  await rename(`${file}.new`, file);
  return items.length;
}

/**
 * From now on, append every write dynalite acknowledges to the journal, synchronously before its
 * answer is sent: a caller that saw success finds the write again after a restart. Writes to one item
 * are answered in the order dynalite applied them (it locks the item), so the journal keeps that order.
 */
export function journalWrites(server: Server, file: string): void {
  const [handler] = server.listeners("request") as ((req: IncomingMessage, res: ServerResponse) => void)[];
  if (!handler) throw new Error("dynalite has no request handler to journal");
  server.removeAllListeners("request");
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const op = String(req.headers["x-amz-target"] ?? "").split(".")[1] ?? "";
    if (req.method === "POST" && JOURNALED.has(op)) {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
      res.end = ((...args: unknown[]) => {
        if (res.statusCode === 200) {
          const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
          appendFileSync(file, `${JSON.stringify({ op, body })}\n`);
        }
        return end(...args);
      }) as ServerResponse["end"];
    }
    handler(req, res);
  });
}
