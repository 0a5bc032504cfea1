// Files under a folder, for the engine's uploads and checks (results, compiled artifacts, a model).
import { readdir } from "node:fs/promises";
import { join } from "node:path";

/** Every file below `dir`, at any depth; none when `dir` does not exist. */
export async function filesBelow(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesBelow(path)));
    else out.push(path);
  }
  return out;
}
