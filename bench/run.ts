// Placeholder replaced by the benchmark harness (issue: native backend).
export async function runBench(_argv: string[]): Promise<number> {
  console.error("bench: not built yet");
  return 1;
}
