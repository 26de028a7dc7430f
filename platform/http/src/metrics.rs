//! The metrics registry every service starts from: its own metrics plus the process's
//! (CPU seconds, resident and virtual memory, open and maximum file descriptors, threads,
//! start time: `process_*`, from the `prometheus` crate's process collector, on Linux),
//! so operators see each service's machine use beside what it does.

use prometheus::{Encoder, Registry, TextEncoder};

/// A registry holding the process metrics; the service registers its own on it.
pub fn service_registry() -> Registry {
    let registry = Registry::new();
    #[cfg(target_os = "linux")]
    registry
        .register(Box::new(prometheus::process_collector::ProcessCollector::for_self()))
        .expect("the process collector registers once per registry");
    registry
}

/// The text exposition of every metric of `registry`.
pub fn render(registry: &Registry) -> String {
    let mut out = Vec::new();
    TextEncoder::new().encode(&registry.gather(), &mut out).expect("text encoding");
    String::from_utf8(out).expect("prometheus text is UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn a_service_registry_reports_the_process_cpu_memory_files_and_threads() {
        let text = render(&service_registry());
        for metric in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_open_fds",
            "process_max_fds",
            "process_threads",
        ] {
            let line =
                text.lines().find(|l| l.starts_with(metric)).unwrap_or_else(|| panic!("no {metric}: {text}"));
            let value: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
            assert!(value >= 0.0, "{line}");
        }
        let rss = text.lines().find(|l| l.starts_with("process_resident_memory_bytes ")).unwrap();
        assert!(
            rss.rsplit(' ').next().unwrap().parse::<f64>().unwrap() > 1_000_000.0,
            "a real process: {rss}"
        );
    }
}
