import { renderToString } from "preact-render-to-string";
import { Layout } from "../components/Layout.tsx";
import { App } from "../islands/App.tsx";
import { models, publicImages } from "../catalog.ts";

/** Server-render the dashboard page; the App island hydrates it in the browser with the same props. */
export async function renderIndex(): Promise<string> {
  const { methodIds, methods } = await import("@cnnlens/cli/methods");
  const props = {
    models: (await models()).map(({ id, label }) => ({ id, label })),
    images: publicImages(),
    methods: methodIds().map((id) => ({ id, summary: methods[id].summary })),
  };
  const json = JSON.stringify(props).replace(/</g, "\\u003c");
  return "<!doctype html>" + renderToString(
    <Layout title="cnnlens dashboard">
      <div id="app">
        <App {...props} />
      </div>
      <script id="props" type="application/json" dangerouslySetInnerHTML={{ __html: json }} />
      <script type="module" src="/static/app.js" />
    </Layout>,
  );
}
