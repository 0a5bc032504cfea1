// `npm start -- --engine hf --data DIR`: the hf backend runs on this machine (the FAKE lm_eval and FAKE
// nvidia-smi on PATH), its table is the one the harness wrote, not labelled simulated; the data folder
// keeps the run, its metrics and its results file across a restart; a stack killed mid-run leaves no
// process behind and the run ends with its reason on the next start; on a one-GPU machine two runs run
// one after the other.
import assert from "node:assert/strict";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { harnessTables, parseResults } from "../../core/results.ts";
import { projectRoot } from "../../local/stack.ts";
import { commandLine, descendants, fakeTools, npmStart, running, withPath } from "../support/npm-start.ts";
import { sampleRequest, waitFor } from "../support/stack.ts";

let bin: string;
let scratch: string;
before(async () => {
  bin = await fakeTools(["lm_eval", "nvidia-smi"]);
  scratch = await mkdtemp(join(tmpdir(), "spoteval-local-engine-"));
});
after(async () => {
  await rm(bin, { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
});

const tableAfter = (lines: string[]) => {
  const header = lines.findIndex((l) => l.startsWith("|Tasks|Version|"));
  assert.ok(header > 0, `a table is printed:\n${lines.join("\n")}`);
  const end = lines.findIndex((l, i) => i > header && !l.startsWith("|"));
  return lines.slice(header, end).join("\n");
};

/** The bytes s3rver keeps for an object, in the data folder. */
const storedObject = (dataDir: string, uri: string) =>
  readFile(join(dataDir, "s3", `${uri.replace(/^s3:\/\//, "")}._S3rver_object`), "utf8");

describe("npm start -- --engine hf", () => {
  const dataDir = () => join(scratch, "data");
  let runId: string;
  let resultsUri: string;
  let table: string;

  it("runs the sample with the real hf backend and prints the table the harness wrote, not labelled simulated", async () => {
    const stack = npmStart(["--engine", "hf", "--once", "--data", dataDir()], {
      PATH: withPath(bin),
      FAKE_LM_EVAL_DOCS: "20",
    });
    assert.equal(await stack.exited, 0, stack.stderr.join(""));
    const { lines } = stack;
    assert.ok(
      lines.includes(
        `Data: ${dataDir()} (runs, metrics and results survive a restart; --data DIR for another folder)`,
      ),
    );
    assert.ok(
      lines.some((l) => /^Engine: hf \(1 NVIDIA GPU \(NVIDIA A10G/.test(l)),
      "says what it detected",
    );
    assert.ok(!lines.some((l) => /SIMULATED/i.test(l)), "nothing says simulated");
    runId = (lines.find((l) => l.startsWith("Run: ")) as string).slice("Run: ".length);
    resultsUri = (lines.find((l) => l.startsWith("Raw results: ")) as string).split(" ")[2] as string;
    table = tableAfter(lines);
    const written = parseResults(await storedObject(dataDir(), resultsUri));
    assert.equal(written.config?.model, "hf", "the harness ran with --model hf");
    assert.equal(table, harnessTables(written).results);
    // The FAKE harness's score for gsm8k, as its source computes it: ((5 * 37) % 100) / 200 + 0.25.
    // 0.4.1's table (the fake harness writes that release's layout) has no higher_is_better arrow column.
    assert.match(table, /\|gsm8k\|\s+2\|get-answer\|\s+5\|exact_match\|0\.675\|/);
  });

  it("keeps the run, its metrics and its results file across a restart", async () => {
    assert.ok(runId, "needs the run of the test before");
    const stack = npmStart(["--no-sample", "--data", dataDir()], { PATH: withPath(bin) });
    try {
      await stack.line(/^The local stack is serving/);
      const run = (await (await stack.api(`/evaluations/${runId}`)).json()) as Record<string, unknown>;
      assert.equal(run.status, "SUCCEEDED");
      assert.equal(run.simulated, false);
      assert.equal(run.results, resultsUri);
      const markdown = await (await stack.api(`/evaluations/${runId}?format=markdown`)).text();
      // The stored metrics print the same table; the API adds the run's parity below it.
      assert.equal(markdown.split("\n\nParity:")[0].trim(), table);
      const s3 = (await stack.line(/^S3: /)).slice("S3: ".length);
      const served = await fetch(`${s3}/${resultsUri.replace(/^s3:\/\//, "")}`);
      assert.equal(served.status, 200);
      assert.equal(await served.text(), await storedObject(dataDir(), resultsUri));

      const second = npmStart(["--no-sample", "--once", "--data", dataDir()]);
      assert.equal(await second.exited, 2, "a second stack on the same folder is refused");
      assert.match(
        second.stderr.join(""),
        new RegExp(`${dataDir()} is in use by another spoteval stack \\(pid ${stack.child.pid}\\)`),
      );
    } finally {
      stack.child.kill("SIGINT");
      await stack.exited;
    }
  });
});

describe("a stack killed mid-run", () => {
  it("leaves no process behind, and the next start ends the run with its reason", async () => {
    const dataDir = join(scratch, "killed");
    // A harness in a long silent phase (the FAKE one compiles for 3 x 20 s), as a real one is while it
    // downloads or compiles: nothing it writes would make it notice that the stack is gone.
    const env = { PATH: withPath(bin), FAKE_LM_EVAL_DELAY_MS: "20000" };
    const stack = npmStart(["--engine", "hf", "--data", dataDir], env);
    let tree: number[] = [];
    let runId: string;
    try {
      runId = (await stack.line(/^Run \w+ accepted/)).split(" ")[1] as string;
      await waitFor("the harness to run under the stack", async () => {
        tree = await descendants(stack.child.pid as number);
        const commands = await Promise.all(tree.map((p) => commandLine(p)));
        return commands.some((c) => c.includes("lm_eval")) ? true : undefined;
      });
    } finally {
      stack.child.kill("SIGKILL");
      await stack.exited;
    }
    assert.ok(tree.length >= 3, `the engine, the harness and the reaper run under the stack: ${tree}`);
    await waitFor(
      "every process the stack started to end",
      async () => ((await Promise.all(tree.map(running))).some(Boolean) ? undefined : true),
      20_000,
    );

    const next = npmStart(["--no-sample", "--data", dataDir], env);
    try {
      assert.match(
        await next.line(/^Ended 1 run/),
        new RegExp(`^Ended 1 run\\(s\\) the last stack left in flight \\(local stack stopped\\): ${runId}$`),
      );
      await next.line(/^The local stack is serving/);
      const run = (await (await next.api(`/evaluations/${runId}`)).json()) as {
        status: string;
        reason: string;
        attempts: { endReason: string; endedAt?: string }[];
      };
      assert.equal(run.status, "FAILED");
      assert.equal(run.reason, "local stack stopped");
      assert.equal(run.attempts[0]?.endReason, "local stack stopped");
      assert.ok(run.attempts[0]?.endedAt, "its attempt is closed");
    } finally {
      next.child.kill("SIGINT");
      await next.exited;
    }
  });
});

describe("a stack killed together with its watcher", () => {
  it("leaves a harness behind that the next start on the folder ends before it ends the run", async () => {
    const dataDir = join(scratch, "killed-hard");
    const env = { PATH: withPath(bin), FAKE_LM_EVAL_DELAY_MS: "20000" };
    const stack = npmStart(["--engine", "hf", "--data", dataDir], env);
    let harness: number[] = [];
    let runId: string;
    try {
      runId = (await stack.line(/^Run \w+ accepted/)).split(" ")[1] as string;
      harness = await waitFor("the harness to run under the stack", async () => {
        const tree = await descendants(stack.child.pid as number);
        const found = [];
        for (const p of tree) if ((await commandLine(p)).includes("lm_eval")) found.push(p);
        return found.length ? found : undefined;
      });
      // Like `pkill node`: the stack and its watcher go at once; a harness in Python would stay.
      for (const p of await descendants(stack.child.pid as number))
        if ((await commandLine(p)).includes("groups.add")) process.kill(p, "SIGKILL");
    } finally {
      stack.child.kill("SIGKILL");
      await stack.exited;
    }
    assert.ok((await Promise.all(harness.map(running))).every(Boolean), "the harness outlived the stack");

    const next = npmStart(["--no-sample", "--once", "--data", dataDir], env);
    assert.equal(await next.exited, 0, next.stderr.join(""));
    assert.ok(next.lines.some((l) => l.startsWith("Ended 1 run(s)") && l.endsWith(runId)));
    assert.ok(
      !(await Promise.all(harness.map(running))).some(Boolean),
      "the harness was ended before the run was",
    );
  });
});

describe("two runs on a one-GPU machine", () => {
  it("run one after the other: the second waits in the queue, shown as queued", async () => {
    // lm_eval here logs when each evaluation starts and ends, and on which GPU, around the FAKE one.
    const dir = await fakeTools(["nvidia-smi"]);
    const log = join(dir, "evaluations.log");
    await writeFile(
      join(dir, "lm_eval"),
      `#!/bin/sh\necho "start $(date +%s%N) $CUDA_VISIBLE_DEVICES" >> ${log}\n` +
        `node ${join(projectRoot, "tests/fixtures/fake-harness/lm_eval.mjs")} "$@"\nrc=$?\n` +
        `echo "end $(date +%s%N)" >> ${log}\nexit $rc\n`,
    );
    await chmod(join(dir, "lm_eval"), 0o755);
    const stack = npmStart(["--engine", "hf", "--no-sample", "--data", join(scratch, "queue")], {
      PATH: withPath(dir),
      FAKE_LM_EVAL_DOCS: "60",
      FAKE_LM_EVAL_DELAY_MS: "50",
    });
    try {
      await stack.line(/^The local stack is serving/);
      const submit = async (model: string) => {
        const response = await stack.api("/evaluations", {
          method: "POST",
          body: JSON.stringify(sampleRequest(model)),
        });
        assert.equal(response.status, 202);
        return ((await response.json()) as { runId: string }).runId;
      };
      const first = await submit("org/first");
      const second = await submit("org/second");
      type View = { status: string; phase?: string; progress?: { waitingFor?: string } };
      const view = async (id: string) => (await (await stack.api(`/evaluations/${id}`)).json()) as View;
      const queued = await waitFor("the second run shown as queued while the first runs", async () => {
        const [a, b] = [await view(first), await view(second)];
        return a.phase === "evaluate" && b.phase === "queued" ? b : undefined;
      });
      assert.equal(queued.progress?.waitingFor, "GPU 0: 1 run ahead");
      await waitFor(
        "both runs to end",
        async () => {
          const views = [await view(first), await view(second)];
          return views.every((v) => ["SUCCEEDED", "FAILED", "CANCELLED"].includes(v.status))
            ? views
            : undefined;
        },
        120_000,
      ).then((views) =>
        assert.deepEqual(
          views.map((v) => v.status),
          ["SUCCEEDED", "SUCCEEDED"],
        ),
      );

      const events = (await readFile(log, "utf8"))
        .trim()
        .split("\n")
        .map((l) => l.split(" "));
      assert.deepEqual(
        events.map((e) => e[0]),
        ["start", "end", "start", "end"],
        "the second evaluation started after the first ended",
      );
      assert.deepEqual([events[0]?.[2], events[2]?.[2]], ["0", "0"], "each on GPU 0");
    } finally {
      stack.child.kill("SIGINT");
      await stack.exited;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
