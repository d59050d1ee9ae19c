/* The design editor shared by the diagram builder and the design review (HB.designEditor).

   The page is built with the default design already drawn (and reviewed) from the model; the palette, the reference
   designs, the lenses and the scenario's inputs come from the JSON the build puts next to the diagram (in a
   data-design attribute). This editor adds the controls, keeps the design and the scenario in the URL (inputs' names
   are the API parameters and the query keys), runs one calculation in Pyodide on every change and draws the mermaid
   source the model returns with the vendored mermaid (securityLevel "strict"). Every text it writes is set with
   textContent; the only markup inserted is the SVG mermaid renders from the escaped source, inside the diagram's own
   shadow root. */
(function () {
  "use strict";
  if (!window.HB || window.HB.designEditor) return;

  const SCENARIO_FIELDS = [
    { name: "model", label: "Model", choices: "models" },
    { name: "gpu", label: "GPU", choices: "gpus" },
    { name: "weights", label: "Weight precision", choices: "precisions", fallback: "bf16" },
    { name: "requests_per_s", label: "Peak requests per second" },
    { name: "input_tokens", label: "Input tokens per request" },
    { name: "output_tokens", label: "Output tokens per request" },
    { name: "ttft_p95_slo_ms", label: "TTFT p95 SLO in ms", fallback: "1000" },
    { name: "tpot_slo_ms", label: "TPOT SLO in ms", fallback: "50" },
    { name: "regions", label: "Regions", fallback: "1" },
    { name: "tenants", label: "Tenants", fallback: "1" },
  ];
  const DESIGN_KEYS = ["architecture", "components", "connections", "labels"];
  let sequence = 0;

  function el(tag, props, text) {
    const node = document.createElement(tag);
    Object.entries(props || {}).forEach(([key, value]) => {
      if (value === undefined || value === null || value === false) return;
      if (key === "className") node.className = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function parseIds(text) {
    return String(text || "").toLowerCase().split(/[\s,]+/).filter(Boolean);
  }

  function parseConnections(text) {
    return parseIds(text).map((part) => part.split(">")).filter((p) => p.length === 2 && p[0] && p[1]);
  }

  /* Mermaid renders into a fresh shadow root; the site's config (Material's theme variables) is kept and only
     startOnLoad and securityLevel are forced. */
  async function renderMermaid(source, overrides) {
    if (typeof window.mermaid === "undefined" || typeof window.mermaid.render !== "function") {
      throw new Error("the diagram library did not load");
    }
    const api = window.mermaid.mermaidAPI || {};
    const site = typeof api.getSiteConfig === "function" ? api.getSiteConfig() : {};
    window.mermaid.initialize(Object.assign({}, site, overrides || {}, { startOnLoad: false, securityLevel: "strict" }));
    try {
      return await window.mermaid.render("hb-design-svg-" + ++sequence, source);
    } finally {
      if (overrides) window.mermaid.initialize(Object.assign({}, site, { startOnLoad: false, securityLevel: "strict" }));
    }
  }

  function designEditor(root, options) {
    const dataTag = root.querySelector("[data-design]");
    if (!dataTag) throw new Error("design widget without its data");
    const data = JSON.parse(dataTag.dataset.design);
    const palette = Object.fromEntries(data.components.map((c) => [c.id, c]));
    const references = Object.fromEntries(data.architectures.map((a) => [a.id, a]));
    const builtFigure = root.querySelector("figure.hb-diagram");
    const withLens = Boolean(options.lens);
    let engine = null;
    let lastSource = builtFigure ? builtFigure.querySelector("pre, code").textContent : "";
    let lastSvg = "";

    // -- state -------------------------------------------------------------------------------------------------------
    const state = { architecture: "", components: [], connections: [], labels: {} };

    function loadReference(id) {
      const ref = references[id];
      state.architecture = ref ? id : "";
      state.components = ref ? ref.components.slice() : [];
      state.connections = ref ? ref.connections.map((p) => p.slice()) : [];
      state.labels = {};
    }

    function loadParams(params) {
      if (params.architecture) loadReference(params.architecture);
      else loadReference("");
      if (params.components !== undefined && params.components !== null) {
        state.components = parseIds(params.components);
        state.connections = [];
      }
      if (params.connections) state.connections = parseConnections(params.connections);
      if (params.labels) {
        try {
          const labels = typeof params.labels === "string" ? JSON.parse(params.labels) : params.labels;
          state.labels = labels && typeof labels === "object" && !Array.isArray(labels) ? labels : {};
        } catch (error) {
          state.labels = {};
        }
      }
    }

    // -- controls ----------------------------------------------------------------------------------------------------
    const prefix = (options.idPrefix || root.dataset.widget) + "-";
    const form = el("form", { className: "hb-widget__form hb-design__scenario", "aria-label": options.label + ": scenario" });
    const fields = {};
    function fieldBox(name, label, control, help) {
      const box = el("div", { className: "hb-field" });
      control.id = prefix + name;
      control.name = name;
      control.setAttribute("data-param", "");
      control.setAttribute("aria-describedby", prefix + name + "-error");
      box.append(el("label", { for: control.id }, label), control);
      if (help) box.append(el("span", { className: "hb-help" }, help));
      box.append(el("span", { className: "hb-field-error", id: prefix + name + "-error", "data-error-for": name, role: "alert", hidden: true }));
      fields[name] = control;
      return box;
    }
    SCENARIO_FIELDS.forEach((f) => {
      let control;
      if (f.choices) {
        control = el("select");
        data[f.choices].forEach((id) => control.append(el("option", { value: id }, id)));
      } else {
        control = el("input", { type: "text", inputmode: "decimal", autocomplete: "off" });
      }
      form.append(fieldBox(f.name, f.label, control));
    });
    if (withLens) {
      const lens = el("select");
      lens.append(el("option", { value: "" }, "No lens"));
      data.lenses.forEach((l) => lens.append(el("option", { value: l.id }, l.label)));
      form.append(fieldBox("lens", "Company lens", lens));
    }

    const designBox = el("fieldset", { className: "hb-design__editor" });
    designBox.append(el("legend", {}, "Design"));
    const startRow = el("div", { className: "hb-design__row" });
    const startSelect = el("select", { name: "architecture", "aria-label": "Reference design to start from" });
    startSelect.append(el("option", { value: "" }, "Empty board"));
    data.architectures.forEach((a) => startSelect.append(el("option", { value: a.id }, a.title)));
    const startButton = el("button", { type: "button", className: "md-button", "data-action": "start" }, "Start from this design");
    startRow.append(el("span", { className: "hb-design__row-label" }, "Start from"), startSelect, startButton);

    const list = el("ul", { className: "hb-design__components", "aria-label": "Components in the design" });
    const addRow = el("div", { className: "hb-design__row" });
    const addSelect = el("select", { "aria-label": "Component to add", "data-role": "add" });
    const addButton = el("button", { type: "button", className: "md-button", "data-action": "add" }, "Add component");
    addRow.append(el("span", { className: "hb-design__row-label" }, "Add"), addSelect, addButton);

    const links = el("ul", { className: "hb-design__connections", "aria-label": "Connections" });
    const linkRow = el("div", { className: "hb-design__row" });
    const fromSelect = el("select", { "aria-label": "Connect from", "data-role": "from" });
    const toSelect = el("select", { "aria-label": "Connect to", "data-role": "to" });
    const linkButton = el("button", { type: "button", className: "md-button", "data-action": "connect" }, "Connect");
    linkRow.append(el("span", { className: "hb-design__row-label" }, "Connect"), fromSelect, el("span", { "aria-hidden": "true" }, "→"), toSelect, linkButton);
    const designError = el("p", { className: "hb-field-error", "data-error-for": "components", role: "alert", hidden: true });
    designBox.append(startRow, el("p", { className: "hb-design__heading" }, "Components"), list, addRow,
                     el("p", { className: "hb-design__heading" }, "Connections"), links, linkRow, designError);

    const bar = el("div", { className: "hb-widget__bar" });
    const buttons = {
      copySource: el("button", { type: "button", className: "md-button", "data-action": "copy-source" }, "Copy mermaid source"),
      download: el("button", { type: "button", className: "md-button", "data-action": "download-svg" }, "Download SVG"),
      copyLink: el("button", { type: "button", className: "md-button", "data-action": "copy" }, "Copy link"),
      reset: el("button", { type: "button", className: "md-button", "data-action": "reset" }, "Reset"),
    };
    const linkBox = el("textarea", { className: "hb-widget__link", readonly: true, "data-link": "", "aria-label": "Text to copy", rows: "2", hidden: true });
    const progress = el("progress", { "data-progress": "", hidden: true, "aria-label": "Loading Python" });
    const status = el("span", { className: "hb-widget__status", "data-status": "", role: "status", "aria-live": "polite" },
      "Showing the default computed when the page was built; change anything to compute in your browser.");
    bar.append(buttons.copySource, buttons.download, buttons.copyLink, buttons.reset, progress, status, linkBox);
    const warning = el("p", { className: "hb-field-error hb-widget__warning", "data-warning": "", role: "alert", hidden: true });

    const canvas = el("div", { className: "hb-diagram__canvas", "data-diagram": "", role: "img", "aria-label": "Design diagram", hidden: true });
    const sourceBox = el("details", { className: "hb-design__source" });
    const sourceCode = el("code", { "data-mermaid-source": "" }, lastSource);
    sourceBox.append(el("summary", {}, "Mermaid source"), el("pre", {}, undefined));
    sourceBox.querySelector("pre").append(sourceCode);

    const controls = el("div", { className: "hb-design__controls" });
    controls.append(form, designBox, bar, warning);
    root.prepend(controls);
    if (builtFigure) builtFigure.after(canvas, sourceBox);
    else root.append(canvas, sourceBox);

    // -- rendering the editor from the state ----------------------------------------------------------------------------
    function labelOf(id) {
      return state.labels[id] || (palette[id] ? palette[id].label : id);
    }

    function renderEditor() {
      list.replaceChildren();
      state.components.forEach((id) => {
        const item = el("li", { "data-component": id });
        const kind = el("span", { className: "hb-design__kind" }, palette[id] ? palette[id].kind : "unknown");
        const input = el("input", { type: "text", className: "hb-design__label", maxlength: "60", autocomplete: "off",
                                    "aria-label": "Label of " + (palette[id] ? palette[id].label : id),
                                    placeholder: palette[id] ? palette[id].label : id, "data-label-for": id });
        input.value = state.labels[id] || "";
        input.addEventListener("change", () => {
          const text = input.value.trim();
          if (text) state.labels[id] = text;
          else delete state.labels[id];
          changed();
        });
        const remove = el("button", { type: "button", className: "hb-design__remove", "data-remove": id,
                                      "aria-label": "Remove " + labelOf(id) }, "Remove");
        remove.addEventListener("click", () => {
          state.components = state.components.filter((c) => c !== id);
          state.connections = state.connections.filter(([a, b]) => a !== id && b !== id);
          delete state.labels[id];
          changed();
        });
        item.append(input, kind, remove);
        if (palette[id]) item.title = palette[id].purpose;
        list.append(item);
      });
      if (!state.components.length) list.append(el("li", { className: "hb-design__empty" }, "No components yet: add some or start from a reference design."));

      addSelect.replaceChildren();
      const kinds = {};
      data.components.filter((c) => !state.components.includes(c.id)).forEach((c) => {
        (kinds[c.kind] = kinds[c.kind] || []).push(c);
      });
      Object.keys(kinds).forEach((kind) => {
        const group = el("optgroup", { label: kind });
        kinds[kind].forEach((c) => group.append(el("option", { value: c.id, title: c.purpose }, c.label)));
        addSelect.append(group);
      });
      addButton.disabled = !addSelect.options.length;

      links.replaceChildren();
      state.connections.forEach(([a, b]) => {
        const item = el("li", { "data-connection": a + ">" + b });
        item.append(el("span", {}, labelOf(a) + " → " + labelOf(b)));
        const remove = el("button", { type: "button", className: "hb-design__remove", "aria-label": "Remove connection " + labelOf(a) + " to " + labelOf(b) }, "Remove");
        remove.addEventListener("click", () => {
          state.connections = state.connections.filter(([x, y]) => !(x === a && y === b));
          changed();
        });
        item.append(remove);
        links.append(item);
      });
      if (!state.connections.length) links.append(el("li", { className: "hb-design__empty" }, "No connections yet."));
      [fromSelect, toSelect].forEach((select) => {
        const keep = select.value;
        select.replaceChildren();
        state.components.forEach((id) => select.append(el("option", { value: id }, labelOf(id))));
        if (state.components.includes(keep)) select.value = keep;
      });
      if (toSelect.options.length > 1 && toSelect.value === fromSelect.value) toSelect.selectedIndex = 1;
      linkButton.disabled = state.components.length < 2;
      startSelect.value = state.architecture;
    }

    // -- parameters, URL ---------------------------------------------------------------------------------------------
    function params() {
      const out = {};
      Object.entries(fields).forEach(([name, control]) => {
        const value = control.value.trim();
        if (value !== "") out[name] = value;
      });
      out.components = state.components.join(",");
      out.connections = state.connections.map((p) => p.join(">")).join(",");
      out.labels = Object.assign({}, state.labels);
      return out;
    }

    function writeUrl() {
      const query = new URLSearchParams(location.search);
      Object.entries(fields).forEach(([name, control]) => query.set(name, control.value));
      DESIGN_KEYS.forEach((key) => query.delete(key));
      if (state.architecture) query.set("architecture", state.architecture);
      query.set("components", state.components.join(","));
      query.set("connections", state.connections.map((p) => p.join(">")).join(","));
      if (Object.keys(state.labels).length) query.set("labels", JSON.stringify(state.labels));
      history.replaceState(history.state, "", location.pathname + "?" + query.toString() + location.hash);
    }

    function setDefaults() {
      SCENARIO_FIELDS.forEach((f) => {
        const value = data.params[f.name];
        fields[f.name].value = value === undefined ? (f.fallback || "") : String(value);
      });
      if (withLens) fields.lens.value = data.params.lens || "";
      loadParams(data.params);
    }

    // -- status, errors ------------------------------------------------------------------------------------------------
    function setStatus(text, busy) {
      status.textContent = text;
      root.toggleAttribute("data-busy", Boolean(busy));
      root.setAttribute("aria-busy", busy ? "true" : "false");
    }

    function clearErrors() {
      root.querySelectorAll(".hb-design__controls [data-error-for]").forEach((box) => {
        box.textContent = "";
        box.hidden = true;
      });
      Object.values(fields).forEach((f) => f.removeAttribute("aria-invalid"));
      warning.textContent = "";
      warning.hidden = true;
    }

    function showError(name, message) {
      root.dataset.state = "error";
      if (fields[name]) {
        const box = form.querySelector('[data-error-for="' + name + '"]');
        box.textContent = message;
        box.hidden = false;
        fields[name].setAttribute("aria-invalid", "true");
      } else if (DESIGN_KEYS.includes(name)) {
        designError.textContent = name + ": " + message;
        designError.hidden = false;
      } else {
        warning.textContent = name + ": " + message;
        warning.hidden = false;
      }
    }

    // -- the diagram -------------------------------------------------------------------------------------------------
    async function draw(source) {
      const mine = ++draw.latest;
      try {
        const { svg, bindFunctions } = await renderMermaid(source);
        if (mine !== draw.latest) return;
        const shadow = canvas.shadowRoot || canvas.attachShadow({ mode: "open" });
        shadow.innerHTML = svg; // mermaid's output from the escaped source, sanitised by its strict security level
        if (bindFunctions) bindFunctions(shadow);
        lastSvg = svg;
        canvas.hidden = false;
        if (builtFigure) builtFigure.hidden = true;
        root.dataset.diagram = "drawn";
      } catch (error) {
        if (mine !== draw.latest) return;
        console.warn(root.dataset.widget + ": the diagram could not be drawn", error);
        root.dataset.diagram = "failed";
        warning.textContent = "The diagram could not be drawn (" + (error && error.message ? error.message : error) + "); its source is below.";
        warning.hidden = false;
      }
    }
    draw.latest = 0;

    // -- computing -----------------------------------------------------------------------------------------------------
    function compute() {
      if (!engine) return;
      clearErrors();
      let answer;
      try {
        answer = engine.run(options.calculation, params());
      } catch (error) {
        console.warn(root.dataset.widget + ": the model failed", error);
        showError("calculation", "the model could not compute this design");
        setStatus("The model could not compute this design.", false);
        return;
      }
      if (answer.result.error) {
        showError(answer.result.error.field, answer.result.error.message);
        setStatus("Fix the highlighted input to see the result.", false);
        return;
      }
      const result = answer.result;
      lastSource = result.mermaid;
      sourceCode.textContent = result.mermaid;
      if (result.warnings && result.warnings.length) {
        warning.textContent = result.warnings.join(" ");
        warning.hidden = false;
      }
      options.render(result, answer.display);
      root.dataset.diagram = "drawing";
      root.dataset.state = "ready";
      setStatus("Computed in your browser.", false);
      draw(result.mermaid);
    }

    function start() {
      if (engine) return;
      HB.startWidget(root, progress, setStatus, (reason) => "Python could not start in your browser (" + reason +
                     "). The design shown is the page's default; reload to try again.",
                     (loaded) => {
                       engine = loaded;
                       compute();
                     });
    }

    function changed() {
      renderEditor();
      writeUrl();
      if (engine) compute();
      else start();
    }

    // -- events ----------------------------------------------------------------------------------------------------------
    form.addEventListener("submit", (e) => e.preventDefault());
    Object.values(fields).forEach((f) => f.addEventListener(f.tagName === "SELECT" ? "change" : "input", changed));
    startButton.addEventListener("click", () => {
      loadReference(startSelect.value);
      changed();
    });
    addButton.addEventListener("click", () => {
      const id = addSelect.value;
      if (!id || state.components.includes(id)) return;
      state.components.push(id);
      changed();
    });
    linkButton.addEventListener("click", () => {
      const a = fromSelect.value;
      const b = toSelect.value;
      if (!a || !b) return;
      if (a === b) {
        designError.textContent = "connections: a component cannot connect to itself";
        designError.hidden = false;
        return;
      }
      if (!state.connections.some(([x, y]) => x === a && y === b)) state.connections.push([a, b]);
      changed();
    });

    function offerText(text, done) {
      linkBox.value = text;
      linkBox.hidden = false;
      const fallback = () => {
        linkBox.select();
        setStatus("Copy the text above.", false);
      };
      if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(() => setStatus(done, false), fallback);
      else fallback();
    }
    buttons.copySource.addEventListener("click", () => offerText(lastSource, "Mermaid source copied."));
    buttons.copyLink.addEventListener("click", () => {
      writeUrl();
      offerText(location.href, "Link copied.");
    });
    buttons.download.addEventListener("click", async () => {
      try {
        // A standalone picture: drawn again with mermaid's own light theme (the page's theme variables do not
        // travel with the file).
        const { svg } = await renderMermaid(lastSource, { theme: "default", themeCSS: "" });
        const url = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
        const link = el("a", { href: url, download: (root.dataset.widget || "design") + ".svg", hidden: true });
        document.body.append(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(url), 1000);
        setStatus("SVG downloaded.", false);
      } catch (error) {
        console.warn(root.dataset.widget + ": no SVG to download", error);
        setStatus("The diagram could not be drawn, so there is no SVG to download.", false);
      }
    });
    buttons.reset.addEventListener("click", () => {
      setDefaults();
      renderEditor();
      clearErrors();
      history.replaceState(history.state, "", location.pathname + location.hash);
      if (engine) compute();
      setStatus(engine ? "Reset to the default design." : "Showing the default computed when the page was built.", false);
    });

    // -- start: defaults, then a shared setting from the URL ---------------------------------------------------------
    setDefaults();
    const query = new URLSearchParams(location.search);
    let restored = false;
    Object.entries(fields).forEach(([name, control]) => {
      if (!query.has(name)) return;
      restored = true;
      const value = query.get(name);
      if (control.tagName === "SELECT" && ![...control.options].some((o) => o.value === value)) {
        control.append(el("option", { value, "data-from-url": "" }, value)); // kept so the model can name it
      }
      control.value = value;
    });
    if (DESIGN_KEYS.some((key) => query.has(key))) {
      restored = true;
      const fromUrl = {};
      DESIGN_KEYS.forEach((key) => { if (query.has(key)) fromUrl[key] = query.get(key); });
      if (!query.has("components") && !fromUrl.architecture) fromUrl.components = "";
      loadParams(fromUrl);
    }
    renderEditor();
    root.dataset.state = "idle";
    if (restored) start();
    else HB.wake(root, start);
    return { state, data, palette };
  }

  window.HB.designEditor = designEditor;
  window.HB.renderMermaid = renderMermaid;
})();
