/**
 * The object classes of the synthetic data: each a shape (a point set of the unit disc, in the object's own
 * rotated and scaled coordinates), a texture (where the second colour goes) and a typical hue. Classes `A`
 * are for classification, classes `B` (disjoint from `A`) for few-shot episodes and retrieval.
 * @module
 */

/** How a class's second colour relates to its first. */
export type AltColor = "dark" | "light" | "white";

/** One object class. */
export interface ShapeClass {
  /** Class name (unique over `A` and `B`). */
  readonly name: string;
  /** Typical hue in degrees (the generator jitters it). */
  readonly hue: number;
  /** What the texture's second colour is. */
  readonly alt: AltColor;
  /**
   * Paints one point of the object's unit frame (`u` right, `v` down; the shape lies in the disc of radius
   * 1.05).
   * @param u Horizontal coordinate.
   * @param v Vertical coordinate.
   * @returns `-1` outside the shape, else the weight of the second colour in [0, 1].
   */
  paint(u: number, v: number): number;
}

const TAU = 2 * Math.PI;
const SQRT3 = Math.sqrt(3);

function parity(x: number): number {
  return ((Math.floor(x) % 2) + 2) % 2;
}

/** Signed distance-like test for the triangle with vertices (0,-1), (±√3/2, 1/2): min over edges. */
function triangleDepth(u: number, v: number): number {
  // Edges' inward normals: (0,-1) for the bottom, (±√3/2, 1/2) for the sides; inradius 1/2.
  const d1 = 0.5 - v;
  const d2 = 0.5 - (SQRT3 / 2 * u - 0.5 * v);
  const d3 = 0.5 - (-SQRT3 / 2 * u - 0.5 * v);
  return Math.min(d1, d2, d3);
}

const STAR_INNER = 0.5;
const STAR_SECTOR = (2 * Math.PI) / 5;
// In a sector's frame the outer vertex is (1, 0) and the inner vertices are at angles ±π/5.
const STAR_EX = STAR_INNER * Math.cos(Math.PI / 5) - 1;
const STAR_EY = STAR_INNER * Math.sin(Math.PI / 5);

/** Five-pointed star with a point at the top: inside test, and which half of its point (0 or 1). */
function starSector(u: number, v: number): { inside: boolean; side: number } {
  const rho = Math.hypot(u, v);
  let phi = Math.atan2(v, u) + Math.PI / 2;
  phi -= STAR_SECTOR * Math.round(phi / STAR_SECTOR); // [-π/5, π/5] around the nearest point
  const a = Math.abs(phi);
  const x = rho * Math.cos(a), y = rho * Math.sin(a);
  // On the origin's side of the edge from (1, 0) to the inner vertex.
  return { inside: STAR_EX * y - STAR_EY * (x - 1) >= 0, side: phi < 0 ? 1 : 0 };
}

function heartValue(u: number, v: number): number {
  const x = 1.25 * u, y = -1.25 * v + 0.2;
  const a = x * x + y * y - 1;
  return a * a * a - x * x * y * y * y;
}

/** Classes for classification (labels 0…5 in this order). */
export const SYNTH_CLASSES_A: readonly ShapeClass[] = Object.freeze([
  {
    name: "circle",
    hue: 0,
    alt: "dark",
    paint: (u, v) => {
      const r2 = u * u + v * v;
      return r2 <= 1 ? 0.75 * r2 : -1; // a shaded sphere: darker towards the rim
    },
  },
  {
    name: "triangle",
    hue: 60,
    alt: "dark",
    paint: (u, v) => {
      const d = triangleDepth(u, v);
      return d < 0 ? -1 : d < 0.16 ? 1 : 0; // a dark border
    },
  },
  {
    name: "star",
    hue: 120,
    alt: "dark",
    paint: (u, v) => {
      const s = starSector(u, v);
      return s.inside ? s.side * 0.8 : -1; // bevelled points: one half of each point darker
    },
  },
  {
    name: "ring",
    hue: 180,
    alt: "light",
    paint: (u, v) => {
      const r = Math.hypot(u, v);
      if (r > 1 || r < 0.55) return -1;
      return parity((Math.atan2(v, u) + Math.PI) / (TAU / 12)); // 12 alternating segments
    },
  },
  {
    name: "cross",
    hue: 240,
    alt: "white",
    paint: (u, v) => {
      const au = Math.abs(u), av = Math.abs(v);
      const inside = (au <= 0.32 && av <= 0.95) || (av <= 0.32 && au <= 0.95);
      if (!inside) return -1;
      return au <= 0.32 && av <= 0.32 ? 0.85 : 0; // a light centre
    },
  },
  {
    name: "stripes",
    hue: 300,
    alt: "dark",
    paint: (u, v) => {
      if (Math.abs(u) > 0.72 || Math.abs(v) > 0.72) return -1;
      return parity((u + 0.72) / 0.24); // six stripes on a square
    },
  },
]);

/** Classes for few-shot episodes and retrieval, disjoint from {@linkcode SYNTH_CLASSES_A}. */
export const SYNTH_CLASSES_B: readonly ShapeClass[] = Object.freeze([
  {
    name: "hexagon",
    hue: 30,
    alt: "dark",
    paint: (u, v) => {
      const au = Math.abs(u), av = Math.abs(v);
      const d = Math.max(av / (SQRT3 / 2), (SQRT3 * au + av) / SQRT3); // 1 on the border
      return d > 1 ? -1 : d > 0.62 ? 1 : 0; // a dark outer band
    },
  },
  {
    name: "crescent",
    hue: 90,
    alt: "dark",
    paint: (u, v) => {
      if (u * u + v * v > 1) return -1;
      const du = u - 0.45, dv = v + 0.15;
      if (du * du + dv * dv < 0.64) return -1;
      return 0.35 * (1 - u); // darker towards the back
    },
  },
  {
    name: "diamond",
    hue: 150,
    alt: "light",
    paint: (u, v) => {
      if (Math.abs(u) / 0.75 + Math.abs(v) > 1) return -1;
      return parity(Math.floor(u * 3.2) + Math.floor(v * 3.2)); // checkerboard
    },
  },
  {
    name: "heart",
    hue: 210,
    alt: "white",
    paint: (u, v) => {
      if (heartValue(u, v) > 0) return -1;
      const hu = u + 0.38, hv = v + 0.3;
      return hu * hu + hv * hv < 0.05 ? 0.8 : 0; // a highlight on the upper left lobe
    },
  },
  {
    name: "arrow",
    hue: 270,
    alt: "light",
    paint: (u, v) => {
      const av = Math.abs(v);
      if (u >= -0.95 && u <= 0.2 && av <= 0.22) return parity((u + 0.95) / 0.25); // striped shaft
      if (u > 0.2 && u <= 0.95 && av <= 0.62 * (0.95 - u) / 0.75) return 0;
      return -1;
    },
  },
  {
    name: "dots",
    hue: 330,
    alt: "white",
    paint: (u, v) => {
      if (u * u + (v / 0.68) * (v / 0.68) > 1) return -1;
      const fu = u * 3.5 - Math.floor(u * 3.5) - 0.5, fv = v * 3.5 - Math.floor(v * 3.5) - 0.5;
      return fu * fu + fv * fv < 0.08 ? 1 : 0; // polka dots on an ellipse
    },
  },
]);

/**
 * Looks a class up by name in `A` and `B`.
 *
 * @param name Class name.
 * @returns The class.
 * @throws {RangeError} If no class has that name.
 * @example
 * ```ts
 * import { shapeClass } from "./shapes.ts";
 * import assert from "node:assert/strict";
 * assert.equal(shapeClass("ring").paint(0, 0), -1); // the hole
 * ```
 */
export function shapeClass(name: string): ShapeClass {
  const c = SYNTH_CLASSES_A.find((k) => k.name === name) ?? SYNTH_CLASSES_B.find((k) => k.name === name);
  if (!c) {
    const all = [...SYNTH_CLASSES_A, ...SYNTH_CLASSES_B].map((k) => k.name).join(", ");
    throw new RangeError(`Unknown synthetic class '${name}': use one of ${all}`);
  }
  return c;
}
