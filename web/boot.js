// Starts the editor on index.html, where it owns the whole page.
import { mountPage } from "./embed.js";

const element = document.getElementById("flexedit");

// Until the editor runs, its first screen (in index.html since the build) is inert. Files
// dropped or pasted meanwhile would open in place of the page: they are kept instead, and
// handed to the editor's drop zone once it is there, as if dropped on it then.
let early = [];
const keep = (files) => {
  if (files && files.length > 0) early = [...files];
};
const listeners = {
  dragover: (event) => event.preventDefault(),
  drop: (event) => {
    event.preventDefault();
    keep(event.dataTransfer?.files);
  },
  paste: (event) => keep(event.clipboardData?.files),
};
for (const [name, listener] of Object.entries(listeners)) addEventListener(name, listener);

function handOver() {
  for (const [name, listener] of Object.entries(listeners)) removeEventListener(name, listener);
  const zone = element.querySelector('[data-testid="drop-zone"]');
  if (early.length === 0 || !zone) return;
  const transfer = new DataTransfer();
  for (const file of early) transfer.items.add(file);
  zone.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
}

mountPage(element)
  .then(handOver)
  .catch((error) => {
    element.removeAttribute("inert");
    element.removeAttribute("aria-busy");
    element.textContent = `flexedit could not start: ${error?.message ?? error}. Reload the page; if it happens again, use a current version of Chrome, Edge, Firefox or Safari.`;
  });
