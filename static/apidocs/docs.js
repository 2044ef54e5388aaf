// Renders the OpenAPI document named by the page's data-schema-url with the bundled Swagger UI.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.dataset.schemaUrl,
    domNode: root,
    deepLinking: true,
    layout: "BaseLayout",
    presets: [window.SwaggerUIBundle.presets.apis],
    tryItOutEnabled: false,
    validatorUrl: null,
  });
})();
