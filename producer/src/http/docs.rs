//! The upload service's part of the public API's one OpenAPI document. The binary merges
//! it with the query API's part (`wowlogs_cli::api_docs`) and the query API serves the
//! whole (`/openapi.json`, `/docs`, `/redoc`), so the upload routes are described next to
//! the handlers that serve them and nowhere else.

use super::upload::{UploadAnswer, UploadForm};
use crate::uploads::live::LiveAnswer;
use utoipa::OpenApi;

/// The upload routes' document.
#[derive(OpenApi)]
#[openapi(
    paths(super::upload::upload, super::live::chunk, super::live::close, super::live::status),
    components(schemas(UploadAnswer, UploadForm, LiveAnswer)),
    tags((name = "uploads", description = "Uploading logs (served by the upload service behind the same entry point)"))
)]
pub struct UploadDoc;

/// See the module's documentation.
pub fn openapi() -> utoipa::openapi::OpenApi {
    UploadDoc::openapi()
}
