/**
 * The FAM episode view: N-way K-shot, support images from the synthetic few-shot split or from the
 * catalogue, every query's prediction, similarity per class, and the FAM maps of the query and of the
 * explained class's supports.
 * @module
 */
import { useState } from "preact/hooks";
import { cancelJob, runJob } from "./api.ts";

/** What an episode job returns (see `work/episode.ts`). */
export interface EpisodeResult {
  ways: number;
  shots: number;
  layer: string | null;
  accuracy: number | null;
  explain_ms: number;
  backend: string;
  classes: { label: string; supports: string[] }[];
  queries: {
    index: number;
    label: string | null;
    prediction: string;
    correct: boolean | null;
    explained: string | null;
    scores: { class: string; similarity: number }[];
    image: string;
    map: string | null;
    supportMaps: string[];
  }[];
}

interface Option {
  id: string;
  label: string;
}

const num = (v: string, lo: number, hi: number) => Math.max(lo, Math.min(hi, Math.round(Number(v) || lo)));

/** The episode tab. */
export function EpisodeView(props: { models: Option[]; images: Option[] }) {
  const preferred = props.models.find((m) => m.id === "eval:fewshot_resnet")?.id ?? props.models[0]?.id ?? "";
  const [model, setModel] = useState(preferred);
  const [source, setSource] = useState<"synth" | "samples">("synth");
  const [ways, setWays] = useState(5);
  const [shots, setShots] = useState(1);
  const [queries, setQueries] = useState(1);
  const [episode, setEpisode] = useState(0);
  const [explain, setExplain] = useState("predicted");
  const [labels, setLabels] = useState<string[]>([]);
  const [picks, setPicks] = useState<string[][]>([]);
  const [queryPicks, setQueryPicks] = useState<{ image: string; label: string }[]>([]);
  const [status, setStatus] = useState("idle");
  const [error, setError] = useState("");
  const [job, setJob] = useState<string | null>(null);
  const [result, setResult] = useState<EpisodeResult | null>(null);

  const label = (j: number) => labels[j] || `class ${j + 1}`;
  const pick = (j: number, k: number) =>
    picks[j]?.[k] ?? props.images[(j * shots + k) % props.images.length]?.id;
  const qpick = (i: number) =>
    queryPicks[i] ?? { image: props.images[i % props.images.length]?.id, label: "" };

  async function run() {
    setError("");
    const body: Record<string, unknown> = {
      kind: "episode",
      model,
      source,
      ways,
      shots,
      queries,
      episode,
      explain,
    };
    if (source === "samples") {
      body.classes = Array.from({ length: ways }, (_, j) => ({
        label: label(j),
        images: Array.from({ length: shots }, (_, k) => pick(j, k)),
      }));
      body.queryImages = Array.from({ length: queries }, (_, i) => {
        const q = qpick(i);
        return q.label ? { image: q.image, label: q.label } : { image: q.image };
      });
    }
    try {
      const s = await runJob<EpisodeResult>("/api/jobs", body, (st) => {
        setJob(st.id);
        setStatus(`${st.status}: ${st.progress}`);
      });
      if (s.status === "done") setResult(s.result!);
      if (s.error) setError(s.error);
    } catch (e) {
      setError((e as Error).message);
      setStatus("idle");
    }
    setJob(null);
  }

  const set = <T,>(list: T[], i: number, v: T) => {
    const out = [...list];
    out[i] = v;
    return out;
  };

  return (
    <section class="episode" id="episode-panel">
      <div class="controls">
        <label>
          Model
          <select
            name="ep-model"
            value={model}
            onChange={(e) => setModel((e.target as HTMLSelectElement).value)}
          >
            {props.models.map((m) => <option key={m.id} value={m.id}>{m.id}</option>)}
          </select>
        </label>
        <label>
          Images
          <select
            name="ep-source"
            value={source}
            onChange={(e) => setSource((e.target as HTMLSelectElement).value as "synth" | "samples")}
          >
            <option value="synth">synthetic few-shot classes (generator)</option>
            <option value="samples">pick from the images</option>
          </select>
        </label>
        <label>
          N (ways)
          <input
            name="ep-ways"
            type="number"
            min="1"
            max="6"
            value={ways}
            onInput={(e) => setWays(num((e.target as HTMLInputElement).value, 1, 6))}
          />
        </label>
        <label>
          K (shots)
          <input
            name="ep-shots"
            type="number"
            min="1"
            max="5"
            value={shots}
            onInput={(e) => setShots(num((e.target as HTMLInputElement).value, 1, 5))}
          />
        </label>
        <label>
          {source === "synth" ? "Queries per class" : "Queries"}
          <input
            name="ep-queries"
            type="number"
            min="1"
            max="5"
            value={queries}
            onInput={(e) => setQueries(num((e.target as HTMLInputElement).value, 1, 5))}
          />
        </label>
        {source === "synth"
          ? (
            <label>
              Episode #
              <input
                name="ep-episode"
                type="number"
                min="0"
                value={episode}
                onInput={(e) => setEpisode(num((e.target as HTMLInputElement).value, 0, 1e6))}
              />
            </label>
          )
          : null}
        <label>
          Explain
          <select
            name="ep-explain"
            value={explain}
            onChange={(e) => setExplain((e.target as HTMLSelectElement).value)}
          >
            <option value="predicted">each query's predicted class</option>
            {(result?.classes ?? []).map((c) => <option key={c.label} value={c.label}>class {c.label}
            </option>)}
          </select>
        </label>
        <button type="button" id="ep-run" onClick={run} disabled={job !== null}>Run episode</button>
        <button type="button" id="ep-cancel" onClick={() => job && cancelJob(job)} disabled={job === null}>
          Cancel
        </button>
        <span id="ep-status">{status}</span>
        {error ? <p class="error" id="ep-error">{error}</p> : null}
      </div>
      {source === "samples"
        ? (
          <div class="ep-pick" id="ep-pick">
            {Array.from({ length: ways }, (_, j) => (
              <div class="ep-row" key={j}>
                <input
                  class="ep-label"
                  value={label(j)}
                  onInput={(e) => setLabels(set(labels, j, (e.target as HTMLInputElement).value))}
                />
                {Array.from({ length: shots }, (_, k) => (
                  <select
                    key={k}
                    name={`ep-support-${j}-${k}`}
                    value={pick(j, k)}
                    onChange={(e) => {
                      const row = set(picks[j] ?? [], k, (e.target as HTMLSelectElement).value);
                      setPicks(set(picks, j, row));
                    }}
                  >
                    {props.images.map((m) => <option key={m.id} value={m.id}>{m.label}</option>)}
                  </select>
                ))}
              </div>
            ))}
            {Array.from({ length: queries }, (_, i) => (
              <div class="ep-row" key={`q${i}`}>
                <span class="ep-label">query {i + 1}</span>
                <select
                  name={`ep-query-${i}`}
                  value={qpick(i).image}
                  onChange={(e) =>
                    setQueryPicks(
                      set(queryPicks, i, { ...qpick(i), image: (e.target as HTMLSelectElement).value }),
                    )}
                >
                  {props.images.map((m) => <option key={m.id} value={m.id}>{m.label}</option>)}
                </select>
                <select
                  name={`ep-query-label-${i}`}
                  value={qpick(i).label}
                  onChange={(e) =>
                    setQueryPicks(
                      set(queryPicks, i, { ...qpick(i), label: (e.target as HTMLSelectElement).value }),
                    )}
                >
                  <option value="">true class unknown</option>
                  {Array.from(
                    { length: ways },
                    (_, j) => <option key={j} value={label(j)}>{label(j)}</option>,
                  )}
                </select>
              </div>
            ))}
          </div>
        )
        : null}
      {result ? <EpisodeResultView r={result} /> : null}
    </section>
  );
}

function EpisodeResultView(props: { r: EpisodeResult }) {
  const r = props.r;
  return (
    <div class="result" id="episode">
      <p class="decision" id="ep-summary">
        {r.ways}-way {r.shots}-shot · {r.queries.length} queries
        {r.accuracy !== null ? ` · accuracy ${(100 * r.accuracy).toFixed(0)} %` : ""} · FAM at {r.layer} ·
        {" "}
        {r.explain_ms.toFixed(0)} ms on {r.backend}
      </p>
      <h2>Support set</h2>
      <div class="ep-supports" id="ep-supports">
        {r.classes.map((c) => (
          <figure key={c.label} class="ep-class" data-class={c.label}>
            <div class="ep-thumbs">
              {c.supports.map((s, k) => <img key={k} src={s} alt={`${c.label} support ${k + 1}`} />)}
            </div>
            <figcaption>{c.label}</figcaption>
          </figure>
        ))}
      </div>
      <h2>Queries</h2>
      {r.queries.map((q) => {
        const best = Math.max(...q.scores.map((s) => s.similarity));
        return (
          <div class="ep-query" key={q.index} data-query={q.index}>
            <figure>
              <img src={q.image} alt={`query ${q.index + 1}`} />
              <figcaption>query {q.index + 1}{q.label ? ` (${q.label})` : ""}</figcaption>
            </figure>
            {q.map
              ? (
                <figure>
                  <img src={q.map} alt={`FAM of query ${q.index + 1}`} class="ep-map" />
                  <figcaption>FAM vs {q.explained}</figcaption>
                </figure>
              )
              : null}
            <div class="ep-scores">
              <p>
                predicted <b class="ep-pred">{q.prediction}</b>
                {q.correct === null ? "" : q.correct ? " ✓" : ` ✗ (true ${q.label})`}
              </p>
              {q.scores.map((s) => (
                <div
                  key={s.class}
                  class={s.similarity === best ? "ep-score best" : "ep-score"}
                  data-class={s.class}
                  data-similarity={s.similarity}
                >
                  <span class="ep-score-label">{s.class}</span>
                  <span class="bar" style={{ width: `${Math.max(0, s.similarity) * 120}px` }} />
                  <span>{s.similarity.toFixed(3)}</span>
                </div>
              ))}
            </div>
            <div class="ep-support-maps">
              {q.supportMaps.map((m, k) => (
                <figure key={k}>
                  <img src={m} alt={`FAM of ${q.explained} support ${k + 1}`} class="ep-support-map" />
                  <figcaption>{q.explained} #{k + 1}</figcaption>
                </figure>
              ))}
            </div>
          </div>
        );
      })}
    </div>
  );
}
