// Starts the editor on index.html, where it owns the whole page.
import { mountPage } from "./embed.js";

const element = document.getElementById("flexedit");

// Until the editor runs, its first screen (in index.html since the build) takes typing in
// its fields, which the editor carries over, and its buttons are disabled. Files dropped or
// pasted meanwhile would open in place of the page, and files chosen in its file input
// would stay there: they are kept instead, and handed to the editor's drop zone once it is
// there, as if dropped on it then. Its forms are not sent anywhere meanwhile.
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
  change: (event) => {
    if (event.target instanceof HTMLInputElement && event.target.type === "file") {
      keep(event.target.files);
    }
  },
  submit: (event) => event.preventDefault(),
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
    element.removeAttribute("aria-busy");
    element.removeAttribute("hidden");
    element.textContent = `flexedit could not start: ${error?.message ?? error}. Reload the page; if it happens again, use a current version of Chrome, Edge, Firefox or Safari.`;
  });
