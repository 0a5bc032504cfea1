// esbuild plugins for the Lambda bundles (serverless.yml custom.esbuild.plugins, and npm run bench).
//
// AWS SDK clients describe every shape of their API in one schemas module; member traits are written
// with computed keys ({ [_xN]: "..." }, where `const _xN = "xmlName"`). esbuild must assume a computed
// key can run code, so it keeps every shape that has one: the EC2 client bundle carried ~2,250 of its
// ~2,600 structures for the 5 operations spoteval calls. Rewriting those keys to the string constants
// they name changes nothing at run time and lets tree-shaking drop the shapes nothing reaches.
const { readFile } = require("node:fs/promises");

const sdkSchemas = {
  name: "aws-sdk-static-schema-keys",
  setup(build) {
    build.onLoad(
      { filter: /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/ },
      async (args) => {
        const source = await readFile(args.path, "utf8");
        const strings = new Map();
        for (const m of source.matchAll(/^const (_\w+) = "([^"\\]*)";$/gm)) strings.set(m[1], m[2]);
        const contents = source.replace(/\[(_\w+)\]:/g, (whole, name) =>
          strings.has(name) ? `${JSON.stringify(strings.get(name))}:` : whole,
        );
        return { contents, loader: "js" };
      },
    );
  },
};

module.exports = [sdkSchemas];
