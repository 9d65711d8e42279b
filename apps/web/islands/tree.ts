/**
 * The gAP tree as the dashboard keeps it (gAP's `tree.json` with an `id` path on every node: `""` for the
 * decision, `"0"`, `"0.2"`, … below), and how a lazy expansion is grafted into it. Shared by the server
 * (which keeps the grown tree with the job) and the browser.
 * @module
 */

/** A tree node (the root carries `decision` and `measure` instead of a neuron). */
export interface TreeNodeJson {
  id?: string;
  layer?: string;
  channel?: number;
  position?: [number, number];
  contribution?: number;
  merged?: number[];
  into?: string;
  alpha?: number[];
  decision?: unknown;
  children?: TreeNodeJson[];
}

/** A figure of a node (PNG data URLs). */
export interface NodeFigure {
  title: string;
  group: string | null;
  node: string | null;
  image: string;
  heat: string | null;
}

/** What an expansion job returns: the node's decomposition into the next layer. */
export interface Expansion {
  node: string;
  into: string;
  alpha: number[];
  children: TreeNodeJson[];
  figures: NodeFigure[];
}

/** A node id is `""` or dot-separated child indices. */
export const NODE_ID = /^(|\d{1,4}(\.\d{1,4}){0,15})$/;

/**
 * The node with an id.
 * @param tree The root.
 * @param id `""` (the root) or a path like `"0.2"`.
 * @returns The node, or undefined.
 */
export function findNode(tree: TreeNodeJson, id: string): TreeNodeJson | undefined {
  if (!NODE_ID.test(id)) return undefined;
  let n: TreeNodeJson | undefined = tree;
  for (const part of id === "" ? [] : id.split(".")) n = n?.children?.[Number(part)];
  return n;
}

/**
 * Whether a node can be grown: it has no children yet and its layer is not the tree's shallowest.
 * @param node The node.
 * @param layers The tree's layers, deep to shallow.
 * @returns True when an expansion would add children.
 */
export function canExpand(node: TreeNodeJson, layers: readonly string[] | undefined): boolean {
  if (!layers || node.layer === undefined || node.children?.length) return false;
  const at = layers.indexOf(node.layer);
  return at >= 0 && at < layers.length - 1;
}

/**
 * Graft an expansion into a result's tree (in place): the node gets `into`, `alpha` and its children,
 * the result gets the children's figures. A node that already has children is left as it is.
 * @param result A gAP result (`data.tree`, `figures`).
 * @param e The expansion.
 * @returns Whether the tree changed.
 */
export function graftExpansion(
  result: { data: { tree?: TreeNodeJson }; figures?: NodeFigure[] },
  e: Expansion,
): boolean {
  const node = result.data.tree && findNode(result.data.tree, e.node);
  if (!node || node.children?.length) return false;
  node.into = e.into;
  node.alpha = e.alpha;
  node.children = e.children;
  if (result.figures) {
    const have = new Set(result.figures.map((f) => f.node));
    result.figures.push(...e.figures.filter((f) => !have.has(f.node)));
  }
  return true;
}
