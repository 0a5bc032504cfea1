// Another harness release or commit than the image's, installed into the harness's virtualenv at boot
// (vllm-neuron: the harness is an API client in its own CPU virtualenv, so this touches nothing of
// vLLM's). From the public repository's archive of that revision, so no git is needed on the instance.
import { spawn } from "node:child_process";
import type { BackendContext } from "./backends/backend.ts";
import { HarnessFailed } from "./backends/harness.ts";
import { lineSplitter } from "./progress.ts";

export const HARNESS_REPOSITORY = "https://github.com/EleutherAI/lm-evaluation-harness";

/** The revision cannot be had: not a tag, branch or commit of the repository. */
export class HarnessRevisionUnknown extends HarnessFailed {
  override name = "HarnessRevisionUnknown";
}
/** The revision exists but did not install (network, a dependency conflict, a build error). */
export class HarnessInstallFailed extends HarnessFailed {
  override name = "HarnessInstallFailed";
}

/** A release as the repository tags it (0.4.9 -> v0.4.9); a commit or branch as given. */
export const gitRef = (revision: string) => (/^\d+\.\d+\.\d+$/.test(revision) ? `v${revision}` : revision);
const sameRevision = (a: string, b: string) => gitRef(a) === gitRef(b);

/** What pip installs for a revision: lm_eval with its API-client extra, from GitHub's archive of it. */
export const harnessRequirement = (revision: string) =>
  `lm_eval[api] @ ${HARNESS_REPOSITORY}/archive/${gitRef(revision)}.tar.gz`;

/**
 * Installs `revision` unless the image has it already; returns whether it installed. Fails with
 * HarnessRevisionUnknown (the archive is not there) or HarnessInstallFailed, each with pip's last lines
 * in the attempt's log.
 */
export async function installHarness(
  ctx: BackendContext,
  pip: string[],
  revision: string,
  imageRevision: string,
): Promise<boolean> {
  if (sameRevision(revision, imageRevision)) return false;
  ctx.log(
    `harness: the image has ${imageRevision}; installing ${gitRef(revision)} from ${HARNESS_REPOSITORY}`,
  );
  const [file, ...pre] = pip;
  const tail: string[] = [];
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(file, [...pre, "install", "--no-cache-dir", harnessRequirement(revision)], {
      env: { ...process.env, ...ctx.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const onLine = (line: string) => {
      tail.push(line);
      if (tail.length > 50) tail.shift();
      ctx.log(`[pip] ${line}`);
    };
    const out = lineSplitter(onLine);
    const err = lineSplitter(onLine);
    child.stdout?.setEncoding("utf8").on("data", (c: string) => out.push(c));
    child.stderr?.setEncoding("utf8").on("data", (c: string) => err.push(c));
    const stop = () => child.kill("SIGTERM");
    ctx.signal.addEventListener("abort", stop, { once: true });
    child.once("error", (error) => {
      tail.push(`could not start pip: ${error.message}`);
      resolve(null);
    });
    child.once("close", (exit) => {
      out.end();
      err.end();
      ctx.signal.removeEventListener("abort", stop);
      resolve(exit);
    });
  });
  if (ctx.signal.aborted) throw ctx.signal.reason;
  if (code === 0) {
    ctx.log(`harness: ${gitRef(revision)} installed`);
    return true;
  }
  const text = tail.join("\n");
  const last = [...tail].reverse().find((l) => /error/i.test(l)) ?? tail.at(-1) ?? "";
  if (/HTTP error 404|404 Client Error|Not Found for url/i.test(text)) {
    throw new HarnessRevisionUnknown(
      `harness revision ${revision} unknown: ${HARNESS_REPOSITORY} has no tag, branch or commit ${gitRef(revision)}`,
    );
  }
  throw new HarnessInstallFailed(
    `harness ${gitRef(revision)} could not be installed (pip exit ${code ?? "signal"}): ${last.trim().slice(0, 300)}`,
  );
}
