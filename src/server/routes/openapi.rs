//! The API's OpenAPI 3.1 document, served at `GET /v1/openapi.json` and committed as
//! `openapi.json` (a test keeps the two equal; `./scripts/generate` refreshes the file).
//!
//! Each handler states its own path, parameters, body and the answers particular to it
//! (`#[utoipa::path]` beside the handler), and `utoipa-axum` registers each handler with its
//! route, so the router and the document cannot list different endpoints. The answers every
//! endpoint of a kind can give (a malformed request, a missing token, a body too large…) come
//! from one place, [`CommonProblems`], so no handler can forget one.

use std::sync::LazyLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    Content, ObjectBuilder, OpenApi as Document, Ref, RefOr, ResponseBuilder, Type,
};
use utoipa::{Modify, OpenApi};

use crate::api::Problem;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "keyward",
        description = "Manage API keys: create, list, show, edit, disable, enable, rotate and \
                       revoke them, exchange a private key for an access token, and verify a \
                       presented key. Every error is an RFC 9457 problem with a stable `code`. \
                       No string anywhere in a request may hold U+0000 (NUL): it is refused \
                       with 400 `bad_request`. Every answer carries `X-Request-Id`, also \
                       recorded in the audit log: the caller's own when it sent one of 1 to 64 \
                       of `A-Z a-z 0-9 . _ : -`, otherwise one keyward made.",
        license(name = "MIT OR Apache-2.0"),
    ),
    components(schemas(Problem)),
    modifiers(&Security),
    tags(
        (name = "keys", description = "API keys and their lifecycle"),
        (name = "verify", description = "Is a presented key good for this use?"),
        (name = "auth", description = "Access tokens for private keys"),
        (name = "catalog", description = "Environments and permissions"),
        (name = "audit", description = "The audit log: who did what, from where, provably"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
pub struct ApiDoc;

/// `bearer`: an access token from `POST /v1/oauth/token`; `client`: a private key's id and
/// secret as HTTP Basic credentials (the token endpoint also takes them in its form);
/// `gateway`: a gateway's own key, for forward auth.
struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An access token from POST /v1/oauth/token"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "client",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some("A private key's id and secret"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "gateway",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Header(
                utoipa::openapi::security::ApiKeyValue::with_description(
                    "Keyward-Gateway-Key",
                    "A gateway's own key: keys:verify and no other built-in permission",
                ),
            )),
        );
    }
}

/// The problem answers that depend only on what kind of endpoint it is, added to each.
struct CommonProblems;

/// (status, what it means) for each answer shared by endpoints of a kind.
const ANY_REQUEST: [(&str, &str); 3] = [
    (
        "400",
        "The request is malformed (a query that does not parse, a NUL character)",
    ),
    (
        "408",
        "The request took longer than the server's request timeout",
    ),
    (
        "500",
        "The server failed; its log says more under the request id",
    ),
];
const NEEDS_DATABASE: (&str, &str) = ("503", "The server cannot reach its database now");
const NEEDS_TOKEN: [(&str, &str); 2] = [
    ("401", "No valid access token"),
    ("403", "The token's key may not do this"),
];
const TAKES_BODY: [(&str, &str); 3] = [
    ("413", "The body is over 64 KiB"),
    (
        "415",
        "The body is not of the media type this endpoint takes",
    ),
    ("422", "A value breaks a rule; `code` says which"),
];
const NAMES_A_KEY: (&str, &str) = (
    "404",
    "No such key, or one outside the caller's environments",
);

impl Modify for CommonProblems {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        let all = ANY_REQUEST
            .iter()
            .chain([&NEEDS_DATABASE, &NAMES_A_KEY])
            .chain(&NEEDS_TOKEN)
            .chain(&TAKES_BODY);
        for (status, description) in all {
            components.responses.insert(
                problem_name(status),
                RefOr::T(
                    ResponseBuilder::new()
                        .description(*description)
                        .content(
                            "application/problem+json",
                            Content::new(Some(Ref::from_schema_name("Problem"))),
                        )
                        .build(),
                ),
            );
        }
        for (path, item) in doc.paths.paths.iter_mut() {
            let health = path == "/healthz" || path == "/readyz" || path == "/v1/openapi.json";
            for operation in operations(item) {
                let mut add = |(status, _): &(&str, &str)| {
                    operation
                        .responses
                        .responses
                        .entry((*status).to_owned())
                        .or_insert_with(|| {
                            RefOr::Ref(Ref::new(format!(
                                "#/components/responses/{}",
                                problem_name(status)
                            )))
                        });
                };
                ANY_REQUEST.iter().for_each(&mut add);
                if health {
                    continue;
                }
                add(&NEEDS_DATABASE);
                if operation.security.is_some() && path != "/v1/oauth/token" {
                    NEEDS_TOKEN.iter().for_each(&mut add);
                }
                if operation.request_body.is_some() {
                    TAKES_BODY.iter().for_each(&mut add);
                }
                if path.contains("{id}") {
                    add(&NAMES_A_KEY);
                }
            }
        }
    }
}

/// Every answer that is a key carries its `ETag` (version) and `Location`; and a created key
/// links to what can be done with it next (the links schemathesis follows in its stateful phase).
struct KeyAnswers;

/// The operations a created key's id opens, by operation id.
const NEXT: [&str; 6] = ["show", "edit", "disable", "enable", "rotate", "revoke"];

impl Modify for KeyAnswers {
    fn modify(&self, doc: &mut Document) {
        for (path, item) in doc.paths.paths.iter_mut() {
            if !path.starts_with("/v1/keys") {
                continue;
            }
            let is_create = path == "/v1/keys";
            for operation in operations(item) {
                if is_create && operation.request_body.is_none() {
                    continue; // the list: a page, not a key
                }
                for (status, response) in operation.responses.responses.iter_mut() {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    if !status.starts_with('2') {
                        continue;
                    }
                    for (name, what) in [
                        ("ETag", "The key's version, for If-Match"),
                        ("Location", "The key's URL"),
                    ] {
                        response.headers.entry(name.to_owned()).or_insert_with(|| {
                            HeaderBuilder::new()
                                .schema(ObjectBuilder::new().schema_type(Type::String))
                                .description(Some(what))
                                .build()
                        });
                    }
                    if is_create && status == "201" {
                        for next in NEXT {
                            let mut link = LinkBuilder::new()
                                .operation_id(next)
                                .parameter("id", "$response.body#/id");
                            if next == "edit" {
                                link = link.parameter("header.If-Match", "$response.header.ETag");
                            }
                            response
                                .links
                                .insert(next.to_owned(), RefOr::T(link.build()));
                        }
                    }
                }
            }
        }
    }
}

fn problem_name(status: &str) -> String {
    format!("Problem{status}")
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// The document as served and committed: pretty JSON with a final newline.
pub fn document(doc: &Document) -> String {
    let mut value = serde_json::to_value(doc).expect("the OpenAPI document serialises");
    camel_case_links(&mut value);
    headers_are_never_null(&mut value);
    // Keys in sorted order, whatever order serde_json keeps them in (the CLI keeps the API's
    // order for people): the committed document changes only where the API does.
    value.sort_all_objects();
    let mut text = serde_json::to_string_pretty(&value).expect("JSON serialises");
    text.push('\n');
    text
}

/// An optional header parameter (`Option<String>` to utoipa) is written as `["string", "null"]`;
/// a header is absent or a string, never null, and a fuzzer reading "null" as valid would send
/// `If-Match: null`.
fn headers_are_never_null(doc: &mut serde_json::Value) {
    let parameters = json_operations(doc)
        .filter_map(|op| op.get_mut("parameters").and_then(|p| p.as_array_mut()))
        .flatten()
        .filter(|p| p["in"] == "header");
    for parameter in parameters {
        if let Some(schema) = parameter.get_mut("schema") {
            if schema["type"] == serde_json::json!(["string", "null"]) {
                schema["type"] = serde_json::json!("string");
            }
        }
    }
}

/// Every operation of the document (each method of each path), to rewrite in place.
fn json_operations(doc: &mut serde_json::Value) -> impl Iterator<Item = &mut serde_json::Value> {
    doc.get_mut("paths")
        .and_then(|p| p.as_object_mut())
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut())
}

/// utoipa 5.5 writes a link's fields in snake case (`operation_id`); OpenAPI names them in camel
/// case (`operationId`), and tools ignore a link without one.
fn camel_case_links(doc: &mut serde_json::Value) {
    let responses = json_operations(doc)
        .filter_map(|op| op.get_mut("responses").and_then(|r| r.as_object_mut()))
        .flat_map(|responses| responses.values_mut());
    for response in responses {
        let Some(links) = response.get_mut("links").and_then(|l| l.as_object_mut()) else {
            continue;
        };
        for link in links.values_mut().filter_map(|l| l.as_object_mut()) {
            for (snake, camel) in [
                ("operation_id", "operationId"),
                ("operation_ref", "operationRef"),
                ("request_body", "requestBody"),
            ] {
                if let Some(v) = link.remove(snake) {
                    link.insert(camel.to_owned(), v);
                }
            }
        }
    }
}

/// The document: the handlers' own descriptions, then the common problems added to each
/// (after the routes are in, since they are added per path).
static SERVED: LazyLock<String> = LazyLock::new(|| {
    let mut doc = super::api_router().into_openapi();
    CommonProblems.modify(&mut doc);
    KeyAnswers.modify(&mut doc);
    document(&doc)
});

/// The document this server answers to, for `keyward generate openapi` and the test.
pub fn served() -> &'static str {
    &SERVED
}

/// `GET /v1/openapi.json`: the API's contract. No token needed.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "health",
    responses((status = 200, description = "This API's OpenAPI 3.1 document", content_type = "application/json"))
)]
pub async fn openapi_json() -> Response {
    let mut response = served().to_owned().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
