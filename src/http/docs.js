// The API browser of /docs: renders every operation of /openapi.json (method, path, summary,
// parameters, request body, responses) and every schema. Served from assist itself so the
// page's Content-Security-Policy can allow scripts from 'self' only.
"use strict";

const METHODS = ["get", "put", "post", "patch", "delete"];

function el(tag, { dataset = {}, ...attrs } = {}, ...children) {
  const node = Object.assign(document.createElement(tag), attrs);
  Object.assign(node.dataset, dataset);
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

const refName = (ref) => ref.replace("#/components/schemas/", "");

/** Text whose `backticked` parts are code, as the document's descriptions write them. */
function inline(text) {
  return el("span", {}, ...String(text).split("`").map((part, i) => (i % 2 ? el("code", { textContent: part }) : part)));
}

/** A schema in one line: a link for a reference, `array of …`, a union, or its type. */
function schemaLabel(schema) {
  if (!schema) return "";
  if (schema.$ref) {
    const name = refName(schema.$ref);
    return el("a", { href: `#schema-${name}`, textContent: name });
  }
  if (schema.type === "array") return el("span", {}, "array of ", schemaLabel(schema.items));
  const union = schema.oneOf || schema.anyOf;
  if (union) {
    const parts = union.flatMap((part, i) => (i ? [" | ", schemaLabel(part)] : [schemaLabel(part)]));
    return el("span", {}, ...parts);
  }
  if (schema.type) {
    const type = Array.isArray(schema.type) ? schema.type.join(" | ") : schema.type;
    return el("code", { textContent: schema.format ? `${type} (${schema.format})` : type });
  }
  return el("code", { textContent: JSON.stringify(schema) });
}

function contentRows(content) {
  return Object.entries(content || {}).map(([type, media]) =>
    el("div", {}, el("code", { textContent: type }), " ", schemaLabel(media.schema)));
}

function table(headings, rows) {
  return el("table", {},
    el("thead", {}, el("tr", {}, ...headings.map((h) => el("th", { textContent: h })))),
    el("tbody", {}, ...rows.map((cells) => el("tr", {}, ...cells.map((c) => el("td", {}, c))))));
}

function operation(method, path, op) {
  const auth = (op.security || []).flatMap((req) => Object.keys(req));
  const summary = el("summary", {},
    el("span", { className: `method ${method}`, textContent: method.toUpperCase() }),
    el("code", { className: "path", textContent: path }),
    el("span", { className: "summary", textContent: op.summary || "" }),
    auth.length ? el("span", { className: "auth", textContent: auth.join(", ") }) : null);
  const body = [];
  if (op.description) body.push(el("p", {}, inline(op.description)));
  const params = op.parameters || [];
  if (params.length) {
    body.push(el("h4", { textContent: "Parameters" }), table(["name", "in", "required", "schema"],
      params.map((p) => [el("code", { textContent: p.name }), p.in, p.required ? "yes" : "no", schemaLabel(p.schema)])));
  }
  if (op.requestBody) {
    body.push(el("h4", { textContent: `Request body${op.requestBody.required ? " (required)" : ""}` }),
      ...contentRows(op.requestBody.content));
  }
  const responses = Object.entries(op.responses || {});
  body.push(el("h4", { textContent: "Responses" }), table(["status", "description", "body"],
    responses.map(([status, r]) => [el("code", { textContent: status }), inline(r.description || ""), el("div", {}, ...contentRows(r.content))])));
  const id = op.operationId || `${method}-${path}`;
  return el("details", { className: "operation", id: `op-${id}`, dataset: { operation: `${method.toUpperCase()} ${path}` } },
    summary, ...body);
}

function render(doc, root) {
  if (doc.info && doc.info.title) document.getElementById("title").textContent = `${doc.info.title} ${doc.info.version || ""}`;
  const byTag = new Map();
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const method of METHODS) {
      if (!item[method]) continue;
      const tag = (item[method].tags || ["other"])[0];
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(operation(method, path, item[method]));
    }
  }
  const sections = [];
  for (const [tag, ops] of byTag) {
    sections.push(el("section", { className: "tag" }, el("h2", { textContent: `${tag} (${ops.length})` }), ...ops));
  }
  const schemas = Object.entries((doc.components && doc.components.schemas) || {}).map(([name, schema]) =>
    el("details", { id: `schema-${name}`, className: "schema" },
      el("summary", {}, el("code", { textContent: name })),
      el("pre", { textContent: JSON.stringify(schema, null, 2) })));
  root.replaceChildren(...sections, el("section", {}, el("h2", { textContent: "schemas" }), ...schemas));
}

/** Opens a schema when a reference to it is followed. */
function openTarget() {
  const target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
  if (target && target.tagName === "DETAILS") target.open = true;
}

function filter(root, text) {
  const needle = text.trim().toLowerCase();
  for (const op of root.querySelectorAll("details.operation")) {
    const hay = `${op.dataset.operation} ${op.querySelector(".summary").textContent}`.toLowerCase();
    op.classList.toggle("hidden", needle !== "" && !hay.includes(needle));
  }
}

async function main() {
  const root = document.getElementById("api");
  try {
    const response = await fetch("/openapi.json");
    if (!response.ok) throw new Error(`GET /openapi.json answered ${response.status}`);
    render(await response.json(), root);
    root.dataset.state = "ready";
    openTarget();
    window.addEventListener("hashchange", openTarget);
    document.getElementById("filter").addEventListener("input", (e) => filter(root, e.target.value));
  } catch (err) {
    root.replaceChildren(el("p", { className: "error", textContent: `Could not load /openapi.json: ${err}` }));
    root.dataset.state = "error";
  }
}

main();
