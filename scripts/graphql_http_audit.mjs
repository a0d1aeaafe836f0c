// Run graphql-http's GraphQL-over-HTTP server audits against a URL; print the results as JSON.
// Usage: node scripts/graphql_http_audit.mjs http://127.0.0.1:8000/graphql
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node scripts/graphql_http_audit.mjs <graphql url>');
  process.exit(2);
}
const results = await Promise.all(serverAudits({ url }).map((audit) => audit.fn()));
const report = results.map(({ id, name, status, reason }) => ({ id, name, status, reason }));
console.log(JSON.stringify(report));
