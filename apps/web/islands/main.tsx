import { hydrate } from "preact";
import { App, type AppProps } from "./App.tsx";

const props = JSON.parse(document.getElementById("props")!.textContent!) as AppProps;
hydrate(<App {...props} />, document.getElementById("app")!);
