// Test support: `npm start` (local/main.ts) as a user runs it, in its own process, with the FAKE harness
// tools on PATH, its output read line by line; and the process tree under a pid, to prove nothing is
// left behind.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { projectRoot } from "../../local/stack.ts";

const fakes = join(projectRoot, "tests/fixtures/fake-harness");

/** A folder of FAKE tools to put first on PATH: `lm_eval`, `nvidia-smi`, `neuron-ls`, as named. */
export async function fakeTools(tools: ("lm_eval" | "nvidia-smi" | "neuron-ls")[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "spoteval-fake-bin-"));
  for (const tool of tools) await symlink(join(fakes, `${tool}.mjs`), join(dir, tool));
  return dir;
}

export const withPath = (dir: string) => `${dir}${delimiter}${process.env.PATH ?? ""}`;

export type StartedStack = {
  child: ChildProcess;
  lines: string[];
  stderr: string[];
  /** The first output line matching, once it is printed. */
  line: (pattern: RegExp, timeoutMs?: number) => Promise<string>;
  exited: Promise<number | null>;
  api: (path: string, init?: RequestInit) => Promise<Response>;
};

/** `node local/main.ts ARGS` on free ports with a known API key. */
export function npmStart(args: string[], env: Record<string, string> = {}): StartedStack {
  const child = spawn(process.execPath, ["local/main.ts", ...args], {
    cwd: projectRoot,
    env: { ...process.env, SPOTEVAL_PORT: "0", SPOTEVAL_API_KEY: "se_test_key", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const stderr: string[] = [];
  let partial = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop() ?? "";
    lines.push(...parts);
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => stderr.push(chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const line = async (pattern: RegExp, timeoutMs = 90_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = lines.find((l) => pattern.test(l));
      if (found) return found;
      if (gone || Date.now() > deadline)
        throw new Error(
          `no line matching ${pattern}${gone ? " (npm start exited)" : ""}:\n${lines.join("\n")}\n${stderr.join("")}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const api = async (path: string, init: RequestInit = {}) => {
    const base = (await line(/^API: /)).slice("API: ".length);
    return fetch(`${base}${path}`, {
      ...init,
      headers: { authorization: "Bearer se_test_key", "content-type": "application/json", ...init.headers },
    });
  };
  return { child, lines, stderr, line, exited, api };
}

/** Every process below `pid` (children, their children, ...), from /proc. */
export async function descendants(pid: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[1]) parents.set(Number(entry), Number(fields[1]));
  }
  const found: number[] = [];
  const visit = (parent: number) => {
    for (const [child, ppid] of parents)
      if (ppid === parent) {
        found.push(child);
        visit(child);
      }
  };
  visit(pid);
  return found;
}

/** Is the process still running (a zombie waiting for its parent to reap it has ended)? */
export async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  if (!stat) return false;
  return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
}

/** A process's command line, "" once it is gone. */
export const commandLine = async (pid: number) =>
  (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).replaceAll("\0", " ");
