/* mermaid on demand: a stand-in for the `mermaid` global that fetches the vendored library (3.5 MB) the first time a
   diagram is drawn, so pages without a diagram never download it.

   Material draws ```mermaid fences itself and reaches for a CDN only when no `mermaid` global exists; it calls
   mermaid.initialize(config) once and then `await mermaid.render(id, text)`. The design widgets also read the site
   config back (mermaidAPI.getSiteConfig). This object answers those calls, loads assets/vendor/mermaid/mermaid.min.js
   (which replaces window.mermaid with the real library), hands it the last config and lets it render. */
(function () {
  "use strict";
  if (window.mermaid) return;
  const script = document.currentScript;
  const url = new URL("../../vendor/mermaid/mermaid.min.js", script ? script.src : location.href).href;
  let config = null;
  let loading = null;

  function load() {
    if (!loading) {
      loading = new Promise((resolve, reject) => {
        const tag = document.createElement("script");
        tag.src = url;
        tag.onload = () => {
          const real = window.mermaid;
          if (!real || real === standIn || typeof real.render !== "function") {
            reject(new Error("the diagram library did not define mermaid"));
            return;
          }
          if (config) real.initialize(config);
          resolve(real);
        };
        tag.onerror = () => {
          loading = null; // a later diagram may try again
          reject(new Error("could not load the diagram library from " + url));
        };
        document.head.appendChild(tag);
      });
    }
    return loading;
  }

  const standIn = {
    initialize(next) {
      config = Object.assign({}, next);
    },
    async render(id, text) {
      const real = await load();
      return real.render(id, text);
    },
    mermaidAPI: {
      getSiteConfig: () => Object.assign({}, config || {}),
    },
  };
  window.mermaid = standIn;
})();
