import type { RnnLm } from "../model/model.ts";
import { encodeSentence, type Vocab } from "../model/vocab.ts";
import { CALIBRATION } from "./calibration.ts";
import { type LearnCostOptions, learnShape, planLearn } from "./cost-model.ts";

/** Part of a request's CPU budget kept for routing, validation, JSON and the RPC to the writer. */
export const ROUTING_ALLOWANCE_MS = 1;

export interface BudgetedSentence {
  /** [<s>, ...the learned tokens, </s>]. */
  ids: number[];
  /** The tokens learned: the whole sentence, or its most recent words when it does not fit. */
  tokens: string[];
  truncated: boolean;
  estimateMs: number;
}

/**
 * Fits a learn into the CPU budget before running it: the cost model prices
 * the whole sentence; if it is over, the most recent words that fit are
 * learned instead (they matter most to a user still typing). Null when not even
 * one word fits with these options.
 */
export function budgetSentence(
  m: RnnLm,
  vocab: Vocab,
  tokens: readonly string[],
  opts: LearnCostOptions,
  budgetMs: number,
): BudgetedSentence | null {
  const whole = encodeSentence(tokens, vocab);
  const plan = planLearn(tokens.length, opts, budgetMs - ROUTING_ALLOWANCE_MS, learnShape(m, whole), CALIBRATION);
  if (plan.tokens === 0) return null;
  const learned = tokens.slice(tokens.length - plan.tokens);
  const ids = plan.truncated ? encodeSentence(learned, vocab) : whole;
  return { ids: Array.from(ids), tokens: learned, truncated: plan.truncated, estimateMs: plan.estimateMs };
}
