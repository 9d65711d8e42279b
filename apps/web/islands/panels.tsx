/**
 * Result panels: the metrics of the current map against a known object box, and IOM's perturbation view.
 * @module
 */

/** The metrics panel's data (see `work/metrics.ts`). */
export interface Metrics {
  proportion: number;
  iou: number;
  score: number;
  maskedScore: number;
  averageDrop: number | null;
  increase: number;
  scoreKind: string;
  box: { x0: number; y0: number; x1: number; y1: number };
  estimated: { x0: number; y0: number; x1: number; y1: number } | null;
  size: [number, number];
  image: string;
}

/** IOM's perturbation view (see `work/perturbation.ts`). */
export interface Perturbation {
  image: string;
  decisionBefore: number | null;
  decisionAfter: number | null;
  decided: number | null;
  rows: {
    index: number;
    label: string | null;
    logitBefore: number;
    logitAfter: number;
    probBefore: number;
    probAfter: number;
  }[];
  outputs: number;
}

const f3 = (v: number | null | undefined) =>
  v === null || v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(3);
const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
const box = (b: { x0: number; y0: number; x1: number; y1: number } | null) =>
  b ? `[${[b.x0, b.y0, b.x1, b.y1].map((v) => Math.round(v * 10) / 10).join(", ")}]` : "none";

/** Energy in the box, IoU, AD/IC for the current map. */
export function MetricsPanel(props: { m: Metrics; method: string }) {
  const m = props.m;
  return (
    <section class="panel" id="metrics">
      <h2>Metrics ({props.method}'s map against the object's box)</h2>
      <div class="view">
        <figure class="panel-fig">
          <img src={m.image} alt="map with the true box (green) and the estimated box (red)" />
          <figcaption>true box (green), box estimated from the map (red)</figcaption>
        </figure>
        <table class="metrics">
          <tbody>
            <tr>
              <th title="FAM Eq. 19: share of the min-max normalised map inside the box">Energy in box</th>
              <td id="metric-proportion" data-value={m.proportion}>{pct(m.proportion)}</td>
            </tr>
            <tr>
              <th title="FAM Eq. 20: box of the largest component above 0.2 × max vs the true box">
                Localisation IoU
              </th>
              <td id="metric-iou" data-value={m.iou}>{pct(m.iou)}</td>
            </tr>
            <tr>
              <th title="FAM Eq. 21 for this image: max(0, Y − O) / Y">Average Drop</th>
              <td id="metric-ad" data-value={m.averageDrop ?? ""}>
                {m.averageDrop === null ? "–" : pct(m.averageDrop)}
              </td>
            </tr>
            <tr>
              <th title="FAM Eq. 22 for this image: 1 if Y < O">Increase in Confidence</th>
              <td id="metric-ic" data-value={m.increase}>{m.increase ? "yes" : "no"}</td>
            </tr>
            <tr>
              <th>Y (image) → O (image × map)</th>
              <td>{f3(m.score)} → {f3(m.maskedScore)}</td>
            </tr>
            <tr>
              <th>true box / estimated box</th>
              <td>{box(m.box)} / {box(m.estimated)}</td>
            </tr>
          </tbody>
        </table>
      </div>
      <p class="note">
        Y is the {m.scoreKind}; boxes in the {m.size[0]}×{m.size[1]}{" "}
        model input's pixels. AD and IC are the per-image terms of the papers' means.
      </p>
    </section>
  );
}

/** `(1 − M) ∘ X` and the outputs before and after. */
export function PerturbationPanel(props: { p: Perturbation; input: string }) {
  const p = props.p;
  return (
    <section class="panel" id="perturbation">
      <h2>IOM perturbation: X̂ = (1 − M) ∘ X</h2>
      <div class="view">
        <figure class="panel-fig">
          <img src={props.input} alt="X" />
          <figcaption>X</figcaption>
        </figure>
        <figure class="panel-fig">
          <img src={p.image} alt="perturbed input" id="perturbed" />
          <figcaption>X̂ (the map's positive part removed)</figcaption>
        </figure>
        <div>
          <p id="perturbation-decision">
            decision {f3(p.decisionBefore)} → {f3(p.decisionAfter)}
          </p>
          {p.rows.length
            ? (
              <table class="metrics" id="perturbation-table">
                <thead>
                  <tr>
                    <th>class</th>
                    <th>logit X</th>
                    <th>logit X̂</th>
                    <th>p(X)</th>
                    <th>p(X̂)</th>
                  </tr>
                </thead>
                <tbody>
                  {p.rows.map((r) => (
                    <tr key={r.index} class={r.index === p.decided ? "decided" : ""} data-class={r.index}>
                      <td>{r.index}{r.label ? ` ${r.label}` : ""}</td>
                      <td>{f3(r.logitBefore)}</td>
                      <td>{f3(r.logitAfter)}</td>
                      <td data-p={r.probBefore}>{f3(r.probBefore)}</td>
                      <td data-p={r.probAfter}>{f3(r.probAfter)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )
            : (
              <p class="note">
                The model's output is an embedding ({p.outputs} values): no class probabilities.
              </p>
            )}
        </div>
      </div>
    </section>
  );
}
