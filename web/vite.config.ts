/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// The API runs on the same origin in production (`ragprism serve` serves web/dist);
// `npm run dev` proxies it to a local server.
const api = process.env.RAGPRISM_DEV_API ?? "http://127.0.0.1:9380";

export default defineConfig({
  plugins: [react()],
  resolve: { alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    // Minified kB. The budget that matters is the first page's gzipped JavaScript, under
    // 250 KB: tests/web measure it, docs/benchmarks.md has the figures.
    chunkSizeWarningLimit: 500,
  },
  server: {
    proxy: { "/v1": api, "/api": api },
  },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    css: false,
    restoreMocks: true,
    // User-event typing takes seconds on a loaded 2-core CI machine; 5 s flakes there.
    testTimeout: 30_000,
  },
});
