// Bundles one Lambda entry exactly as serverless.yml's custom.esbuild does (serverless-esbuild passes
// every key but its own to esbuild), for npm run bench and the bundle tests.
import { readFileSync } from "node:fs";
import { stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { build, type Plugin } from "esbuild";
import { parse } from "yaml";

/** serverless-esbuild's own keys, not esbuild's. */
const pluginKeys = ["exclude", "outputFileExtension", "packager", "concurrency", "nativeZip", "plugins"];
const require = createRequire(import.meta.url);

export type BundleOptions = {
  outfile: string;
  /** false: no minification and no tree-shaking (the cold-start baseline). */
  optimized?: boolean;
  /** false: without serverless.yml's esbuild plugins. */
  plugins?: boolean;
};

export async function bundleLambda(root: string, entry: string, options: BundleOptions) {
  const custom = (
    parse(readFileSync(join(root, "serverless.yml"), "utf8")) as {
      custom: { esbuild: Record<string, unknown> };
    }
  ).custom.esbuild;
  const settings = Object.fromEntries(Object.entries(custom).filter(([k]) => !pluginKeys.includes(k)));
  const optimized = options.optimized ?? true;
  const plugins =
    options.plugins !== false && typeof custom.plugins === "string"
      ? (require(join(root, custom.plugins)) as Plugin[])
      : [];
  await build({
    ...settings,
    plugins,
    absWorkingDir: root,
    entryPoints: [entry],
    outfile: options.outfile,
    minify: optimized,
    treeShaking: optimized,
    logLevel: "silent",
  });
  return { outfile: options.outfile, bytes: (await stat(options.outfile)).size };
}
