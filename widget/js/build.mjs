// Builds the widget's script: src/main.js and libphonenumber-js bundled
// and minified by esbuild into ../static/v1/ringproof.js, or into the file
// named by the first argument (build.sh --check builds into a temporary
// file and compares). The same sources and lockfile give the same bytes.
import { build } from "esbuild";

const out = process.argv[2] || "../static/v1/ringproof.js";

await build({
  entryPoints: ["src/main.js"],
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2019",
  charset: "utf8",
  legalComments: "none",
  banner: {
    js: "/*! ringproof widget v1 (docs/widget.md). Bundles libphonenumber-js, " +
      "MIT License, Copyright (c) 2016 @catamphetamine: https://gitlab.com/catamphetamine/libphonenumber-js */",
  },
  outfile: out,
  logLevel: "warning",
});
