// The data folder of `npm start -- --data DIR`: one stack per folder, a lock left by a killed stack is
// taken over, data from another layout is named as such, and --reset empties it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  DATA_LAYOUT,
  DataDirUnusable,
  dataPaths,
  lockDataDir,
  openDataDir,
  resetDataDir,
} from "../../local/data-dir.ts";

const scratch = await mkdtemp(join(tmpdir(), "spoteval-data-dir-"));
after(() => rm(scratch, { recursive: true, force: true }));
const folder = async (name: string) => {
  const dir = join(scratch, name);
  await mkdir(dir, { recursive: true });
  return dir;
};

describe("the data folder", () => {
  it("holds one stack: a second is refused with the holder's pid, and can lock once the first let go", async () => {
    const dir = await folder("one");
    const lock = await lockDataDir(dir, { api: "http://127.0.0.1:4510" });
    await assert.rejects(lockDataDir(dir), (error: Error) => {
      assert.ok(error instanceof DataDirUnusable);
      assert.match(
        error.message,
        new RegExp(`in use by another spoteval stack \\(pid ${process.pid}, http://127.0.0.1:4510\\)`),
      );
      return true;
    });
    await lock.release();
    await (await lockDataDir(dir)).release();
  });

  it("takes over the lock of a stack that was killed", async () => {
    const dir = await folder("stale");
    const gone = spawn(process.execPath, ["-e", ""]);
    await new Promise((resolve) => gone.once("exit", resolve));
    await writeFile(dataPaths(dir).lock, JSON.stringify({ pid: gone.pid }));
    const lock = await lockDataDir(dir);
    await lock.release();
    assert.deepEqual(await readdir(dir), [], "no lock file left behind");
  });

  it("starts an empty folder in this layout and opens it again", async () => {
    const dir = await folder("fresh");
    await openDataDir(dir);
    await openDataDir(dir);
    assert.deepEqual(await readdir(dir), ["spoteval-data.json"]);
  });

  it("names data from another spoteval version instead of failing obscurely", async () => {
    const dir = await folder("older");
    await writeFile(dataPaths(dir).marker, JSON.stringify({ layout: DATA_LAYOUT + 1 }));
    await assert.rejects(
      openDataDir(dir),
      /holds spoteval data in layout 2, from another spoteval version; this one reads layout 1/,
    );
    const foreign = await folder("foreign");
    await writeFile(join(foreign, "notes.txt"), "mine");
    await assert.rejects(openDataDir(foreign), /is not empty and is not a spoteval data folder/);
  });

  it("--reset empties it, and refuses while a stack holds it", async () => {
    const dir = await folder("reset");
    await openDataDir(dir);
    await mkdir(join(dataPaths(dir).s3, "bucket"), { recursive: true });
    await mkdir(join(dir, "dynamodb"));
    await writeFile(dataPaths(dir).dynamoJournal, "{}\n");
    const lock = await lockDataDir(dir);
    await assert.rejects(resetDataDir(dir), /in use by another spoteval stack/);
    await lock.release();
    await resetDataDir(dir);
    assert.deepEqual(await readdir(dir), []);
  });
});
