import { useEffect, useRef, useState } from "preact/hooks";
import { api, cancelJob, runJob } from "./api.ts";
import {
  canExpand,
  type Expansion,
  graftExpansion,
  type NodeFigure as FigureView,
  type TreeNodeJson as TreeNode,
} from "./tree.ts";
import { type Metrics, MetricsPanel, type Perturbation, PerturbationPanel } from "./panels.tsx";
import { EpisodeView } from "./Episode.tsx";

/** Props the server renders the page with. */
export interface AppProps {
  models: { id: string; label: string }[];
  images: { id: string; label: string; box?: number[]; className?: string }[];
  methods: { id: string; summary: string }[];
}

interface Result {
  job: string;
  method: string;
  decision: Record<string, unknown>;
  figures: FigureView[];
  data: { tree?: TreeNode; layers?: string[]; [k: string]: unknown };
  input: string;
  explain_ms: number;
  backend: string;
  metrics: Metrics | null;
  metricsNote: string | null;
  perturbation: Perturbation | null;
}

function Overlay(props: { input: string; fig: FigureView; opacity: number }) {
  return (
    <div class="overlay" data-testid="overlay">
      {props.fig.heat
        ? (
          <>
            <img src={props.input} alt="input" />
            <img src={props.fig.heat} alt={props.fig.title} class="heat" style={{ opacity: props.opacity }} />
          </>
        )
        : <img src={props.fig.image} alt={props.fig.title} />}
      <div class="caption">{props.fig.title}</div>
    </div>
  );
}

interface TreeProps {
  node: TreeNode;
  layers?: string[];
  picked: string | null;
  expanding: string | null;
  onPick: (id: string) => void;
  onExpand: (id: string) => void;
}

function Tree(props: TreeProps) {
  const n = props.node;
  const grow = canExpand(n, props.layers);
  const label = n.layer !== undefined
    ? `${n.layer} ch ${n.channel} (${(n.contribution ?? 0).toFixed(3)})`
    : "decision";
  return (
    <li>
      <button
        type="button"
        class={props.picked === n.id ? "node picked" : "node"}
        data-node={n.id}
        data-expandable={grow ? "true" : undefined}
        title={grow ? "click to decompose this neuron into the next layer" : undefined}
        onClick={() => {
          if (!n.id) return;
          props.onPick(n.id);
          if (grow) props.onExpand(n.id);
        }}
        onMouseEnter={() => n.id && props.onPick(n.id)}
      >
        {grow ? "▸ " : ""}
        {label}
        {props.expanding === n.id ? " …" : ""}
      </button>
      {n.children?.length
        ? (
          <ul>
            {n.children.map((c, i) => <Tree key={c.id ?? i} {...props} node={c} />)}
          </ul>
        )
        : null}
    </li>
  );
}

/** The dashboard: the explanation view and the FAM episode view. */
export function App(props: AppProps) {
  const [tab, setTab] = useState<"explain" | "episode">("explain");
  return (
    <main>
      <h1>cnnlens</h1>
      <nav class="tabs">
        <button
          type="button"
          id="tab-explain"
          class={tab === "explain" ? "tab active" : "tab"}
          onClick={() => setTab("explain")}
        >
          Explain
        </button>
        <button
          type="button"
          id="tab-episode"
          class={tab === "episode" ? "tab active" : "tab"}
          onClick={() => setTab("episode")}
        >
          FAM episode
        </button>
      </nav>
      <div hidden={tab !== "explain"}>
        <ExplainView {...props} />
      </div>
      <div hidden={tab !== "episode"}>
        <EpisodeView models={props.models} images={props.images} />
      </div>
    </main>
  );
}

function ExplainView(props: AppProps) {
  const [model, setModel] = useState(props.models[0]?.id ?? "");
  const [images, setImages] = useState(props.images);
  const [image, setImage] = useState(props.images[0]?.id ?? "");
  const [reference, setReference] = useState("");
  const [method, setMethod] = useState(props.methods[0]?.id ?? "");
  const [layers, setLayers] = useState("");
  const [klass, setKlass] = useState("");
  const [depth, setDepth] = useState("1");
  const [expanding, setExpanding] = useState<string | null>(null);
  const [status, setStatus] = useState("idle");
  const [job, setJob] = useState<string | null>(null);
  const [results, setResults] = useState<Result[]>([]);
  const [step, setStep] = useState(0);
  const [playing, setPlaying] = useState(false);
  const [opacity, setOpacity] = useState(0.5);
  const [picked, setPicked] = useState<string | null>(null);
  const [error, setError] = useState("");
  const timer = useRef<number | undefined>(undefined);
  const current = results[results.length - 1];
  const seq = current ? current.figures.filter((f) => f.group === current.figures[0]?.group) : [];

  useEffect(() => {
    if (!playing || seq.length < 2) return;
    timer.current = setInterval(() => setStep((s) => (s + 1) % seq.length), 700) as unknown as number;
    return () => clearInterval(timer.current);
  }, [playing, seq.length]);

  async function run() {
    setError("");
    setStatus("submitting");
    try {
      const body = {
        model,
        image,
        method,
        layers: layers.split(",").map((s) => s.trim()).filter(Boolean),
        class: klass === "" ? undefined : Number(klass),
        references: reference ? [reference] : [],
        options: method === "gap" && depth ? { depth } : {},
      };
      const s = await runJob<Omit<Result, "job" | "method">>("/api/jobs", body, (st) => {
        setJob(st.id);
        setStatus(`${st.status}: ${st.progress}`);
      });
      if (s.status === "done") {
        setResults((r) => [...r.slice(-5), { ...s.result!, job: s.id, method }]);
        setStep(0);
        setPicked(null);
      }
      if (s.error) setError(s.error);
    } catch (e) {
      setError((e as Error).message);
      setStatus("idle");
    }
    setJob(null);
  }

  async function cancel() {
    if (job) await cancelJob(job);
  }

  async function expand(id: string) {
    const cur = results[results.length - 1];
    if (!cur || expanding !== null) return;
    setExpanding(id);
    setError("");
    try {
      const s = await runJob<Expansion>(
        `/api/jobs/${cur.job}/expand`,
        { node: id },
        (st) => setStatus(`expand ${id} ${st.status}: ${st.progress}`),
      );
      if (s.status === "done") {
        setResults((rs) =>
          rs.map((r) => {
            if (r !== cur) return r;
            const next = { ...r, data: structuredClone(r.data), figures: [...r.figures] };
            graftExpansion(next, s.result!);
            return next;
          })
        );
      }
      if (s.error) setError(s.error);
    } catch (e) {
      setError((e as Error).message);
    }
    setExpanding(null);
  }

  async function upload(ev: Event) {
    const file = (ev.target as HTMLInputElement).files?.[0];
    if (!file) return;
    try {
      const { id } = await api<{ id: string }>("/api/upload?kind=image", {
        method: "POST",
        headers: { "content-type": file.type },
        body: file,
      });
      setImages((l) => [...l, { id, label: `uploaded ${file.name}` }]);
      setImage(id);
    } catch (e) {
      setError((e as Error).message);
    }
  }

  const fig = current
    ? (picked ? current.figures.find((f) => f.node === picked) : seq[Math.min(step, seq.length - 1)]) ??
      current.figures[0]
    : undefined;

  const chosen = images.find((i) => i.id === image);
  return (
    <>
      <section class="controls">
        <label>
          Model
          <select
            name="model"
            value={model}
            onChange={(e) => setModel((e.target as HTMLSelectElement).value)}
          >
            {props.models.map((m) => <option key={m.id} value={m.id}>{m.id}</option>)}
          </select>
        </label>
        <label>
          Image
          <select
            name="image"
            value={image}
            onChange={(e) => setImage((e.target as HTMLSelectElement).value)}
          >
            {images.map((m) => <option key={m.id} value={m.id}>{m.label}</option>)}
          </select>
          {chosen?.box ? <span class="hint" id="box-known">box known: metrics panel</span> : null}
        </label>
        <label>
          Upload image <input type="file" name="upload" accept="image/png,image/jpeg" onChange={upload} />
        </label>
        <label>
          Reference (similarity)
          <select
            name="reference"
            value={reference}
            onChange={(e) => setReference((e.target as HTMLSelectElement).value)}
          >
            <option value="">none (class decision)</option>
            {images.map((m) => <option key={m.id} value={m.id}>{m.label}</option>)}
          </select>
        </label>
        <label>
          Method
          <select
            name="method"
            value={method}
            onChange={(e) => setMethod((e.target as HTMLSelectElement).value)}
          >
            {props.methods.map((m) => <option key={m.id} value={m.id} title={m.summary}>{m.id}</option>)}
          </select>
        </label>
        <label>
          Layers{" "}
          <input
            name="layers"
            value={layers}
            placeholder="default"
            onInput={(e) => setLayers((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          Class{" "}
          <input
            name="class"
            value={klass}
            placeholder="top-1"
            onInput={(e) => setKlass((e.target as HTMLInputElement).value)}
          />
        </label>
        {method === "gap"
          ? (
            <label>
              gAP depth{" "}
              <input
                name="depth"
                value={depth}
                placeholder="all"
                title="levels computed at once; click a ▸ node to grow the tree further"
                onInput={(e) => setDepth((e.target as HTMLInputElement).value)}
              />
            </label>
          )
          : null}
        <button type="button" id="run" onClick={run} disabled={job !== null}>Explain</button>
        <button type="button" id="cancel" onClick={cancel} disabled={job === null}>Cancel</button>
        <span id="status">{status}</span>
        {error ? <p class="error" id="error">{error}</p> : null}
      </section>
      {current && fig
        ? (
          <section class="result" id="result">
            <p class="decision" id="decision">
              {current.method} · {JSON.stringify(current.decision)} · {current.explain_ms.toFixed(0)} ms on
              {" "}
              {current.backend}
            </p>
            <div class="view">
              <Overlay input={current.input} fig={fig} opacity={opacity} />
              <div class="side">
                <label>
                  Opacity
                  <input
                    type="range"
                    id="opacity"
                    min="0"
                    max="1"
                    step="0.05"
                    value={opacity}
                    onInput={(e) => setOpacity(Number((e.target as HTMLInputElement).value))}
                  />
                </label>
                {seq.length > 1
                  ? (
                    <div class="scrub">
                      <input
                        type="range"
                        id="scrubber"
                        min="0"
                        max={seq.length - 1}
                        value={step}
                        onInput={(e) => {
                          setPicked(null);
                          setStep(Number((e.target as HTMLInputElement).value));
                        }}
                      />
                      <button type="button" id="play" onClick={() => setPlaying(!playing)}>
                        {playing ? "Pause" : "Play"}
                      </button>
                      <span id="layer-name">{seq[Math.min(step, seq.length - 1)]?.title}</span>
                    </div>
                  )
                  : null}
                {current.data.tree
                  ? (
                    <ul class="tree" id="tree">
                      <Tree
                        node={current.data.tree}
                        layers={current.data.layers}
                        picked={picked}
                        expanding={expanding}
                        onPick={setPicked}
                        onExpand={expand}
                      />
                    </ul>
                  )
                  : null}
              </div>
            </div>
            {current.metricsNote ? <p class="note">{current.metricsNote}</p> : null}
            <div class="thumbs">
              {current.figures.map((f, i) => (
                <figure key={i}>
                  <img src={f.image} alt={f.title} />
                  <figcaption>{f.title}</figcaption>
                </figure>
              ))}
            </div>
          </section>
        )
        : null}
      {current?.metrics ? <MetricsPanel m={current.metrics} method={current.method} /> : null}
      {current?.perturbation ? <PerturbationPanel p={current.perturbation} input={current.input} /> : null}
      {results.length > 1
        ? (
          <section class="compare" id="compare">
            <h2>Compare</h2>
            <div class="thumbs">
              {results.map((r, i) => (
                <figure key={i}>
                  <img src={r.figures[0]?.image} alt={r.method} />
                  <figcaption>{r.method}</figcaption>
                </figure>
              ))}
            </div>
          </section>
        )
        : null}
    </>
  );
}
