/**
 * Starts Swagger UI on the docs page, reading the API description from this server. The bundle script loaded
 * before this one defines `SwaggerUIBundle`.
 */
declare const SwaggerUIBundle: (options: Record<string, unknown>) => unknown;

SwaggerUIBundle({
  url: new URL('openapi.json', document.baseURI).href,
  dom_id: '#swagger-ui',
  deepLinking: true,
  // No "validate at swagger.io" badge: the page talks to this server only.
  validatorUrl: null,
  // Keys stay in the page's memory; Swagger UI would otherwise offer to keep them in localStorage.
  persistAuthorization: false,
});
