//! Who is calling: the registry's API keys (`wowlogs-tenancy`), shared with the query
//! API so both services authenticate alike.

pub use wowlogs_tenancy::{
    Caller, KeyCache, KeyStore, Permission, Presented, Principal, authorize, presented_key,
};
