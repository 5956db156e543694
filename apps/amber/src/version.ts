import pkg from "../package.json" with { type: "json" };

/** Amber's version, as recorded in images and printed by --version: the package's own. */
export const VERSION: string = pkg.version;
