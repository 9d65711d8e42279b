/**
 * The excitation rule tables, registered in the core's rule registry like the core's `vjp` rules:
 *
 * - kind `excitation` ({@linkcode EXCITATION}): the positive excitation `Exc⁺` of every supported op. A
 *   plain `backwardWalk(graph, trace, seeds, { to, kind: "excitation" })` multiplies a row by
 *   `Π Exc⁺_i`, i.e. computes r-Exc⁺ (PANE §6.1).
 * - kind `excitation-` ({@linkcode NEGATIVE_EXCITATION}): the negative excitation `Exc⁻`, registered only
 *   for ops whose outputs mix several terms (gemm, conv2d, avgpool, globalavgpool, add). Every other op
 *   with an `excitation` rule maps each output to a single term, which always has the output's sign: its
 *   `Exc⁻` is identically zero, and that is what a missing `excitation-` rule means.
 *
 * An op without an `excitation` rule is unsupported: the walk raises the core's `MissingRuleError`
 * ("No excitation rule for op '<op>' at node '<node>' …").
 * @module
 */
import { registeredOps, registerRule, type VjpRule } from "@cnnlens/core";
import { conv2dExcitation } from "./conv2d.ts";
import { gemmExcitation } from "./gemm.ts";
import { avgPoolExcitation, globalAvgPoolExcitation, maxPoolExcitation } from "./pool.ts";
import { batchNormExcitation, identityExcitation, leakyReluExcitation, reluExcitation } from "./pointwise.ts";
import { reshapeExcitation } from "./reshape.ts";
import { addExcitation } from "./add.ts";
import { padExcitation } from "./pad.ts";
import type { SignSplit } from "./sign_split.ts";

/** Rule kind of the positive excitation `Exc⁺` (VJP-rule signature). */
export const EXCITATION = "excitation";
/** Rule kind of the negative excitation `Exc⁻`, for ops whose outputs mix several terms. */
export const NEGATIVE_EXCITATION = "excitation-";

/**
 * The excitation rule tables for a sign-split formulation.
 * @param split How signed-weight layers compute the split. @default "sum-difference"
 * @returns `positive` and `negative` rules keyed by op.
 * @example
 * ```ts
 * import { excitationRules } from "./register.ts";
 * const { positive, negative } = excitationRules("four-way");
 * if (!positive.relu || negative.relu || !negative.conv2d) throw new Error("ReLU has no Exc⁻");
 * ```
 */
export function excitationRules(
  split: SignSplit = "sum-difference",
): { positive: Record<string, VjpRule>; negative: Record<string, VjpRule> } {
  return {
    positive: {
      gemm: gemmExcitation(1, split),
      conv2d: conv2dExcitation(1, split),
      avgpool: avgPoolExcitation(1, split),
      globalavgpool: globalAvgPoolExcitation(1, split),
      add: addExcitation(1),
      maxpool: maxPoolExcitation,
      relu: reluExcitation,
      leakyrelu: leakyReluExcitation,
      batchnorm: batchNormExcitation,
      identity: identityExcitation,
      flatten: reshapeExcitation,
      reshape: reshapeExcitation,
      pad: padExcitation,
    },
    negative: {
      gemm: gemmExcitation(-1, split),
      conv2d: conv2dExcitation(-1, split),
      avgpool: avgPoolExcitation(-1, split),
      globalavgpool: globalAvgPoolExcitation(-1, split),
      add: addExcitation(-1),
    },
  };
}

/**
 * Register excitation rules under a pair of kinds (the defaults are registered when this package loads;
 * call it to register another formulation under other kinds, e.g. for comparisons).
 * @param split Sign-split formulation.
 * @param kinds The positive and negative kind names.
 * @example
 * ```ts
 * import { registeredOps } from "@cnnlens/core";
 * import { registerExcitationRules } from "./register.ts";
 * registerExcitationRules("four-way", ["exc4", "exc4-"]);
 * if (!registeredOps("exc4").includes("conv2d")) throw new Error();
 * ```
 */
export function registerExcitationRules(
  split: SignSplit = "sum-difference",
  kinds: [string, string] = [EXCITATION, NEGATIVE_EXCITATION],
): void {
  const { positive, negative } = excitationRules(split);
  for (const [op, rule] of Object.entries(positive)) registerRule(kinds[0], op, rule);
  for (const [op, rule] of Object.entries(negative)) registerRule(kinds[1], op, rule);
}

registerExcitationRules();

/**
 * Ops IOM supports (those with an `excitation` rule), sorted.
 * @returns Op names.
 * @example
 * ```ts
 * import { excitationOps } from "./register.ts";
 * if (!excitationOps().includes("conv2d")) throw new Error();
 * ```
 */
export function excitationOps(): string[] {
  return registeredOps(EXCITATION);
}
