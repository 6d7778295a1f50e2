// The GraphQL-over-HTTP conformance audit of graphql-http against a running server:
//   GRAPHQL_AUDIT_TOKEN=<token> node graphql-audit.mjs http://127.0.0.1:8000/graphql
// The audit introspects (__type), which Shifan answers to a logged-in caller only: with GRAPHQL_AUDIT_TOKEN set,
// every request carries it as a bearer token.
// Prints one JSON line per audit ({id, name, status, reason}); exits 1 if any is an error or a warning.
import { auditServer } from "graphql-http";

const url = process.argv[2];
if (!url) {
  console.error("usage: node graphql-audit.mjs <graphql url>");
  process.exit(2);
}
const token = process.env.GRAPHQL_AUDIT_TOKEN;
const fetchFn = token
  ? (input, init = {}) => {
      const headers = new Headers(init.headers);
      headers.set("authorization", `Bearer ${token}`);
      return fetch(input, { ...init, headers });
    }
  : fetch;
const results = await auditServer({ url, fetchFn });
let bad = 0;
for (const r of results) {
  const line = { id: r.id, name: r.name, status: r.status };
  if (r.status !== "ok") {
    line.reason = r.reason;
    if (r.response) {
      line.response_status = r.response.status;
      line.response_type = r.response.headers.get("content-type");
    }
  }
  if (r.status === "error" || r.status === "warn") bad += 1;
  console.log(JSON.stringify(line));
}
process.exit(bad ? 1 : 0);
