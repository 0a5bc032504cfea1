// The local capacity provider: regression tests named after what the load test found.
import assert from "node:assert/strict";
import { getPriority } from "node:os";
import { describe, it } from "node:test";
import { LocalProcessProvider } from "../../core/capacity/local-process.ts";
import { newRunId } from "../../core/ids.ts";
import { waitFor } from "../support/stack.ts";

const provider = new LocalProcessProvider({
  command: [process.execPath, "-e", "setTimeout(() => {}, 60000)"],
  env: {},
});
const launch = (runId: string) => launchWith(provider, runId);

describe("local instances", () => {
  it("booting engines cannot starve the handlers: instances run at the lowest priority", async () => {
    const runId = newRunId();
    const instance = await launch(runId);
    const [state] = await provider.describe([instance.instanceId]);
    assert.equal(state.state, "running");
    const pid = provider.pidOf(instance.instanceId) ?? assert.fail("no pid");
    assert.equal(getPriority(pid), 19);
    await provider.releaseRun(runId);
    await waitFor("exit", async () =>
      LocalProcessProvider.alive().some((i) => i.runId === runId) ? undefined : true,
    );
  });

  it("release does not wait for the process to exit: it answers shutting-down, like TerminateInstances", async () => {
    const runId = newRunId();
    const instance = await launch(runId);
    const released = await provider.releaseRun(runId);
    assert.deepEqual(released, [instance.instanceId]);
    const [state] = await provider.describe([instance.instanceId]);
    assert.ok(["shutting-down", "terminated"].includes(state.state));
    await waitFor("exit", async () =>
      (await provider.describe([instance.instanceId]))[0].state === "terminated" ? true : undefined,
    );
    assert.deepEqual(await provider.releaseRun(runId), [], "nothing left to release");
    const again = await launch(runId);
    assert.equal(again.instanceId, instance.instanceId, "the same client token never launches twice");
  });

  it("with one device, a second launch waits in the queue and starts on that device when the first ends", async () => {
    const onGpu = new LocalProcessProvider({
      command: [process.execPath, "-e", "console.log('on ' + process.env.SLOT); setTimeout(() => {}, 60000)"],
      env: {},
      slots: [{ id: "gpu0", label: "GPU 0", env: { SLOT: "gpu0" } }],
    });
    const [first, second] = [newRunId(), newRunId()];
    const a = await launchWith(onGpu, first);
    const b = await launchWith(onGpu, second);
    const [queued] = await onGpu.describe([b.instanceId]);
    assert.equal(queued.state, "pending");
    assert.deepEqual(queued.queue, { ahead: 1, waitingFor: "GPU 0: 1 run ahead" });
    assert.equal(onGpu.pidOf(b.instanceId), undefined, "no process while queued");
    await waitFor("the first on the GPU", async () =>
      onGpu.output(a.instanceId).includes("on gpu0") ? true : undefined,
    );

    await onGpu.releaseRun(first);
    await waitFor("the second on the GPU", async () =>
      onGpu.output(b.instanceId).includes("on gpu0") ? true : undefined,
    );
    const [started] = await onGpu.describe([b.instanceId]);
    assert.equal(started.state, "running");
    assert.equal(started.queue, undefined);
    assert.ok(
      started.bootingSince && started.bootingSince >= b.launchedAt,
      "its boot starts when it leaves the queue",
    );
    await onGpu.releaseRun(second);
  });

  it("a queued launch that is released leaves the queue without ever running", async () => {
    const one = new LocalProcessProvider({
      command: [process.execPath, "-e", "setTimeout(() => {}, 60000)"],
      env: {},
      slots: [{ id: "cpu", label: "the CPU", env: {} }],
    });
    const [holder, waiting] = [newRunId(), newRunId()];
    await launchWith(one, holder);
    const queued = await launchWith(one, waiting);
    assert.deepEqual(await one.releaseRun(waiting), [queued.instanceId]);
    const [state] = await one.describe([queued.instanceId]);
    assert.equal(state.state, "terminated");
    assert.equal(one.pidOf(queued.instanceId), undefined);
    await one.releaseRun(holder);
  });

  it("release ends the harness the engine started too, not only the engine", async () => {
    const parent = new LocalProcessProvider({
      command: [
        process.execPath,
        "-e",
        `const c = require("node:child_process").spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
         console.log("harness " + c.pid); setTimeout(() => {}, 60000);`,
      ],
      env: {},
    });
    const runId = newRunId();
    const instance = await launchWith(parent, runId);
    const line = await waitFor("the harness", async () =>
      parent.output(instance.instanceId).find((l) => l.startsWith("harness ")),
    );
    const harness = Number(line.split(" ")[1]);
    await parent.releaseRun(runId);
    await waitFor("the harness to end", async () => {
      try {
        process.kill(harness, 0);
        return undefined;
      } catch {
        return true;
      }
    });
  });
});

describe("a local instance that shuts down", () => {
  it("leaves nothing running: what its engine left in its group is ended", async () => {
    const leaving = new LocalProcessProvider({
      command: [
        process.execPath,
        "-e",
        `const c = require("node:child_process").spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
         console.log("harness " + c.pid); setTimeout(() => process.exit(0), 200);`,
      ],
      env: {},
    });
    const runId = newRunId();
    const instance = await launchWith(leaving, runId);
    const line = await waitFor("the harness", async () =>
      leaving.output(instance.instanceId).find((l) => l.startsWith("harness ")),
    );
    await waitFor("the engine to exit", async () =>
      (await leaving.describe([instance.instanceId]))[0]?.state === "terminated" ? true : undefined,
    );
    const harness = Number(line.split(" ")[1]);
    await waitFor("the harness it left to end", async () => {
      try {
        process.kill(harness, 0);
        return undefined;
      } catch {
        return true;
      }
    });
  });
});

/** Attempt 1 of a run on `p`, as AcquireCapacity asks for it. */
const launchWith = (p: LocalProcessProvider, runId: string) =>
  p.launch({
    runId,
    attempt: 1,
    clientToken: `${runId}-1-1`,
    candidates: [{ instanceType: "inf2.xlarge", tpDegree: 2 }],
    allowOnDemand: false,
    engineEnv: {},
  });
