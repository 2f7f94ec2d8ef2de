/** GET /api/v1/openapi.json: the document the server was built with (its own routes and every module's). */
import type { Route } from '../http.js';
import type { OpenApiDocument } from '../openapi.js';
import { READ } from '../roles.js';

export function openapiRoutes(document: OpenApiDocument): Route[] {
  const text = JSON.stringify(document.json);
  return [
    {
      method: 'GET',
      path: '/api/v1/openapi.json',
      roles: READ,
      body: 'none',
      async handler() {
        return { status: 200, text, contentType: 'application/json; charset=utf-8' };
      },
    },
  ];
}
