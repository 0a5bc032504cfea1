// What a local instance left on this machine, on disk: one record per engine process group, so that the
// next stack on the same data folder can end whatever outlived the last one (a watcher killed with it,
// a harness that ignores its pipes) before it ends that run. Linux only (/proc); elsewhere the reaper
// in local-process.ts is the only net.
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

type ProcessRecord = { pgid: number; bootId: string; startTicks: number; runId: string; attempt: number };

const bootId = () => readFile("/proc/sys/kernel/random/boot_id", "utf8").then((s) => s.trim());

/** Process group and start time (clock ticks since boot) of a process, from /proc/PID/stat. */
async function stat(pid: number | string): Promise<{ pgrp: number; startTicks: number } | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  if (!text) return undefined;
  // Fields after the command (which may hold spaces): state ppid pgrp ... starttime is field 22.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  if (fields[0] === "Z") return undefined;
  return { pgrp: Number(fields[2]), startTicks: Number(fields[19]) };
}

/** Remember an engine's process group; nothing to do where there is no /proc. */
export async function recordGroup(dir: string, pgid: number, runId: string, attempt: number): Promise<void> {
  const leader = await stat(pgid);
  if (!leader) return;
  await mkdir(dir, { recursive: true });
  const record: ProcessRecord = {
    pgid,
    bootId: await bootId(),
    startTicks: leader.startTicks,
    runId,
    attempt,
  };
  await writeFile(join(dir, `${pgid}.json`), JSON.stringify(record));
}

export async function forgetGroup(dir: string, pgid: number): Promise<void> {
  await rm(join(dir, `${pgid}.json`), { force: true });
}

/** Processes of a recorded group still running: in the group, started no earlier than its leader. */
async function members(record: ProcessRecord): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const s = await stat(entry);
    if (s && s.pgrp === record.pgid && s.startTicks >= record.startTicks) found.push(Number(entry));
  }
  return found;
}

/**
 * End every process a recorded engine group still has (SIGTERM, then SIGKILL after `graceMs`), and
 * drop the records. Records from before the last boot name nothing. Returns the runs they belonged to.
 */
export async function endLeftovers(dir: string, graceMs = 5000): Promise<string[]> {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith(".json"));
  if (!files.length) return [];
  const boot = await bootId().catch(() => "");
  const runs: string[] = [];
  for (const file of files) {
    const record = JSON.parse(
      await readFile(join(dir, file), "utf8").catch(() => "null"),
    ) as ProcessRecord | null;
    if (record && boot && record.bootId === boot) {
      const pids = await members(record);
      if (pids.length) runs.push(record.runId);
      for (const pid of pids) signal(pid, "SIGTERM");
      const deadline = Date.now() + graceMs;
      while ((await members(record)).length && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      for (const pid of await members(record)) signal(pid, "SIGKILL");
    }
    await rm(join(dir, file), { force: true });
  }
  return runs;
}

function signal(pid: number, name: NodeJS.Signals) {
  try {
    process.kill(pid, name);
  } catch {
    // gone already
  }
}
