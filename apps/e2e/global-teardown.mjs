// Stops the infrastructure the global setup started (nothing it did not start).
export default async function globalTeardown() {
  await globalThis.__settlementInfrastructure?.stop();
}
