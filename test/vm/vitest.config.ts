import { defineConfig } from "vitest/config";

// The VM stage (docs/kernel-testing.md): `IWPM_VM=1 npx vitest run --config test/vm/vitest.config.ts`.
// Its VMs boot under TCG emulation, so it runs apart from the default `npx vitest run`.
export default defineConfig({
  test: {
    include: ["test/vm/**/*.test.ts"],
    // One file at a time: each boots VMs of its own, and emulated CPUs are what is scarce.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 900_000,
  },
});
