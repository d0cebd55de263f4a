// flexedit's loader. Starts the editor's WebAssembly module once per page and offers the
// editor two ways:
//
//   import { mount } from "https://your.host/editor/embed.js";
//   const editor = await mount(document.getElementById("editor"), { mode: "proxy" });
//
//   <script type="module" src="https://your.host/editor/embed.js"></script>
//   <flexedit-editor mode="proxy"></flexedit-editor>
//
// Each editor renders in a shadow root with its own styles; events (flexedit:result,
// flexedit:error, flexedit:phase) are dispatched on the element. The build fills in the
// names of its hashed files (crates/xtask).
import init, { mount as mountInto } from "./__FLEXEDIT_JS__";

const base = new URL("./", import.meta.url);
const styles = __FLEXEDIT_CSS__;

/// config.json beside the editor's files, as { status, text }: status 0 when nothing
/// answered, text null when the answer could not be read. The editor says what that means.
async function fetchConfig() {
  let response;
  try {
    response = await fetch(new URL("config.json", base));
  } catch {
    return { status: 0, text: null };
  }
  if (!response.ok) return { status: response.status, text: null };
  try {
    return { status: response.status, text: await response.text() };
  } catch {
    return { status: response.status, text: null };
  }
}

// The start leaves user-timing marks, for the browser's performance panel and
// scripts/bench-editor: "flexedit:start" when the loading begins, "flexedit:wasm" and
// "flexedit:config" as each is ready, a "flexedit:render" measure per first render, and on
// index.html "flexedit:live" once the editor has taken over the first screen.
function marked(promise, name) {
  return promise.then((value) => {
    performance.mark(name);
    return value;
  });
}

// The module and the configuration load side by side, once per page; resolves to the
// configuration.
let started;
function start() {
  if (started === undefined) {
    performance.mark("flexedit:start");
    started = Promise.all([
      marked(init({ module_or_path: new URL("__FLEXEDIT_WASM__", base) }), "flexedit:wasm"),
      marked(fetchConfig(), "flexedit:config"),
    ]).then(([, config]) => config);
  }
  return started;
}

/// Renders an editor: the whole first render happens within this call.
function render(container, host, config, options, page) {
  const begin = performance.now();
  const ready = mountInto(container, host, config, options, page);
  performance.measure("flexedit:render", { start: begin });
  return ready;
}

function checkElement(element) {
  if (!(element instanceof HTMLElement)) {
    throw new TypeError(
      "flexedit: mount() needs an element of the page, such as document.getElementById('editor').",
    );
  }
}

/// Mounts an editor in `element` (in a shadow root) with `options`, the fields of
/// config.json. Resolves to { unmount, setOptions, setImage, setImages, setPrompt } once it is ready.
export async function mount(element, options) {
  checkElement(element);
  const shadow = element.shadowRoot ?? element.attachShadow({ mode: "open" });
  const links = styles.map((href) => {
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = new URL(href, base).href;
    return link;
  });
  const container = document.createElement("div");
  container.className = "flexedit";
  shadow.replaceChildren(...links, container);
  let handle;
  try {
    const config = await start();
    handle = await render(container, element, config, options, false);
  } catch (error) {
    shadow.replaceChildren();
    throw error;
  }
  let mounted = true;
  return {
    unmount() {
      if (mounted) {
        mounted = false;
        handle.unmount();
        shadow.replaceChildren();
      }
    },
    setOptions: (next) => handle.setOptions(next),
    setImage: (image) => handle.setImage(image),
    setImages: (images) => handle.setImages(images),
    setPrompt: (text) => handle.setPrompt(String(text ?? "")),
  };
}

/// The editor of index.html: in the page itself, answering keys pressed anywhere.
/// Resolves once the browser has recorded the paint of index.html's first screen as the
/// page's largest: it records a paint when the frame is shown, and forgets one whose node
/// was removed before then. A hidden tab shows no frame, so it does not wait; nor does it
/// wait past a moment for a browser that never says.
function firstScreenRecorded() {
  return new Promise((resolve) => {
    const types = globalThis.PerformanceObserver?.supportedEntryTypes ?? [];
    if (document.visibilityState !== "visible" || !types.includes("largest-contentful-paint")) {
      resolve();
      return;
    }
    const observer = new PerformanceObserver(() => {
      observer.disconnect();
      resolve();
    });
    observer.observe({ type: "largest-contentful-paint", buffered: true });
    setTimeout(() => {
      observer.disconnect();
      resolve();
    }, 200);
  });
}

export async function mountPage(element) {
  checkElement(element);
  // The module and the configuration are fetched once the first screen is painted and
  // recorded: a page is judged by how soon its largest paint comes, and requests begun
  // before it count as holding it up. The first screen is already there meanwhile.
  await firstScreenRecorded();
  const config = await start();
  // index.html arrives with the editor's first screen rendered at build time, marked
  // busy, its fields taking input. The editor renders off the page and takes that
  // screen's place in one step once whole, with what was typed there; it is ready then.
  return marked(render(element, element, config, undefined, true), "flexedit:live");
}

const attributes = {
  endpoint: ["endpoint", String],
  mode: ["mode", String],
  "lock-endpoint": ["lockEndpoint", (v) => v !== "false"],
  "lock-mode": ["lockMode", (v) => v !== "false"],
  "max-upload-pixels": ["maxUploadPixels", Number],
  "max-source-bytes": ["maxSourceBytes", Number],
  defaults: ["defaults", JSON.parse],
};

function optionsOf(element) {
  const options = {};
  for (const [name, [key, read]] of Object.entries(attributes)) {
    if (element.hasAttribute(name)) {
      options[key] = read(element.getAttribute(name));
    }
  }
  return options;
}

function report(element, error) {
  const message = error?.message ?? String(error);
  console.error(message);
  element.dispatchEvent(
    new CustomEvent("flexedit:error", {
      bubbles: true,
      composed: true,
      detail: {
        kind: "options",
        message,
        nextStep: "Check the element's attributes against the options in the README.",
        providerWords: null,
        mayHaveBilled: false,
      },
    }),
  );
}

/// <flexedit-editor endpoint="…" mode="proxy|direct" lock-endpoint lock-mode
///   max-upload-pixels="…" max-source-bytes="…" defaults='{"steps": 8}'>
/// Its `editor` property is the handle mount() resolves to; `flexedit:ready` says when.
class FlexeditEditor extends HTMLElement {
  static observedAttributes = Object.keys(attributes);
  #editor = null;
  #mounting = false;

  get editor() {
    return this.#editor;
  }

  connectedCallback() {
    if (this.#mounting || this.#editor) return;
    this.#mounting = true;
    let options;
    try {
      options = optionsOf(this);
    } catch (error) {
      this.#mounting = false;
      report(this, error);
      return;
    }
    mount(this, options).then(
      (editor) => {
        this.#mounting = false;
        if (!this.isConnected) {
          editor.unmount();
          return;
        }
        this.#editor = editor;
        this.dispatchEvent(new CustomEvent("flexedit:ready", { bubbles: true, composed: true }));
      },
      (error) => {
        this.#mounting = false;
        report(this, error);
      },
    );
  }

  disconnectedCallback() {
    this.#editor?.unmount();
    this.#editor = null;
  }

  attributeChangedCallback() {
    if (!this.#editor) return;
    try {
      this.#editor.setOptions(optionsOf(this));
    } catch (error) {
      report(this, error);
    }
  }
}

if (!customElements.get("flexedit-editor")) {
  customElements.define("flexedit-editor", FlexeditEditor);
}
