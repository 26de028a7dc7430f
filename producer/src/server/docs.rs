//! The upload service's part of the public API's one OpenAPI document: the query API
//! serves the whole document (`/openapi.json`, `/docs`, `/redoc`) and merges this part in
//! ([`openapi`]), so the upload routes are described next to the handlers that serve
//! them and nowhere else.

use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

/// The answer to an upload (the specification's shape, with the log ids beside it).
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadAnswer {
    pub upload_id: String,
    pub guild_id: i64,
    pub guild_name: String,
    pub file_name: String,
    /// `processing` (accepted: follow it at `/api/v1/uploads/{id}` or on `/ws`), or
    /// `duplicate` (this guild uploaded the same log before; nothing is published again).
    pub status: String,
    /// The logs the upload holds (several for a zip of logs), as decimal strings.
    #[schema(value_type = Vec<String>)]
    pub log_ids: serde_json::Value,
    pub message: String,
}

/// The upload form: a `multipart/form-data` body with the log in `file`. (A raw body,
/// any content type, is taken too, named by `X-File-Name`.)
#[derive(ToSchema, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct UploadForm {
    /// `WoWCombatLog.txt`, or a `.zip` or `.gz` of logs.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// The year of the log's first line, for logs whose timestamps have none.
    #[schema(minimum = 2004, maximum = 2100)]
    #[serde(default)]
    pub year: i32,
}

/// The upload routes' document.
#[derive(OpenApi)]
#[openapi(
    paths(super::upload::upload),
    components(schemas(UploadAnswer, UploadForm)),
    tags((name = "uploads", description = "Uploading logs (served by the upload service behind the same entry point)"))
)]
pub struct UploadDoc;

/// See the module's documentation.
pub fn openapi() -> utoipa::openapi::OpenApi {
    UploadDoc::openapi()
}
