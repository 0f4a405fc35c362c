// Parse an AsyncAPI document with the official parser and print what it found as JSON:
// every diagnostic (severity 0 = error, 1 = warning, 2 = info, 3 = hint) and, when a
// document came back, the ids of its channels, operations, messages and component schemas.
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const text = readFileSync(process.argv[2], "utf8");
const { document, diagnostics } = await new Parser().parse(text);
const ids = (collection) => collection.all().map((item) => item.id()).sort();
const out = {
  diagnostics: diagnostics.map((d) => ({
    code: String(d.code),
    severity: d.severity,
    path: d.path.join("/"),
    message: d.message,
  })),
  document: document
    ? {
        version: document.version(),
        channels: ids(document.channels()),
        operations: ids(document.operations()),
        messages: ids(document.components().messages()),
        schemas: ids(document.components().schemas()),
      }
    : null,
};
process.stdout.write(JSON.stringify(out, null, 2) + "\n");
