//! HTTP errors: the JSON shape every wowlogs service answers with.

pub use wowlogs_tenancy::ApiError;
