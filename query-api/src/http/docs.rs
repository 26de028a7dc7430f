//! The OpenAPI 3 document (`/openapi.json`) and the pages that show it, all served from
//! the binary, so they work offline and behind any firewall (nothing is fetched from a
//! CDN; no inline script, so the entry point's CSP allows scripts from itself only):
//! - `/docs`: Swagger UI (its files vendored in `utoipa-swagger-ui`), to try requests;
//! - `/redoc`: ReDoc (its standalone bundle in `assets/redoc/`, from the npm package
//!   `redoc` 2.5.4; update with `npm pack redoc@VERSION` and copy `bundles/`; its one
//!   external reference, a footer logo, is served as an empty image);
//! - `/reference`: one page rendered on the server, plain HTML and CSS, no script.

use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document's fixed parts; the paths come from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "wowlogs query API",
        description = "Guild-scoped encounters, characters, progression, logs and a live feed, from World of \
            Warcraft combat logs. Every request carries an API key (`Authorization: Bearer wl_...`) scoped to one \
            guild; every answer names that guild (`guild_id`, `guild_name`). Errors are \
            `{\"error\": {\"code\", \"message\"}}`; every response has an `x-request-id`.",
        license(name = "Apache-2.0")
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "encounters", description = "Fights: list, search, totals, detail, export"),
        (name = "characters", description = "Characters seen in the guild's logs"),
        (name = "progress", description = "Progression per boss and difficulty"),
        (name = "logs", description = "Uploaded logs and uploads"),
        (name = "admin", description = "Administration: a guild's own (keys with `admin`), every guild's \
            (instance-admin keys, which belong to no guild and work on `/api/v1/admin/*` only)"),
        (name = "live", description = "The live WebSocket feed (keys with `stream`)"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// The error shape every error answer has.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct Error {
    pub error: ErrorDetail,
}

/// An error's stable code and human message.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// Stable: `bad_request`, `unauthorized`, `forbidden`, `not_found`, `rate_limited`, `unavailable`, `timeout`, ...
    pub code: String,
    pub message: String,
    /// A refused upload's own id: its one `failed` status is on `wowlogs.uploads.v1` and
    /// at `/api/v1/uploads/{id}`.
    pub upload_id: Option<String>,
}

/// Completes the document built from the handlers' annotations with what holds for
/// every route alike: the error answers any authenticated route can give (in the one
/// error shape), and the parameters' accepted values ([`crate::params::document_constraints`]).
pub fn complete(document: &mut Document) {
    use utoipa::openapi::{ContentBuilder, RefOr, ResponseBuilder};
    let components = document.components.get_or_insert_with(Default::default);
    components.schemas.insert("Error".into(), <Error as utoipa::PartialSchema>::schema());
    components.schemas.insert("ErrorDetail".into(), <ErrorDetail as utoipa::PartialSchema>::schema());
    // A full export's fights (`/encounters/export?full=true`), named in its description.
    components.schemas.insert(
        "FullEncounter".into(),
        <crate::http::encounters::FullEncounter as utoipa::PartialSchema>::schema(),
    );
    components
        .schemas
        .insert("FullFight".into(), <crate::http::encounters::FullFight as utoipa::PartialSchema>::schema());
    let error = |description: &str| {
        let content =
            ContentBuilder::new().schema(Some(utoipa::openapi::Ref::from_schema_name("Error"))).build();
        RefOr::T(ResponseBuilder::new().description(description).content("application/json", content).build())
    };
    let common = [
        ("400", "Invalid parameters (the message names the parameter)"),
        ("401", "Missing or invalid key"),
        ("403", "The key lacks the permission"),
        ("429", "Over the key's request rate or query slots (`Retry-After`)"),
        (
            "503",
            "ClickHouse unavailable, the service's query slots busy, or the keys too stale (`Retry-After`)",
        ),
        ("504", "A query took longer than allowed"),
    ];
    for (path, item) in document.paths.paths.iter_mut() {
        for operation in [&mut item.get, &mut item.post, &mut item.put, &mut item.patch].into_iter().flatten()
        {
            let responses = &mut operation.responses.responses;
            for (status, description) in common {
                responses.entry(status.into()).or_insert_with(|| error(description));
            }
            // Errors declared by a handler without a body have the one error shape too.
            for (status, response) in responses.iter_mut() {
                if let RefOr::T(declared) = response
                    && (status.starts_with('4') || status.starts_with('5'))
                    && declared.content.is_empty()
                {
                    *response = error(&declared.description);
                }
            }
            if path.contains('{') {
                responses.entry("404".into()).or_insert_with(|| error("Not found in this guild"));
            }
        }
    }
    crate::params::document_constraints(document);
}

/// The permission an operation declares (its bearer scope), if any.
pub fn permission_of(operation: &Operation) -> Option<String> {
    let security = serde_json::to_value(operation.security.as_ref()?).ok()?;
    security
        .as_array()?
        .iter()
        .find_map(|requirement| requirement.get("bearer")?.get(0)?.as_str().map(str::to_string))
}

/// Every `(method, path, operation)` of the document.
pub fn operations(document: &Document) -> Vec<(&'static str, &str, &Operation)> {
    let mut out = Vec::new();
    for (path, item) in &document.paths.paths {
        for (method, operation) in [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("DELETE", &item.delete),
            ("PATCH", &item.patch),
        ] {
            if let Some(operation) = operation {
                out.push((method, path.as_str(), operation));
            }
        }
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The documentation page.
pub fn render(document: &Document) -> String {
    let mut html = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>wowlogs query API</title>\
         <style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}\
         code,pre{font:13px ui-monospace,monospace;background:#f4f4f4;padding:.1rem .3rem;border-radius:3px}\
         section{border-top:1px solid #ddd;padding:.5rem 0}.m{font-weight:bold;color:#06c}\
         table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}\
         .p{color:#a50}</style></head><body>",
    );
    html += &format!("<h1>{}</h1>", escape(&document.info.title));
    if let Some(description) = &document.info.description {
        html += &format!("<p>{}</p>", escape(description));
    }
    html += "<p>Machine-readable: <a href=\"/openapi.json\"><code>/openapi.json</code></a> (OpenAPI 3).</p>";
    for (method, path, operation) in operations(document) {
        html += "<section>";
        html += &format!("<h3><span class=\"m\">{method}</span> <code>{}</code>", escape(path));
        if let Some(permission) = permission_of(operation) {
            html += &format!(" <span class=\"p\">needs <code>{}</code></span>", escape(&permission));
        }
        html += "</h3>";
        for text in [&operation.summary, &operation.description].into_iter().flatten() {
            html += &format!("<p>{}</p>", escape(text));
        }
        if let Some(parameters) = operation.parameters.as_ref().filter(|p| !p.is_empty()) {
            html += "<table><tr><th>parameter</th><th>in</th><th>description</th></tr>";
            for parameter in parameters {
                let place = match parameter.parameter_in {
                    ParameterIn::Path => "path",
                    ParameterIn::Query => "query",
                    ParameterIn::Header => "header",
                    ParameterIn::Cookie => "cookie",
                };
                html += &format!(
                    "<tr><td><code>{}</code></td><td>{place}</td><td>{}</td></tr>",
                    escape(&parameter.name),
                    escape(parameter.description.as_deref().unwrap_or(""))
                );
            }
            html += "</table>";
        }
        html += "<ul>";
        for (status, response) in &operation.responses.responses {
            let description = match response {
                utoipa::openapi::RefOr::T(response) => response.description.clone(),
                utoipa::openapi::RefOr::Ref(reference) => reference.ref_location.clone(),
            };
            html += &format!("<li><code>{}</code> {}</li>", escape(status), escape(&description));
        }
        html += "</ul></section>";
    }
    html += "</body></html>";
    html
}

/// ReDoc's standalone bundle (MIT, `assets/redoc/LICENSE`).
const REDOC_JS: &str = include_str!("../../assets/redoc/redoc.standalone.js");

/// The bundle's one reference to another host, a logo in the menu's footer: pointed at
/// an empty image instead (it fails to load and ReDoc hides it), so nothing is fetched.
const REDOC_LOGO: &str = "https://cdn.redoc.ly/redoc/logo-mini.svg";

/// The bundle as served (see [`REDOC_LOGO`]).
static REDOC_SERVED: std::sync::LazyLock<Vec<u8>> =
    std::sync::LazyLock::new(|| REDOC_JS.replace(REDOC_LOGO, "data:,").into_bytes());

/// The ReDoc page: the bundle and a start script, both served from here.
const REDOC_PAGE: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>wowlogs API: ReDoc</title>\
</head><body><div id=\"redoc\"></div><script src=\"/redoc/redoc.standalone.js\"></script>\
<script src=\"/redoc/start.js\"></script></body></html>";

/// Starts ReDoc on the document (a file, not inline, for the CSP).
const REDOC_START: &str =
    "Redoc.init('/openapi.json', {expandResponses: '200,201,202'}, document.getElementById('redoc'));\n";

/// `/docs` (Swagger UI) and `/redoc` (ReDoc), offline.
pub fn pages<S: Clone + Send + Sync + 'static>() -> axum::Router<S> {
    use axum::http::header;
    use axum::routing::get;
    use utoipa_swagger_ui::{Config, SwaggerUi};
    let javascript = |body: &'static [u8]| {
        (
            [
                (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            body,
        )
    };
    // No validator badge: Swagger UI would send the document to validator.swagger.io.
    let swagger = SwaggerUi::new("/docs").config(Config::new(["/openapi.json"]).validator_url("none"));
    axum::Router::from(swagger)
        .route("/redoc", get(|| async { axum::response::Html(REDOC_PAGE) }))
        .route("/redoc/redoc.standalone.js", get(move || async move { javascript(&REDOC_SERVED) }))
        .route("/redoc/start.js", get(move || async move { javascript(REDOC_START.as_bytes()) }))
}
