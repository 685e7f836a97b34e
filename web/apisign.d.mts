// Types of apisign.mjs (they are in apisign.d.ts): TypeScript looks for the
// types of an import of "./apisign.mjs" in apisign.d.mts.
export * from "./apisign.js";
