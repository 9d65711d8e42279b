import { encodePng, type RgbImage } from "@cnnlens/core";
import type { Figure } from "./methods/adapter.ts";

/** One section of a report. */
export interface ReportSection {
  title: string;
  subtitle?: string;
  figures: Figure[];
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function b64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/**
 * A picture as a PNG data URL (for HTML reports and the dashboard).
 * @param img The picture.
 * @returns `data:image/png;base64,…`.
 */
export function pngDataUrl(img: RgbImage): string {
  return `data:image/png;base64,${b64(encodePng(img))}`;
}

/**
 * A self-contained HTML report (images inline as base64 PNG).
 * @param title Page title.
 * @param sections Sections with figures.
 * @returns The HTML text.
 */
export function htmlReport(title: string, sections: ReportSection[]): string {
  const body = sections.map((s) => `
<section>
  <h2>${esc(s.title)}</h2>${s.subtitle ? `\n  <p class="sub">${esc(s.subtitle)}</p>` : ""}
  <div class="figs">${
    s.figures.map((f) =>
      `<figure${f.image.width > 400 ? ' class="wide"' : ""}><img alt="${esc(f.title)}" src="${
        pngDataUrl(f.image)
      }"><figcaption>${esc(f.title)}</figcaption></figure>`
    ).join("")
  }</div>
</section>`).join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;background:#fafafa;color:#222}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
.sub{color:#666;font-size:.9rem}.figs{display:flex;flex-wrap:wrap;gap:1rem}
figure{margin:0;background:#fff;padding:.5rem;border:1px solid #e5e5e5;border-radius:6px}
figure img{display:block;width:224px;image-rendering:pixelated}
figure.wide img{width:auto;max-width:1100px}
figcaption{font-size:.8rem;color:#444;margin-top:.3rem;max-width:224px;word-break:break-all}
figure.wide figcaption{max-width:none}
</style></head>
<body><h1>${esc(title)}</h1>
${body}
</body></html>
`;
}
