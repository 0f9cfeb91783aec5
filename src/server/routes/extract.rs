//! Request bodies and query strings, read so that every refusal is problem+json that names the
//! field and what it accepts, and never echoes a value it was sent (it might be a secret pasted
//! into the wrong field).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::server::error::ApiError;
pub use crate::server::error::BODY_LIMIT;

/// A JSON body (`Content-Type: application/json`).
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json = content_type(&req).is_some_and(|ct| {
            let essence = ct.split(';').next().unwrap_or("").trim();
            essence.eq_ignore_ascii_case("application/json") || essence.ends_with("+json")
        });
        if !json {
            return Err(ApiError::UnsupportedMediaType("application/json"));
        }
        let bytes = read_body(req, state).await?;
        if json_holds_nul(&bytes) {
            return Err(nul_refused());
        }
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            use serde_json::error::Category;
            match e.inner().classify() {
                Category::Syntax | Category::Eof | Category::Io => ApiError::BadRequest(
                    "the request body is not valid JSON; send a JSON object of the documented shape"
                        .to_owned(),
                ),
                Category::Data => {
                    let path = e.path().to_string();
                    ApiError::BadRequest(describe("the field", &path, &e.inner().to_string()))
                }
            }
        })?;
        de.end().map_err(|_| {
            ApiError::BadRequest("the request body holds more than one JSON value".to_owned())
        })?;
        Ok(Body(value))
    }
}

/// A form body (`application/x-www-form-urlencoded`), as OAuth 2.0's token endpoint takes.
pub struct FormBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for FormBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let form = content_type(&req).is_some_and(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
        if !form {
            return Err(ApiError::UnsupportedMediaType(
                "application/x-www-form-urlencoded",
            ));
        }
        let bytes = read_body(req, state).await?;
        parse_urlencoded(&bytes, "the form field").map(FormBody)
    }
}

/// A query string.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        parse_urlencoded(query.as_bytes(), "the query parameter").map(Params)
    }
}

fn content_type(req: &Request) -> Option<&str> {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::BadRequest("the request body could not be read".to_owned())
        }
    })
}

fn parse_urlencoded<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, ApiError> {
    if form_urlencoded::parse(bytes).any(|(k, v)| k.contains('\0') || v.contains('\0')) {
        return Err(nul_refused());
    }
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(bytes));
    serde_path_to_error::deserialize(de).map_err(|e| {
        ApiError::BadRequest(describe(
            what,
            &e.path().to_string(),
            &e.inner().to_string(),
        ))
    })
}

/// NUL is refused in every text a request carries: no field needs it, a terminal or a C
/// library would cut the text there, and PostgreSQL cannot store it, so it is refused the same
/// way whatever the database.
pub fn nul_refused() -> ApiError {
    ApiError::BadRequest(
        "the request holds a NUL character (U+0000), which no field accepts; remove it".to_owned(),
    )
}

/// Whether a JSON text holds an escaped NUL (`\u0000`) inside a string. (A raw NUL byte is not
/// valid JSON and is refused by the parser.)
fn json_holds_nul(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if bytes.get(i + 1) == Some(&b'u') && bytes.get(i + 2..i + 6) == Some(b"0000") {
                return true;
            }
            // Skip the escaped character, so `\\u0000` (a backslash, then text) is not NUL.
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

/// "the field `type` is not valid: expected `private` or `public`". serde's own messages quote
/// the value they were given ("unknown variant `kw_sk_…`"), so only the part after "expected",
/// which comes from the type, is kept; where there is none, a hint for the field is used.
fn describe(what: &str, path: &str, message: &str) -> String {
    let message = message.split(" at line ").next().unwrap_or(message);
    if let Some(field) = message.strip_prefix("missing field ") {
        return format!("{what} {field} is required");
    }
    let expected = message
        .rsplit_once(", expected ")
        .map(|(_, e)| e.to_owned())
        .filter(|_| {
            [
                "unknown variant",
                "unknown field",
                "invalid type",
                "invalid value",
                "invalid length",
            ]
            .iter()
            .any(|p| message.starts_with(p))
        })
        .or_else(|| hint(path).map(str::to_owned));
    // For an unknown field the path ends with the field's own name, which is input too.
    let subject = if message.starts_with("unknown field") {
        format!("a field is not accepted here; {what}s accepted are")
    } else {
        match path {
            "." | "" => format!("{what}s are not valid; expected"),
            p => format!("{what} `{p}` is not valid; expected"),
        }
    };
    match expected {
        Some(expected) if message.starts_with("unknown field") => {
            format!("{subject} {}", expected.trim_start_matches("one of "))
        }
        Some(expected) => format!("{subject} {expected}"),
        None => subject.trim_end_matches("; expected").to_owned(),
    }
}

/// What a field takes, where serde's message does not say.
fn hint(path: &str) -> Option<&'static str> {
    let field = path.rsplit('.').next().unwrap_or(path);
    match field {
        "expires_at" | "expires_before" | "unused_since" => {
            Some("an RFC 3339 time such as 2027-01-31T00:00:00Z")
        }
        "limit" => Some("a whole number from 1 to 1000"),
        "grace_seconds" | "expires_in_seconds" => Some("a whole number of seconds"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_escaped_nul_is_found_and_an_escaped_backslash_is_not() {
        assert!(json_holds_nul(br#"{"description":"a\u0000b"}"#));
        assert!(!json_holds_nul(br#"{"description":"a\\u0000b"}"#));
        assert!(json_holds_nul(br#"{"d":"a\\\u0000"}"#));
        assert!(json_holds_nul(br#"{"d":"\u00001"}"#));
        assert!(!json_holds_nul(br#"{"d":"\u0001"}"#));
    }

    #[test]
    fn details_name_the_field_and_never_the_value() {
        let d = describe(
            "the field",
            "type",
            "unknown variant `kw_sk_secret`, expected `private` or `public` at line 1 column 9",
        );
        assert_eq!(
            d,
            "the field `type` is not valid; expected `private` or `public`"
        );
        let d = describe(
            "the query parameter",
            "limit",
            "invalid digit found in string",
        );
        assert_eq!(
            d,
            "the query parameter `limit` is not valid; expected a whole number from 1 to 1000"
        );
        let d = describe(
            "the field",
            ".",
            "unknown field `kw_sk_x`, expected one of `name`, `description`",
        );
        assert_eq!(
            d,
            "a field is not accepted here; the fields accepted are `name`, `description`"
        );
        assert_eq!(
            describe("the field", ".", "missing field `name`"),
            "the field `name` is required"
        );
        let d = describe("the field", "nickname", "some custom error quoting kw_sk_x");
        assert_eq!(d, "the field `nickname` is not valid");
    }
}
