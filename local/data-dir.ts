// The folder `npm start -- --data DIR` keeps its DynamoDB and S3 data in: its layout (checked, so data
// from another spoteval version is named as such instead of failing obscurely), its lock (one stack per
// folder), and emptying it (--reset).
import { link, mkdir, readdir, readFile, rename, rm, unlink, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";

/** Version of what the folder holds; bump it when a change makes older folders unreadable. */
export const DATA_LAYOUT = 1;
const MARKER = "spoteval-data.json";
const LOCK = "stack.lock";

export const defaultDataDir = () => join(homedir(), ".spoteval", "local");

export const dataPaths = (dir: string) => ({
  marker: join(dir, MARKER),
  lock: join(dir, LOCK),
  /** DynamoDB's acknowledged writes, replayed on start (see dynamo-journal.ts). */
  dynamoJournal: join(dir, "dynamodb", "journal.jsonl"),
  s3: join(dir, "s3"),
  /** The process group of each engine running, so the next start can end what outlived a stack. */
  processes: join(dir, "processes"),
});

export class DataDirUnusable extends Error {
  override name = "DataDirUnusable";
}

/** Create the folder, or check that what is in it is spoteval data in this layout. */
export async function openDataDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const paths = dataPaths(dir);
  const entries = (await readdir(dir)).filter((e) => e !== LOCK && !e.startsWith(`${LOCK}.`));
  if (!entries.length) {
    await writeFile(
      paths.marker,
      `${JSON.stringify({ layout: DATA_LAYOUT, createdAt: new Date().toISOString() }, null, 2)}\n`,
    );
    return;
  }
  let marker: { layout?: unknown };
  try {
    marker = JSON.parse(await readFile(paths.marker, "utf8")) as { layout?: unknown };
  } catch {
    throw new DataDirUnusable(
      `${dir} is not empty and is not a spoteval data folder (no readable ${MARKER}): give --data an empty or new folder`,
    );
  }
  if (marker.layout !== DATA_LAYOUT)
    throw new DataDirUnusable(
      `${dir} holds spoteval data in layout ${String(marker.layout)}, from another spoteval version; this one reads layout ${DATA_LAYOUT}. ` +
        `Start that version to read it, use another --data folder, or empty it with npm start -- --reset --data ${dir}`,
    );
}

export type Lock = { release: () => Promise<void> };

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
};

/**
 * One stack per folder: the lock file is created atomically (a hard link, which fails if it exists) and
 * names its holder. A lock whose process is gone (a stack that was killed) is taken over.
 */
export async function lockDataDir(dir: string, holder: Record<string, unknown> = {}): Promise<Lock> {
  await mkdir(dir, { recursive: true });
  const { lock } = dataPaths(dir);
  const mine = `${lock}.${process.pid}`;
  await writeFile(mine, JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString(), ...holder }));
  try {
    for (let tries = 0; ; tries++) {
      try {
        await link(mine, lock);
        return {
          release: async () => {
            await unlink(lock).catch(() => undefined);
          },
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST" || tries > 2) throw error;
      }
      const held = await readHolder(lock);
      if (held?.pid && alive(held.pid))
        throw new DataDirUnusable(
          `${dir} is in use by another spoteval stack (pid ${held.pid}${held.api ? `, ${held.api}` : ""}): stop it first, or give --data another folder`,
        );
      // Stale: move it aside and check that what moved is the lock just read, not a new holder's.
      const aside = `${lock}.stale.${process.pid}`;
      await rename(lock, aside).catch(() => undefined);
      const moved = await readHolder(aside);
      if (moved && moved.pid !== held?.pid) await link(aside, lock).catch(() => undefined);
      await rm(aside, { force: true });
    }
  } finally {
    await rm(mine, { force: true });
  }
}

async function readHolder(file: string): Promise<{ pid?: number; api?: string } | undefined> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as { pid?: number; api?: string };
  } catch {
    return undefined;
  }
}

/** Empty the folder (every run, metric and results file); refuses while a stack holds it. */
export async function resetDataDir(dir: string): Promise<void> {
  const lock = await lockDataDir(dir);
  try {
    for (const entry of await readdir(dir)) {
      if (entry === LOCK || entry.startsWith(`${LOCK}.`)) continue;
      await rm(join(dir, entry), { recursive: true, force: true });
    }
  } finally {
    await lock.release();
  }
}
