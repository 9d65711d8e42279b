import type { GraphNode, OpName } from "../graph/node.ts";

/**
 * Raised when a method needs a per-op rule that nobody registered, naming the rule kind, the op and the
 * node, so users know exactly what is unsupported.
 */
export class MissingRuleError extends Error {
  override name = "MissingRuleError";
  /**
   * @param kind The rule kind (e.g. `inverse`, `excitation`).
   * @param op The op without a rule.
   * @param node The node being processed.
   */
  constructor(readonly kind: string, readonly op: string, readonly node: string) {
    super(
      `No ${kind} rule for op '${op}' at node '${node}': registered ${kind} rules cover ${
        registeredOps(kind).join(", ") || "nothing"
      }`,
    );
  }
}

// deno-lint-ignore no-explicit-any
type AnyRule = (...args: any[]) => any;
const registry = new Map<string, Map<string, AnyRule>>();

/**
 * Register a per-op rule under (kind, op). Core registers `forward`, `vjp`, `jvp` and `shape`; method
 * packages register their own kinds (`inverse` for NAFlow, `excitation` for IOM).
 *
 * @param kind Rule kind.
 * @param op Op name.
 * @param rule The rule function; its signature is fixed per kind by convention.
 * @example
 * ```ts
 * import { getRule, registerRule } from "@cnnlens/core";
 * registerRule("example", "relu", () => 42);
 * if (getRule<() => number>("example", "relu", "n")() !== 42) throw new Error();
 * ```
 */
export function registerRule<R extends AnyRule>(kind: string, op: OpName | string, rule: R): void {
  let byOp = registry.get(kind);
  if (!byOp) registry.set(kind, byOp = new Map());
  byOp.set(op, rule);
}

/**
 * Look up the rule for (kind, op), or throw {@linkcode MissingRuleError} naming the node.
 * @param kind Rule kind.
 * @param op Op name.
 * @param nodeName The node the rule is for (for the error message).
 * @returns The rule.
 */
export function getRule<R extends AnyRule>(kind: string, op: OpName | string, nodeName: string): R {
  const rule = registry.get(kind)?.get(op);
  if (!rule) throw new MissingRuleError(kind, op, nodeName);
  return rule as R;
}

/**
 * The rule for (kind, op) if registered.
 * @param kind Rule kind.
 * @param op Op name.
 * @returns The rule or undefined.
 */
export function findRule<R extends AnyRule>(kind: string, op: OpName | string): R | undefined {
  return registry.get(kind)?.get(op) as R | undefined;
}

/**
 * Ops with a rule of this kind, sorted.
 * @param kind Rule kind.
 * @returns Op names.
 */
export function registeredOps(kind: string): string[] {
  return [...(registry.get(kind)?.keys() ?? [])].sort();
}

/** Convenience: the rule for a node. */
export function ruleFor<R extends AnyRule>(kind: string, node: GraphNode): R {
  return getRule<R>(kind, node.op, node.name);
}
