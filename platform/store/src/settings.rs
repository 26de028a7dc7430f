//! Where ClickHouse is.

use clickhouse::Client;

/// Connection settings.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreSettings {
    /// HTTP endpoint, e.g. `http://127.0.0.1:8123` (never with credentials: see
    /// [`StoreSettings::new`]).
    pub url: String,
    pub database: String,
    pub user: Option<String>,
    pub password: Option<String>,
    /// The ClickHouse cluster holding the tables (`remote_servers` name), when they are
    /// sharded and replicated: see [`crate::cluster`]. `None` for one server.
    pub cluster: Option<String>,
    /// A settings profile of the server that every query runs under, as if its user
    /// had it (the dashboards' tests and benchmark read as Grafana's user would, with
    /// the `grafana` profile); `None`: the user's own.
    pub profile: Option<String>,
    /// LZ4 on the wire both ways (the default: the client compresses what it inserts, the
    /// server what it answers); `false` sends and receives plain bytes, which spends no
    /// CPU on either side where ClickHouse is on the same host
    /// (`WOWLOGS_CLICKHOUSE_COMPRESSION=none`).
    pub compress: bool,
}

/// The password is never printed.
impl std::fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSettings")
            .field("url", &self.url)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("cluster", &self.cluster)
            .field("profile", &self.profile)
            .field("compress", &self.compress)
            .finish()
    }
}

impl StoreSettings {
    /// Settings for the server at `url`. A URL may carry its credentials
    /// (`http://user:password@host:8123`, percent-encoded as URLs are): they become the
    /// user and password, and the URL is kept without them (so it can be logged).
    pub fn new(url: impl Into<String>, database: impl Into<String>) -> Self {
        let (url, user, password) = split_credentials(url.into());
        Self { url, database: database.into(), user, password, cluster: None, profile: None, compress: true }
    }

    /// A client on the settings' database.
    pub fn client(&self) -> Client {
        self.server_client().with_database(&self.database)
    }

    /// `" ON CLUSTER <name>"` in cluster mode, else nothing: for DDL and mutations.
    pub fn on_cluster(&self) -> String {
        self.cluster.as_ref().map(|c| format!(" ON CLUSTER {c}")).unwrap_or_default()
    }

    /// What an `ALTER TABLE` (a mutation) names for `table`: the table itself on one
    /// server, its shard-local tables on every server of a cluster (a `Distributed`
    /// table holds no rows to change).
    pub fn alter_target(&self, table: &str) -> String {
        match &self.cluster {
            Some(_) => format!("{table}{}{}", crate::cluster::LOCAL_SUFFIX, self.on_cluster()),
            None => table.to_string(),
        }
    }

    /// The cluster DDL for migrations stamped `stamp_ms`, in cluster mode.
    pub fn cluster_ddl(&self, stamp_ms: i64) -> Option<crate::cluster::ClusterDdl<'_>> {
        self.cluster.as_deref().map(|cluster| crate::cluster::ClusterDdl {
            cluster,
            database: &self.database,
            stamp_ms,
        })
    }

    /// A client on the server's default database (to create ours).
    pub fn server_client(&self) -> Client {
        let mut client = Client::default().with_url(&self.url).with_validation(false);
        if !self.compress {
            client = client.with_compression(clickhouse::Compression::None);
        }
        if let Some(user) = &self.user {
            client = client.with_user(user);
        }
        if let Some(password) = &self.password {
            client = client.with_password(password);
        }
        if let Some(profile) = &self.profile {
            client = client.with_setting("profile", profile);
        }
        if self.cluster.is_some() {
            // A guild's rows live on one shard: a subquery on another table of the
            // schema is answered by each shard's own rows (`local`), never by shipping
            // whole tables between shards; an insert returns once its shard has it,
            // so a consumer commits offsets only for rows that are stored.
            client = client
                .with_setting("distributed_product_mode", "local")
                .with_setting("insert_distributed_sync", "1");
        }
        client
    }
}

/// `url` without the `user:password@` of its authority, and those two, decoded.
fn split_credentials(url: String) -> (String, Option<String>, Option<String>) {
    let decode = |text: &str| percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned();
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else { return (url, None, None) };
    let authority_end = url[scheme_end..].find(['/', '?', '#']).map_or(url.len(), |i| scheme_end + i);
    let Some(at) = url[scheme_end..authority_end].rfind('@').map(|i| scheme_end + i) else {
        return (url, None, None);
    };
    let userinfo = &url[scheme_end..at];
    let (user, password) = match userinfo.split_once(':') {
        Some((user, password)) => (decode(user), Some(decode(password))),
        None => (decode(userinfo), None),
    };
    let bare = format!("{}{}", &url[..scheme_end], &url[at + 1..]);
    (bare, Some(user).filter(|u| !u.is_empty()), password)
}

/// Runs `statements` one after the other on `client`, stopping at the first refusal.
pub async fn execute_all(
    client: &Client,
    statements: impl IntoIterator<Item = String>,
) -> Result<(), clickhouse::error::Error> {
    for statement in statements {
        client.query(&statement).execute().await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_urls_credentials_become_the_user_and_password_and_leave_the_url() {
        let settings = StoreSettings::new("http://default:s%40cret@127.0.0.1:8123", "wowlogs");
        assert_eq!(settings.url, "http://127.0.0.1:8123");
        assert_eq!(
            (settings.user.as_deref(), settings.password.as_deref()),
            (Some("default"), Some("s@cret"))
        );
        let bare = StoreSettings::new("http://127.0.0.1:8123/?x=a@b", "wowlogs");
        assert_eq!(
            (bare.url.as_str(), bare.user, bare.password),
            ("http://127.0.0.1:8123/?x=a@b", None, None)
        );
        let user_only = StoreSettings::new("https://reader@clickhouse:8443", "wowlogs");
        assert_eq!(
            (user_only.url.as_str(), user_only.user.as_deref(), user_only.password),
            ("https://clickhouse:8443", Some("reader"), None)
        );
    }

    #[test]
    fn the_password_is_never_printed() {
        let settings = StoreSettings::new("http://default:hunter2@127.0.0.1:8123", "wowlogs");
        let printed = format!("{settings:?}");
        assert!(!printed.contains("hunter2") && printed.contains("<hidden>"), "{printed}");
    }
}
