// Local "instances" that run the engine with a fault wrapped around it (faulty-engine-main.ts), for the
// chaos suite and the state machine path tests.
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalProcessProvider } from "../../core/capacity/local-process.ts";
import { bundleEngine } from "../../local/stack.ts";

let bundled: Promise<string[]> | undefined;
/** argv of the faulty engine, bundled once per test process as the local stack bundles the real one. */
export function faultyEngineCommand(): Promise<string[]> {
  bundled ??= (async () => {
    const outfile = join(tmpdir(), `spoteval-faulty-engine-${process.pid}.mjs`);
    await bundleEngine(tmpdir(), "tests/support/faulty-engine-main.ts", outfile);
    process.once("exit", () => rmSync(outfile, { force: true }));
    return [process.execPath, outfile];
  })();
  return bundled;
}

/** The local provider, its instances running the faulty engine with this fault. */
export async function withEngineFault(
  base: LocalProcessProvider,
  fault: string,
): Promise<LocalProcessProvider> {
  return new LocalProcessProvider({
    ...base.options,
    command: await faultyEngineCommand(),
    env: { ...base.options.env, ENGINE_FAULT: fault },
  });
}
