// ReDoc for Tandem's REST face, from the package's own files (no CDN, no web fonts).
// ReDoc writes its styles as <style> elements: they carry the page's nonce, so the
// Content-Security-Policy can refuse every other inline style.
(function () {
  "use strict";
  var element = document.getElementById("redoc");
  Redoc.init(element.dataset.openapiUrl, { nonce: element.dataset.nonce }, element);
})();
