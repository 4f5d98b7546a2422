import { LEARN_BOUNDS, UPDATE_GUARDS } from "../config.ts";
import type { LearnOptions } from "../model/lm.ts";
import { DAMPING_WINDOW, RepeatDamper } from "./repeat-damper.ts";
import { subjectHash } from "./subject.ts";

/** What a learn request may set (src/config.ts LEARN_BOUNDS). */
export interface RequestedOptions {
  lr: number;
  truncate: number;
  steps: number;
}

/** How strong a learn is next to a default one: lr · steps against the defaults'. */
export function strength(o: { lr: number; steps: number }): number {
  return (o.lr * o.steps) / (LEARN_BOUNDS.lr.default * LEARN_BOUNDS.steps.default);
}

/**
 * The options a learn into a model is applied with (docs/limits.md): the request's, its rate
 * damped by how much it repeats the model's recent learns (repeat-damper.ts), and the guards
 * every update gets. The writer and the benchmarks (scripts/poison-bench.ts, adapt-bench) go
 * through this one path, so what is measured is what is served.
 */
export class LearnPolicy {
  private readonly damper: RepeatDamper | null;

  constructor(opts: { damping: boolean } = { damping: true }) {
    this.damper = opts.damping ? new RepeatDamper() : null;
  }

  /**
   * The policy after the learns `recent` (oldest first; at most the damping window counts): the
   * writer's after a restart, from the tail of its log.
   */
  static after(recent: readonly { sentence: string; lr: number; steps: number }[]): LearnPolicy {
    const policy = new LearnPolicy();
    for (const e of recent.slice(-DAMPING_WINDOW)) policy.applied(e.sentence.split(" "), e);
    return policy;
  }

  /**
   * Options for `sub`'s learn of `tokens` (undefined: anonymous, for a model one person owns, as
   * the benchmarks' per-user copies); `guards` are UPDATE_GUARDS but for experiments (adapt-bench's flags).
   */
  options(
    tokens: readonly string[],
    req: RequestedOptions,
    sub: string | undefined,
    guards: Omit<LearnOptions, keyof RequestedOptions> = UPDATE_GUARDS,
  ): LearnOptions {
    const scale = this.damper?.scale(tokens) ?? 1;
    const subject = sub === undefined ? undefined : subjectHash(sub);
    return { ...guards, lr: req.lr * scale, truncate: req.truncate, steps: req.steps, subject };
  }

  /** Counts an applied learn (with the options it was applied with) toward later learns' damping. */
  applied(tokens: readonly string[], options: { lr: number; steps: number }): void {
    this.damper?.record(tokens, strength(options));
  }
}
