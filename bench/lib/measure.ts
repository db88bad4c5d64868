// What every benchmark process prints: one JSON line with ns/op per phase and repetition.

export interface PhaseResult {
  impl: string;
  workload: string;
  n: number;
  rounds?: number;
  fingerprint?: number;
  /** phase name → ns/op of each measured repetition */
  phases: Record<string, number[]>;
  errors: number;
  [extra: string]: unknown;
}

export const now = (): number => performance.now();

export function emit(result: PhaseResult | Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Collects ns/op per phase over the measured repetitions (negative rep numbers are warm-up). */
export class Phases {
  readonly phases: Record<string, number[]> = {};
  add(rep: number, phase: string, nsPerOp: number): void {
    if (rep < 0) return;
    const runs = this.phases[phase] ?? [];
    runs[rep] = nsPerOp;
    this.phases[phase] = runs;
  }
}

/** A full collection, when the runtime exposes it (node --expose-gc); keeps one repetition's garbage out of the next. */
export function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) gc();
}

/** The arguments of a benchmark process: one JSON object in argv[2]. */
export function config<T>(): T {
  const raw = process.argv[2];
  if (!raw) throw new Error("expected a JSON config as the first argument");
  return JSON.parse(raw) as T;
}
