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
const launch = (runId: string) =>
  provider.launch({
    runId,
    attempt: 1,
    clientToken: `${runId}-1-1`,
    candidates: [{ instanceType: "inf2.xlarge", tpDegree: 2 }],
    allowOnDemand: false,
    engineEnv: {},
  });

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
});
