/** Amber's version, as recorded in images and printed by --version. */
export const VERSION = "0.1.0";
