import { type Anchor, baseClasses, type RnnLm } from "./model.ts";

/**
 * An L2 anchor against forgetting (docs/adaptation.md): after each online SGD
 * step, the recurrent weights W and the class weights C are pulled a fraction
 * `strength` of the way back toward the anchor, their values in the base model:
 *   w <- w - strength · (w - anchor),
 * which is a gradient step on (strength / 2lr)·‖w - anchor‖². W and C are shared by
 * every prediction, so drift there is what makes the model forget what it knew;
 * the per-word input columns and output rows stay free to learn new usage
 * (the benchmark found anchoring those too cost adaptation and saved nothing).
 * The pull costs (H + K)·H multiply-adds, about a hundredth of a learn.
 *
 * The anchor is made from the weights the first anchored learn starts from,
 * unless the model already carries one (a published version stores it, so a
 * writer that reloads and replays its log pulls toward the same weights).
 */

/** The model's anchor, made from its current W and C on first use. */
export function anchorOf(m: RnnLm): Anchor {
  m.anchor ??= {
    W: m.W.slice(),
    C: m.output.kind === "class" ? m.output.C.slice(0, baseClasses(m) * m.hidden) : new Float32Array(0),
  };
  return m.anchor;
}

/** Pulls the first anchor.length weights (C's learned-words class, after the base classes, has no anchor). */
function pull(weights: Float32Array, anchor: Float32Array, strength: number): void {
  for (let i = 0; i < anchor.length; i++) weights[i] -= strength * (weights[i] - anchor[i]);
}

/**
 * Pulls W and C toward the anchor; strength in [0, 1] keeps every weight between
 * its current value and its anchor, so finite weights stay finite.
 */
export function pullTowardAnchor(m: RnnLm, anchor: Anchor, strength: number): void {
  pull(m.W, anchor.W, strength);
  if (m.output.kind === "class") pull(m.output.C, anchor.C, strength);
}
