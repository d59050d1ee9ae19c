/* Memory & fit calculator (data-widget="memory-fit"): the model's `memory` calculation in the reader's browser.

   The page is built with the default scenario's outputs already rendered; this script takes over on first use.
   Inputs carry the API parameter names, which are also the URL query keys. Every text it writes comes from the model
   (results, formatted values, derivations, error messages) and is set with textContent, never as HTML. */
(function () {
  "use strict";
  const NUMERIC = new Set(["tp", "context_tokens"]);

  function mount(root) {
    const form = root.querySelector("form");
    const fields = [...root.querySelectorAll("[data-param]")];
    const byName = Object.fromEntries(fields.map((f) => [f.name, f]));
    const defaults = Object.fromEntries(fields.map((f) => [f.name, f.value]));
    const outputs = [...root.querySelectorAll("[data-output]")];
    const arithmetic = root.querySelector("[data-derivations]");
    const status = root.querySelector("[data-status]");
    const bar = root.querySelector("[data-progress]");
    const warning = root.querySelector("[data-warning]");
    const built = { outputs: outputs.map((o) => o.innerHTML), arithmetic: arithmetic ? arithmetic.innerHTML : "" };
    let engine = null;
    let pending = false;

    // The contract: outputs carry data-value; before the first computation it is the build's raw value.
    outputs.forEach((o) => {
      const span = o.querySelector("[data-value]");
      if (span) o.dataset.value = span.dataset.value;
    });

    function setStatus(text, busy) {
      status.textContent = text;
      root.toggleAttribute("data-busy", Boolean(busy));
      root.setAttribute("aria-busy", busy ? "true" : "false");
    }

    function errorFor(name) {
      return root.querySelector('[data-error-for="' + name + '"]');
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

    function showError(name, message) {
      const field = byName[name];
      const box = field ? errorFor(name) : warning;
      box.textContent = field ? message : name + ": " + message;
      box.hidden = false;
      if (field) field.setAttribute("aria-invalid", "true");
      root.dataset.state = "error";
    }

    function params() {
      const out = {};
      for (const f of fields) {
        const raw = f.value.trim();
        if (NUMERIC.has(f.name)) {
          if (raw === "") return { field: f.name, message: "enter a value" };
          out[f.name] = /^[+-]?\d+$/.test(raw) ? Number(raw) : raw;
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

    function render(result, display) {
      outputs.forEach((o) => {
        const name = o.dataset.output;
        const value = result[name];
        o.dataset.value = String(value);
        // Booleans read as the build renders them (Python's str), so the page does not change wording on first use.
        if (typeof value === "boolean") o.textContent = value ? "True" : "False";
        else o.textContent = name in display ? display[name] : String(value);
      });
      root.dataset.fits = String(result.fits);
      renderDerivations(result.derivations);
      if (result.warnings && result.warnings.length) {
        // A configuration that does not fit is a problem of the GPU count, so it is reported next to TP.
        const box = result.fits === false ? errorFor("tp") : warning;
        box.textContent = result.warnings.join(" ");
        box.hidden = false;
        if (result.fits === false) byName.tp.setAttribute("aria-invalid", "true");
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
        answer = engine.run("memory", read.params);
      } catch (error) {
        console.warn("memory-fit: the model failed", error);
        showError("calculation", "the model could not compute this setting");
        setStatus("The model could not compute this setting.", false);
        return;
      }
      if (answer.result.error) {
        showError(answer.result.error.field, answer.result.error.message);
        setStatus("Fix the highlighted field to see results.", false);
        return;
      }
      render(answer.result, answer.display);
      root.dataset.state = "ready";
      setStatus("Computed in your browser.", false);
    }

    function start() {
      if (engine || pending) return;
      pending = true;
      setStatus("Computing in your browser: loading Python…", true);
      const stop = HB.onProgress((p) => {
        if (bar) {
          bar.hidden = p.step >= p.steps || Boolean(p.error);
          bar.max = p.steps;
          bar.value = p.step;
        }
        if (!p.error && p.step > 0 && p.step < p.steps) setStatus("Computing in your browser: " + p.label + "…", true);
      });
      HB.python().then(
        (loaded) => {
          stop();
          engine = loaded;
          compute();
        },
        (error) => {
          stop();
          pending = false;
          if (bar) bar.hidden = true;
          root.dataset.state = "unavailable";
          console.warn("memory-fit: Python could not start", error);
          setStatus("This calculator could not start Python in your browser (" + error.message + "). " +
                    "The results shown are the page's defaults; reload to try again.", false);
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
        f.querySelectorAll && f.querySelectorAll("option[data-from-url]").forEach((o) => o.remove());
        f.value = defaults[f.name];
      });
      clearErrors();
      outputs.forEach((o, i) => { o.innerHTML = built.outputs[i]; });
      outputs.forEach((o) => {
        const span = o.querySelector("[data-value]");
        if (span) o.dataset.value = span.dataset.value;
      });
      if (arithmetic) arithmetic.innerHTML = built.arithmetic;
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

  HB.register("memory-fit", mount);
})();
