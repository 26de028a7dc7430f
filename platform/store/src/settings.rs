//! Where ClickHouse is.

use clickhouse::Client;

/// Connection settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSettings {
    /// HTTP endpoint, e.g. `http://127.0.0.1:8123`.
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
}

impl StoreSettings {
    pub fn new(url: impl Into<String>, database: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            database: database.into(),
            user: None,
            password: None,
            cluster: None,
            profile: None,
        }
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
