//! Diagnostics: log lines on standard error (text for people, JSON for log pipelines)
//! and, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, the same spans exported as
//! OpenTelemetry traces over OTLP/HTTP (protobuf). Off by default: with the variable
//! unset no exporter is built and nothing leaves the process.
//!
//! The standard variables apply: `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), `OTEL_EXPORTER_OTLP_HEADERS`,
//! `OTEL_SERVICE_NAME` (default `wowlogs-<command>`), `OTEL_RESOURCE_ATTRIBUTES`,
//! `OTEL_BSP_SCHEDULE_DELAY` and the other batch-processor settings.

use anyhow::{Context, Result};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::io::IsTerminal;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The variables that switch trace export on.
const ENDPOINT_VARIABLES: [&str; 2] = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"];

/// How diagnostics are written on standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The installed diagnostics; dropping it flushes the spans not exported yet.
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Whether spans are exported over OTLP.
    pub fn exporting(&self) -> bool {
        self.traces.is_some()
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.traces.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("warning: flushing OpenTelemetry traces: {error}");
        }
    }
}

/// Installs the global subscriber: `filter` (an `EnvFilter` directive, `warn` when it
/// does not parse) chooses the log lines; exported spans are every span at `info` and
/// above, whatever the log filter (a quiet log does not empty the traces).
pub fn init(filter: &str, format: LogFormat, service: &str) -> Result<Telemetry> {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("warn"));
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = match format {
        LogFormat::Json => {
            logs.json().flatten_event(true).with_current_span(true).with_span_list(false).boxed()
        }
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).boxed(),
    }
    .with_filter(filter);
    let traces = if exporting_enabled() { Some(tracer_provider(service)?) } else { None };
    let spans = traces.as_ref().map(|provider| {
        tracing_opentelemetry::layer().with_tracer(provider.tracer("wowlogs")).with_filter(LevelFilter::INFO)
    });
    tracing_subscriber::registry().with(logs).with(spans).try_init()?;
    Ok(Telemetry { traces })
}

/// Whether one of the standard endpoint variables is set to something.
fn exporting_enabled() -> bool {
    ENDPOINT_VARIABLES.iter().any(|name| std::env::var(name).is_ok_and(|value| !value.trim().is_empty()))
}

fn tracer_provider(service: &str) -> Result<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .context("building the OTLP trace exporter (OTEL_EXPORTER_OTLP_ENDPOINT)")?;
    // `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` win over the command's name.
    let resource = if std::env::var_os("OTEL_SERVICE_NAME").is_some() {
        Resource::builder().build()
    } else {
        Resource::builder().with_service_name(service.to_string()).build()
    };
    Ok(SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build())
}
