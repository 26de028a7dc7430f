//! Request parameters, validated before any query is built: unknown parameters,
//! malformed numbers and times, and oversized values are 400 with a message naming the
//! parameter.

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::IntoParams;
use wowlogs_http::ApiError;

/// Longest accepted text filter (a boss or character name).
pub const MAX_TEXT: usize = 128;
/// Largest page.
pub const MAX_PER_PAGE: u32 = 500;
/// Default page size.
pub const DEFAULT_PER_PAGE: u32 = 50;
/// Deepest page (offset ≤ MAX_PAGE × per_page).
pub const MAX_PAGE: u32 = 10_000;
/// Deaths one page of a fight's deaths holds at most: each carries up to 100 recap
/// lines, so a page stays around a megabyte.
pub const MAX_DEATHS_PER_PAGE: u32 = 100;

/// What the validation below accepts, written into the OpenAPI document's parameters (one
/// home for these rules): pages, page sizes, text filters, and path ids.
pub fn document_constraints(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{RefOr, Schema};
    // Text: 1 to MAX_TEXT characters, not blank, no control characters.
    let text = |object: &mut utoipa::openapi::schema::Object| {
        object.min_length = Some(1);
        object.max_length = Some(MAX_TEXT);
        object.pattern = Some(
            r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
                .into(),
        );
    };
    for (path, item) in document.paths.paths.iter_mut() {
        for operation in [&mut item.get, &mut item.post, &mut item.put, &mut item.patch].into_iter().flatten()
        {
            for parameter in operation.parameters.iter_mut().flatten() {
                let Some(RefOr::T(Schema::Object(object))) = parameter.schema.as_mut() else { continue };
                match (&parameter.parameter_in, parameter.name.as_str()) {
                    (ParameterIn::Query, "page") => {
                        object.minimum = Some(1.into());
                        object.maximum = Some(MAX_PAGE.into());
                    }
                    (ParameterIn::Query, "per_page") if path.ends_with("/deaths") => {
                        object.minimum = Some(1.into());
                        object.maximum = Some(MAX_DEATHS_PER_PAGE.into());
                    }
                    (ParameterIn::Query, "per_page") => {
                        object.minimum = Some(1.into());
                        object.maximum = Some(MAX_PER_PAGE.into());
                    }
                    (
                        ParameterIn::Query,
                        "boss" | "boss_name" | "name" | "class" | "player" | "main" | "realm" | "guild_name"
                        | "role" | "status",
                    ) => text(object),
                    // A region's letters (the progress plan: a character's, a roster's).
                    (ParameterIn::Query, "region") => object.pattern = Some(REGION_PATTERN.into()),
                    // What [`instant`] takes: RFC 3339, a date, or Unix milliseconds.
                    (ParameterIn::Query, "from" | "to") => {
                        parameter.schema = Some(RefOr::T(instant_schema()));
                    }
                    (ParameterIn::Path, "id") if path.starts_with("/api/v1/encounters/") => {
                        object.pattern = Some("^[0-9]{1,19}$".into());
                    }
                    (ParameterIn::Path, "id") if path.starts_with("/api/v1/uploads/") => {
                        object.pattern = Some("^[A-Za-z0-9-]{1,64}$".into());
                    }
                    (ParameterIn::Path, "name" | "character_name") => text(object),
                    _ => {}
                }
            }
        }
    }
}

/// The schema of an [`instant`]: one of RFC 3339, a date, or Unix milliseconds.
fn instant_schema() -> utoipa::openapi::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    use utoipa::openapi::{KnownFormat, SchemaFormat};
    let string = || ObjectBuilder::new().schema_type(Type::String);
    OneOfBuilder::new()
        .item(string().format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))))
        .item(string().format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))))
        .item(string().pattern(Some("^-?[0-9]{1,18}$")))
        .description(Some(
            "RFC 3339 (2024-03-01T20:00:00Z), a date (2024-03-01, midnight UTC) or Unix milliseconds",
        ))
        .into()
}

/// A region as parameters name it: two or three letters (`US`, `eu`).
pub const REGION_PATTERN: &str = "^[A-Za-z]{2,3}$";

/// A region parameter: two or three letters.
pub fn region(name: &str, value: &Option<String>) -> Result<(), ApiError> {
    match value {
        Some(r) if !(2..=3).contains(&r.len()) || !r.chars().all(|c| c.is_ascii_alphabetic()) => {
            Err(ApiError::bad_request(format!(
                "`{name}` is a region's two or three letters (US, EU, KR, TW, CN)"
            )))
        }
        _ => Ok(()),
    }
}

/// Query-string parameters, with JSON 400s instead of axum's plain-text rejections.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Validate> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if parts.uri.query().is_some_and(|q| q.len() > 4096) {
            return Err(ApiError::bad_request("the query string is longer than 4096 bytes"));
        }
        let Query(params) = Query::<T>::from_request_parts(parts, state).await.map_err(|rejection| {
            ApiError::bad_request(format!("invalid query parameters: {}", rejection.body_text()))
        })?;
        params.validate()?;
        Ok(Params(params))
    }
}

/// A path segment, with a JSON 400 when it does not parse.
pub struct PathId<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathId<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(value) = Path::<T>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| ApiError::bad_request(format!("invalid path: {}", rejection.body_text())))?;
        Ok(PathId(value))
    }
}

/// A JSON request body (`Content-Type: application/json`, at most 64 KiB), validated,
/// with JSON errors: 415 without the content type, 400 for anything else wrong.
pub struct JsonBody<T>(pub T);

/// Largest JSON body accepted.
pub const MAX_JSON_BODY: usize = 64 * 1024;

impl<S: Send + Sync, T: DeserializeOwned + Validate> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, _state: &S) -> Result<Self, ApiError> {
        use axum::http::{StatusCode, header};
        let json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as `Content-Type: application/json`",
            ));
        }
        let bytes = axum::body::to_bytes(request.into_body(), MAX_JSON_BODY).await.map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the body is larger than {MAX_JSON_BODY} bytes, or could not be read"),
            )
        })?;
        let value: T = serde_json::from_slice(&bytes)
            .map_err(|error| ApiError::bad_request(format!("invalid JSON body: {error}")))?;
        value.validate()?;
        Ok(JsonBody(value))
    }
}

/// Checks beyond what deserializing does.
pub trait Validate {
    fn validate(&self) -> Result<(), ApiError>;
}

/// A count parameter, when given: from 1 to `max`, else 400 naming it.
pub fn from_one_to(name: &str, value: Option<u32>, max: u32) -> Result<(), ApiError> {
    match value {
        Some(v) if !(1..=max).contains(&v) => {
            Err(ApiError::bad_request(format!("`{name}` must be between 1 and {max}")))
        }
        _ => Ok(()),
    }
}

/// A text filter: at most [`MAX_TEXT`] characters, no control characters.
pub fn text(name: &str, value: &Option<String>) -> Result<(), ApiError> {
    match value {
        Some(v) if v.chars().count() > MAX_TEXT => {
            Err(ApiError::bad_request(format!("`{name}` is longer than {MAX_TEXT} characters")))
        }
        Some(v) if v.chars().any(char::is_control) => {
            Err(ApiError::bad_request(format!("`{name}` contains control characters")))
        }
        Some(v) if v.trim().is_empty() => Err(ApiError::bad_request(format!("`{name}` is empty"))),
        _ => Ok(()),
    }
}

/// Text fields of a body within their lengths (characters) and free of control
/// characters.
pub fn bounded(fields: &[(&str, Option<&str>, usize)]) -> Result<(), ApiError> {
    for (name, value, max) in fields {
        if let Some(value) = value {
            if value.chars().count() > *max {
                return Err(ApiError::bad_request(format!("`{name}` is longer than {max} characters")));
            }
            if value.chars().any(char::is_control) {
                return Err(ApiError::bad_request(format!("`{name}` contains control characters")));
            }
        }
    }
    Ok(())
}

/// Which calendar a per-day view counts its days in.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DayZone {
    /// `UTC` for UTC dates; by default a day is a date in the guild's own time zone
    /// (its `timezone`, UTC unless set), which the answer names.
    #[param(pattern = "^[Uu][Tt][Cc]$")]
    pub timezone: Option<String>,
}

impl DayZone {
    /// Whether UTC dates were asked for (else the guild's zone).
    pub fn utc(&self) -> bool {
        self.timezone.is_some()
    }
}

impl Validate for DayZone {
    fn validate(&self) -> Result<(), ApiError> {
        match &self.timezone {
            Some(zone) if !zone.eq_ignore_ascii_case("utc") => Err(ApiError::bad_request(
                "`timezone` may be UTC (for UTC dates); without it, days are the guild's time zone's",
            )),
            _ => Ok(()),
        }
    }
}

/// Pagination; also the whole query of the lists that have no other filter.
#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 10000)]
    pub page: Option<u32>,
    /// Items per page (default 50, at most 500); `limit` is another name for it.
    #[param(minimum = 1, maximum = 500)]
    #[serde(alias = "limit")]
    pub per_page: Option<u32>,
}

impl Page {
    pub fn page(&self) -> u32 {
        self.page.unwrap_or(1)
    }

    pub fn per_page(&self) -> u32 {
        self.per_page.unwrap_or(DEFAULT_PER_PAGE)
    }

    pub fn offset(&self) -> i64 {
        i64::from(self.page() - 1) * i64::from(self.per_page())
    }
}

impl Validate for Page {
    fn validate(&self) -> Result<(), ApiError> {
        if !(1..=MAX_PAGE).contains(&self.page()) {
            return Err(ApiError::bad_request(format!("`page` must be between 1 and {MAX_PAGE}")));
        }
        if !(1..=MAX_PER_PAGE).contains(&self.per_page()) {
            return Err(ApiError::bad_request(format!("`per_page` must be between 1 and {MAX_PER_PAGE}")));
        }
        Ok(())
    }
}

/// A point in time: RFC 3339 (`2024-03-01T20:00:00Z`), a date (`2024-03-01`, midnight
/// UTC) or Unix milliseconds.
pub fn instant(name: &str, value: &Option<String>) -> Result<Option<i64>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    let value = value.trim();
    if let Ok(ms) = value.parse::<i64>() {
        return Ok(Some(ms));
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        return Ok(Some(at.timestamp_millis()));
    }
    if let Ok(date) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return Ok(Some(date.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp_millis()));
    }
    Err(ApiError::bad_request(format!(
        "`{name}` must be RFC 3339 (2024-03-01T20:00:00Z), a date (2024-03-01) or Unix milliseconds"
    )))
}

/// A path's numeric id (a fight's, a log's): a decimal integer, else 400 naming `what`;
/// digits beyond any id (ids are below 2^63) are `not_found`, as an id of nothing.
pub fn numeric_id(id: &str, what: &str, not_found: impl FnOnce() -> ApiError) -> Result<i64, ApiError> {
    match id.parse() {
        Ok(id) => Ok(id),
        Err(_) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => Err(not_found()),
        Err(_) => Err(ApiError::bad_request(format!("{what} is a decimal integer"))),
    }
}

/// Milliseconds as RFC 3339 UTC.
pub fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_numeric_id_is_digits_an_id_too_large_is_nothing_and_anything_else_is_refused() {
        use axum::http::StatusCode;
        let missing = || ApiError::not_found("none");
        assert_eq!(numeric_id("7077", "a log id", missing).ok(), Some(7077));
        assert_eq!(
            numeric_id("99999999999999999999", "a log id", missing).unwrap_err().status,
            StatusCode::NOT_FOUND
        );
        for bad in ["", "x1", "-", "1 OR 1=1", "١٢"] {
            assert_eq!(
                numeric_id(bad, "a log id", missing).unwrap_err().status,
                StatusCode::BAD_REQUEST,
                "{bad}"
            );
        }
    }

    #[test]
    fn times_are_rfc3339_dates_or_milliseconds() {
        assert_eq!(instant("from", &Some("1700000000000".into())).unwrap(), Some(1_700_000_000_000));
        assert_eq!(instant("from", &Some("2024-03-01".into())).unwrap(), Some(1_709_251_200_000));
        assert_eq!(
            instant("from", &Some("2024-03-01T00:00:01+00:00".into())).unwrap(),
            Some(1_709_251_201_000)
        );
        let refused = instant("from", &Some("yesterday".into())).unwrap_err();
        assert!(refused.message.contains("`from`"));
        assert_eq!(rfc3339(1_709_251_201_000), "2024-03-01T00:00:01.000Z");
    }

    #[test]
    fn text_filters_are_bounded() {
        assert!(text("boss", &Some("Thermaplugg".into())).is_ok());
        assert!(text("boss", &Some("x".repeat(MAX_TEXT + 1))).unwrap_err().message.contains("longer"));
        assert!(text("boss", &Some("a\u{0}b".into())).is_err());
        assert!(text("boss", &Some("  ".into())).is_err());
    }

    #[test]
    fn pages_are_bounded() {
        assert!(Page { page: Some(0), per_page: None }.validate().is_err());
        assert!(Page { page: None, per_page: Some(501) }.validate().is_err());
        assert_eq!(Page { page: Some(3), per_page: Some(20) }.offset(), 40);
    }
}
