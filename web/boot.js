// Starts the editor on index.html, where it owns the whole page.
import { mountPage } from "./embed.js";

const element = document.getElementById("flexedit");
mountPage(element).catch((error) => {
  element.textContent = `flexedit could not start: ${error?.message ?? error}. Reload the page; if it happens again, use a current version of Chrome, Edge, Firefox or Safari.`;
});
