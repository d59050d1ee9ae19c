/* Widget runtime: finds widgets by data-widget, mounts them on Material's document$ (so instant navigation works),
   and runs the sizing model in Pyodide behind one lazily created promise.

   Pyodide is never requested at page load or on a page without widgets: a widget asks for it (HB.python()) on the
   reader's first interaction, when it scrolls into view after the reader scrolled, or when the page was opened with
   a shared setting in its URL. The only boundary is sizing.api.run(name, params_json) -> JSON string (plus
   sizing.browser's display and chart, JSON text too); numbers are formatted by sizing.formatting inside Pyodide, the
   same code the build uses. When the build ships a memory snapshot of an interpreter that has already imported the
   model, Python starts from it (several times faster than a fresh start) and falls back to a fresh start otherwise. */
(function () {
  "use strict";
  if (window.HB) return;

  // The site root, from this script's own URL (assets/widgets/js/<file>); unlike Material's __config.base it stays
  // right after instant navigation.
  const script = document.currentScript;
  const ROOT = new URL("../../../", script ? script.src : location.href);
  const widgets = {};
  const mounted = new WeakSet();
  const listeners = new Set();
  let pyodidePromise = null;
  let progress = { step: 0, steps: 4, label: "", error: null };

  function report(step, label, error) {
    progress = { step, steps: 4, label, error: error || null };
    listeners.forEach((listener) => listener(progress));
  }

  function loadScript(url) {
    return new Promise((resolve, reject) => {
      const tag = document.createElement("script");
      tag.src = url;
      tag.onload = resolve;
      tag.onerror = () => reject(new Error("could not load " + url));
      document.head.appendChild(tag);
    });
  }

  async function fetchOk(url) {
    const response = await fetch(url);
    if (!response.ok) throw new Error("HTTP " + response.status + " for " + url);
    return response;
  }

  /* A booted interpreter from the build's memory snapshot (sizing already imported), or null. The snapshot is gzip
     (most of a fresh heap is zeros) and is used only when the build made it from this very wheel. */
  async function fromSnapshot(vendor, index) {
    if (!index.snapshot || typeof DecompressionStream !== "function") return null;
    try {
      const response = await fetchOk(new URL("assets/wheels/" + index.snapshot.file, ROOT).href);
      const packed = await response.arrayBuffer();
      // A server that labels .gz as Content-Encoding has already unpacked it: use the bytes as they came.
      const gzip = new Uint8Array(packed, 0, 2);
      const bytes = gzip[0] === 0x1f && gzip[1] === 0x8b
        ? await new Response(new Blob([packed]).stream().pipeThrough(new DecompressionStream("gzip"))).arrayBuffer()
        : packed;
      return await window.loadPyodide({ indexURL: vendor, _loadSnapshot: bytes });
    } catch (error) {
      console.warn("Python snapshot unusable, starting Python from scratch", error);
      return null;
    }
  }

  async function boot() {
    const vendor = new URL("assets/vendor/pyodide/", ROOT).href;
    report(1, "downloading Python for your browser");
    const [index] = await Promise.all([
      fetchOk(new URL("assets/wheels/index.json", ROOT).href).then((r) => r.json()),
      typeof window.loadPyodide === "function" ? null : loadScript(vendor + "pyodide.js"),
    ]);
    const snapshot = await fromSnapshot(vendor, index);
    const pyodide = snapshot || await window.loadPyodide({ indexURL: vendor });
    report(2, "loading the sizing model");
    // Unpacked even after a snapshot: the model's data files live in the file system, which a snapshot does not hold.
    const wheel = await fetchOk(new URL("assets/wheels/" + index.sizing.file, ROOT).href);
    const sitePackages = pyodide.runPython("import sysconfig; sysconfig.get_path('purelib')");
    pyodide.unpackArchive(await wheel.arrayBuffer(), "wheel", { extractDir: sitePackages });
    report(3, "starting the model");
    const api = pyodide.pyimport("sizing.api");
    const browser = pyodide.pyimport("sizing.browser");
    browser.warm();
    window.HB.booted = { snapshot: Boolean(snapshot) };
    report(4, "ready");
    return {
      /* One calculation: params (an object) -> {result, display, text}; result is the parsed JSON of sizing.api.run,
         text the JSON itself (for chart()). */
      run(name, params) {
        const text = api.run(name, JSON.stringify(params));
        const result = JSON.parse(text);
        return { result, text, display: result.error ? {} : JSON.parse(browser.display(text)) };
      },
      /* A chart spec and a result's JSON text -> SVG text drawn by sizing.charts ("" if the result cannot be drawn). */
      chart(spec, resultText) {
        return browser.chart(JSON.stringify(spec), resultText);
      },
    };
  }

  function python() {
    if (!pyodidePromise) {
      pyodidePromise = boot().catch((error) => {
        report(progress.step, "failed", error);
        throw error;
      });
    }
    return pyodidePromise;
  }

  /* Warm the engine once per page, after a widget's first result. V8 first runs WebAssembly in its baseline tier and
     recompiles the interpreter's hot functions with its optimizing tier only after they have run for a while (about
     half a second of Python here); until then a recompute takes about twice as long. Repeating the widget's own
     calculation in idle time, for WARM_BUDGET_MS of compute at most, gets there before the reader's next change.
     It runs only in idle periods and pauses while the reader is typing or clicking (WARM_QUIET_MS after the last
     input), so a change is queued behind one warm-up run at most. */
  const WARM_BUDGET_MS = 1000;
  const WARM_MAX_RUNS = 300;
  const WARM_QUIET_MS = 300;
  let warming = null;
  let lastInput = 0;
  ["keydown", "pointerdown", "input", "change"].forEach((type) =>
    document.addEventListener(type, () => { lastInput = performance.now(); }, { capture: true, passive: true }));

  function warmUp(task) {
    if (warming) return warming;
    if (typeof window.requestIdleCallback !== "function") {
      warming = Promise.resolve(null);
      return warming;
    }
    warming = new Promise((resolve) => {
      const times = [];
      let spent = 0;
      const finish = (why) => {
        window.HB.warm = { runs: times.length, spent_ms: spent, first_ms: times[0], last_ms: times[times.length - 1], why };
        resolve(window.HB.warm);
      };
      const slice = (deadline) => {
        // Run only when the idle period can hold a run (the last run's time, up to the 50 ms an idle period lasts).
        while (performance.now() - lastInput >= WARM_QUIET_MS &&
               deadline.timeRemaining() >= Math.min(times.length ? times[times.length - 1] : 25, 45)) {
          const started = performance.now();
          try {
            task();
          } catch (error) {
            finish("the calculation failed");
            return;
          }
          const took = performance.now() - started;
          times.push(took);
          spent += took;
          if (spent >= WARM_BUDGET_MS || times.length >= WARM_MAX_RUNS) {
            finish("done");
            return;
          }
        }
        window.requestIdleCallback(slice);
      };
      window.requestIdleCallback(slice);
    });
    return warming;
  }

  function onProgress(listener) {
    listeners.add(listener);
    listener(progress);
    return () => listeners.delete(listener);
  }

  /* Start Python for one widget, once: its status line and <progress> bar follow the load, then ready(engine) runs.
     If Python cannot start, the widget is marked unavailable, the reader gets unavailable(reason) (which says what the
     page still shows), and the next call tries again. */
  const starting = new WeakSet();

  function startWidget(root, bar, setStatus, unavailable, ready) {
    if (starting.has(root)) return;
    starting.add(root);
    setStatus("Computing in your browser: loading Python…", true);
    const stop = onProgress((p) => {
      if (bar) {
        bar.hidden = p.step >= p.steps || Boolean(p.error);
        bar.max = p.steps;
        bar.value = p.step;
      }
      if (!p.error && p.step > 0 && p.step < p.steps) setStatus("Computing in your browser: " + p.label + "…", true);
    });
    python().then(
      (engine) => {
        stop();
        ready(engine);
      },
      (error) => {
        stop();
        starting.delete(root);
        if (bar) bar.hidden = true;
        root.dataset.state = "unavailable";
        console.warn(root.dataset.widget + ": Python could not start", error);
        setStatus(unavailable(error.message), false);
      });
  }

  function scan() {
    document.querySelectorAll("[data-widget]").forEach((root) => {
      // A calculator's root carries its build-time config; its data-widget is the spec's name.
      const kind = root.hasAttribute("data-config") ? "calculator" : root.dataset.widget;
      const mount = widgets[kind];
      if (!mount || mounted.has(root)) return;
      mounted.add(root);
      try {
        mount(root);
      } catch (error) {
        console.warn("widget " + root.dataset.widget + " failed to start", error);
      }
    });
  }

  /* Start Python when the reader touches the widget, or when it scrolls into view after the reader scrolled. */
  function wake(root, start) {
    let done = false;
    const go = () => {
      if (done) return;
      done = true;
      start();
    };
    ["pointerenter", "pointerdown", "focusin", "keydown"].forEach((type) =>
      root.addEventListener(type, go, { once: true, passive: true }));
    if ("IntersectionObserver" in window) {
      let scrolled = false;
      const observer = new IntersectionObserver((entries) => {
        if (scrolled && entries.some((e) => e.isIntersecting)) {
          observer.disconnect();
          go();
        }
      });
      window.addEventListener("scroll", () => {
        scrolled = true;
        observer.unobserve(root);
        observer.observe(root);
      }, { once: true, passive: true });
    }
  }

  function register(name, mount) {
    widgets[name] = mount;
    scan();
  }

  /* Run fn on this page and on every page instant navigation brings in (Material's document$); without Material,
     once the document is parsed. */
  function onPage(fn) {
    if (window.document$ && typeof window.document$.subscribe === "function") {
      window.document$.subscribe(fn);
    } else if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", fn);
    } else {
      fn();
    }
  }

  window.HB = { register, python, onProgress, onPage, startWidget, wake, warmUp, root: ROOT };
  onPage(scan);
})();
