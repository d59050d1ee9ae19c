/* Calculators (every widget whose spec lives in widgets/calculators/<widget>.json): the model's calculation in the
   reader's browser.

   The build renders the form, the outputs at the default scenario, the arithmetic and the charts; this script takes
   over on first use. Inputs carry the API parameter names, which are also the URL query keys; parameters the form does
   not show come from the spec's scenario (the root's data-config). Every text it writes comes from the model (results,
   formatted values, derivations, error messages) and is set with textContent; charts are SVG drawn by sizing.charts
   and parsed as XML, never as HTML. */
(function () {
  "use strict";
  const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
  const INTEGER = /^[+-]?\d+$/;

  function mount(root) {
    const name = root.dataset.widget;
    const config = JSON.parse(root.dataset.config);
    const form = root.querySelector("form");
    const fields = [...root.querySelectorAll("[data-param]")];
    const byName = Object.fromEntries(fields.map((f) => [f.name, f]));
    const defaults = Object.fromEntries(fields.map((f) => [f.name, f.value]));
    const outputs = [...root.querySelectorAll("output[data-output]")];
    const arithmetic = root.querySelector("[data-derivations]");
    const chartBox = root.querySelector("[data-charts]");
    const status = root.querySelector("[data-status]");
    const bar = root.querySelector("[data-progress]");
    const warning = root.querySelector("[data-warning]");
    const built = {
      outputs: outputs.map((o) => o.innerHTML),
      arithmetic: arithmetic ? arithmetic.innerHTML : "",
      charts: chartBox ? chartBox.innerHTML : "",
    };
    let engine = null;

    // The contract: outputs carry data-value; before the first computation it is the build's raw value.
    function builtValues() {
      outputs.forEach((o) => {
        const span = o.querySelector("[data-value]");
        if (span) o.dataset.value = span.dataset.value;
      });
    }
    builtValues();

    function setStatus(text, busy) {
      status.textContent = text;
      root.toggleAttribute("data-busy", Boolean(busy));
      root.setAttribute("aria-busy", busy ? "true" : "false");
    }

    function errorFor(field) {
      return root.querySelector('[data-error-for="' + CSS.escape(field) + '"]');
    }

    function clearErrors() {
      fields.forEach((f) => {
        f.removeAttribute("aria-invalid");
        const box = errorFor(f.name);
        box.textContent = "";
        box.hidden = true;
      });
      warning.textContent = "";
      warning.hidden = true;
    }

    function showError(field, message) {
      const known = Object.prototype.hasOwnProperty.call(byName, field);
      const box = known ? errorFor(field) : warning;
      box.textContent = known ? message : field + ": " + message;
      box.hidden = false;
      if (known) byName[field].setAttribute("aria-invalid", "true");
      root.dataset.state = "error";
    }

    /* The parameters: the scenario's fixed ones, then each field read by its type. A value that is not a number is
       passed as text, so the model names the field and the allowed range in its message. */
    function params() {
      const out = Object.assign({}, config.fixed);
      for (const f of fields) {
        const raw = f.value.trim();
        const type = f.dataset.type;
        if (type === "integer" || type === "number") {
          if (raw === "") return { field: f.name, message: "enter a value" };
          out[f.name] = (type === "integer" ? INTEGER : NUMBER).test(raw) ? Number(raw) : raw;
        } else if (type === "boolean") {
          out[f.name] = raw === "true" ? true : raw === "false" ? false : raw;
        } else {
          out[f.name] = raw;
        }
      }
      return { params: out };
    }

    function writeUrl() {
      const query = new URLSearchParams(location.search);
      fields.forEach((f) => query.set(f.name, f.value));
      history.replaceState(history.state, "", location.pathname + "?" + query.toString() + location.hash);
    }

    function renderDerivations(derivations) {
      if (!arithmetic) return;
      arithmetic.replaceChildren();
      Object.entries(derivations || {}).forEach(([field, d]) => {
        const box = document.createElement("div");
        box.className = "hb-derivation";
        box.dataset.output = field;
        const title = document.createElement("p");
        title.className = "hb-derivation__quantity";
        title.textContent = d.quantity;
        const steps = document.createElement("dl");
        steps.className = "hb-derivation__steps";
        [["formula", d.formula], ["substitution", d.substitution], ["result", d.result_text]].forEach(([k, v]) => {
          const dt = document.createElement("dt");
          dt.textContent = k;
          const dd = document.createElement("dd");
          dd.className = "hb-derivation__" + k;
          dd.textContent = v;
          steps.append(dt, dd);
        });
        box.append(title, steps);
        arithmetic.append(box);
      });
    }

    function renderCharts(text) {
      if (!chartBox) return;
      (config.charts || []).forEach((spec, index) => {
        const figure = chartBox.querySelector('[data-chart="' + index + '"]');
        if (!figure) return;
        const svgText = engine.chart(spec, text);
        const old = figure.querySelector("svg");
        if (!svgText) {
          if (old) old.remove();
          return;
        }
        const parsed = new DOMParser().parseFromString(svgText, "image/svg+xml").documentElement;
        if (parsed.nodeName !== "svg") return;
        const svg = document.importNode(parsed, true);
        if (old) old.replaceWith(svg);
        else figure.prepend(svg);
      });
    }

    function show(value, display, field) {
      if (typeof value === "boolean") return value ? "yes" : "no";
      if (field in display) return display[field];
      return value === null || value === undefined ? "—" : String(value);
    }

    function render(answer) {
      const result = answer.result;
      outputs.forEach((o) => {
        const field = o.dataset.output;
        const value = result[field];
        o.dataset.value = String(value);
        o.textContent = show(value, answer.display, field);
      });
      if ("fits" in result) root.dataset.fits = String(result.fits);
      renderDerivations(result.derivations);
      renderCharts(answer.text);
      if (result.warnings && result.warnings.length) {
        // A configuration that does not fit is reported next to the field that sizes the hardware.
        const target = result.fits === false && config.fit_field ? config.fit_field : null;
        const box = target ? errorFor(target) : warning;
        box.textContent = result.warnings.join(" ");
        box.hidden = false;
        if (target) byName[target].setAttribute("aria-invalid", "true");
      }
    }

    function compute() {
      if (!engine) return;
      clearErrors();
      const read = params();
      if (read.field) {
        showError(read.field, read.message);
        setStatus("Fix the highlighted field to see results.", false);
        return;
      }
      let answer;
      try {
        answer = engine.run(config.calculation, read.params);
      } catch (error) {
        console.warn(name + ": the model failed", error);
        showError("calculation", "the model could not compute this setting");
        setStatus("The model could not compute this setting.", false);
        return;
      }
      if (answer.result.error) {
        showError(answer.result.error.field, answer.result.error.message);
        setStatus("Fix the highlighted field to see results.", false);
        return;
      }
      render(answer);
      root.dataset.state = "ready";
      setStatus("Computed in your browser.", false);
      HB.warmUp(() => engine.run(config.calculation, read.params));
    }

    function start() {
      if (engine) return;
      HB.startWidget(root, bar, setStatus, (reason) => "This calculator could not start Python in your browser (" +
                     reason + "). The results shown are the page's defaults; reload to try again.",
                     (loaded) => {
                       engine = loaded;
                       compute();
                     });
    }

    function changed() {
      writeUrl();
      if (engine) compute();
      else start();
    }

    // Restore a shared setting. Values are only ever assigned to .value (never parsed as HTML); a value a select
    // does not offer is kept so the model can name it in its message.
    const query = new URLSearchParams(location.search);
    let restored = false;
    fields.forEach((f) => {
      if (!query.has(f.name)) return;
      restored = true;
      const value = query.get(f.name);
      if (f.tagName === "SELECT" && ![...f.options].some((o) => o.value === value)) {
        const option = document.createElement("option");
        option.value = value;
        option.textContent = value;
        option.dataset.fromUrl = "";
        f.append(option);
      }
      f.value = value;
    });

    form.addEventListener("submit", (e) => e.preventDefault());
    fields.forEach((f) => f.addEventListener(f.tagName === "SELECT" ? "change" : "input", changed));
    root.querySelector("[data-action=reset]").addEventListener("click", () => {
      fields.forEach((f) => {
        if (f.tagName === "SELECT") f.querySelectorAll("option[data-from-url]").forEach((o) => o.remove());
        f.value = defaults[f.name];
      });
      clearErrors();
      outputs.forEach((o, i) => { o.innerHTML = built.outputs[i]; });
      builtValues();
      if (arithmetic) arithmetic.innerHTML = built.arithmetic;
      if (chartBox) chartBox.innerHTML = built.charts;
      delete root.dataset.fits;
      history.replaceState(history.state, "", location.pathname + location.hash);
      root.dataset.state = engine ? "ready" : "idle";
      setStatus(engine ? "Reset to the defaults." : "Showing the defaults computed when the page was built.", false);
    });
    root.querySelector("[data-action=copy]").addEventListener("click", () => {
      writeUrl();
      const link = root.querySelector("[data-link]");
      link.value = location.href;
      link.hidden = false;
      const done = () => setStatus("Link copied.", false);
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(location.href).then(done, () => { link.select(); setStatus("Copy the link above.", false); });
      } else {
        link.select();
        setStatus("Copy the link above.", false);
      }
    });

    root.dataset.state = "idle";
    if (restored) start();
    else HB.wake(root, start);
  }

  // Every widget root that carries the build's data-config is a calculator (see HB.register in hb-0-runtime.js).
  HB.register("calculator", mount);
})();
