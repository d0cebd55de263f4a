// The dashboard's side of the integration: mount one editor, and file every result of
// both editors in the dashboard's own store (here, a list on the page).
import { mount } from "./editor/embed.js";

const store = [];
// Reachable from the console (and from tests) as the dashboard's "database".
window.dashboard = { store, editors: {} };

const results = document.getElementById("results");
const status = document.getElementById("status");

function file(editor, event) {
  const { prompt, seed, resultUrl, image, width, height } = event.detail;
  store.push({ editor, prompt, seed, resultUrl, image, width, height });
  const item = document.createElement("li");
  item.dataset.editor = editor;
  if (image) {
    const picture = document.createElement("img");
    picture.src = URL.createObjectURL(image);
    picture.alt = prompt;
    item.append(picture);
  }
  const caption = document.createElement("span");
  caption.textContent = `${editor}: “${prompt}” — seed ${seed}, ${image ? `${image.size} bytes` : "image not available"}`;
  item.append(caption);
  results.prepend(item);
  status.textContent = `${store.length} result${store.length === 1 ? "" : "s"} filed.`;
}

const hostA = document.getElementById("editor-a");
const hostB = document.getElementById("editor-b");
hostA.addEventListener("flexedit:result", (event) => file("banner", event));
hostB.addEventListener("flexedit:result", (event) => file("social", event));
for (const host of [hostA, hostB]) {
  host.addEventListener("flexedit:error", (event) => {
    status.textContent = `${event.detail.message} ${event.detail.nextStep}`;
  });
}

window.dashboard.editors.banner = await mount(hostA, {
  defaults: { aspect_ratio: "16:9", steps: 25 },
});
hostA.dataset.ready = "true";
