//! The `tracing` subscriber of the binary: where the library's events end up.
//!
//! Takes the chosen completion-line format; hands on two outputs:
//! * the per-exchange completion line (events on [`EXCHANGE_TARGET`]), on stdout, the message
//!   as it is (`GET /api/v1/tags 200 0.4ms fixture`, or one JSON object), nothing with
//!   `--log-format off`;
//! * every other event (warnings while loading, 5xx detail, a recording that stopped) on stderr
//!   as `standin: message field=value …`, filtered by `RUST_LOG` (default: standin's events at
//!   `info` and up, other crates' at `warn` and up).

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::Layer as _;

use crate::record::{LogFormat, EXCHANGE_TARGET};

/// The filter when `RUST_LOG` is not set.
const DEFAULT_FILTER: &str = "warn,standin=info";

/// Install the subscriber (once per process; a second call changes nothing).
pub fn init(log: LogFormat) {
    let env = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let diagnostics = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .event_format(Diagnostic)
        .with_filter(env)
        .with_filter(filter_fn(|meta| meta.target() != EXCHANGE_TARGET));
    let exchanges = (log != LogFormat::Off).then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stdout)
            .event_format(MessageOnly)
            .with_filter(filter_fn(|meta| meta.target() == EXCHANGE_TARGET))
    });
    let _ = tracing_subscriber::registry().with(diagnostics).with(exchanges).try_init();
}

/// `standin: ` and the event's fields (the message first, bare).
struct Diagnostic;

impl<S, N> FormatEvent<S, N> for Diagnostic
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        writer.write_str("standin: ")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// The event's message and nothing else: the completion line is already whole.
struct MessageOnly;

impl<S, N> FormatEvent<S, N> for MessageOnly
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, _ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let mut message = Message { writer: writer.by_ref(), result: Ok(()) };
        event.record(&mut message);
        message.result?;
        writeln!(writer)
    }
}

/// Writes the `message` field of an event.
struct Message<'w> {
    writer: Writer<'w>,
    result: fmt::Result,
}

impl Visit for Message<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.result = self.writer.write_str(value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // The message of `info!("{}", line)` is `format_args!`, whose Debug is its text.
        if field.name() == "message" {
            self.result = write!(self.writer, "{value:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A writer for the test subscriber: everything written, kept.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn exchange_lines_are_written_as_they_are_and_diagnostics_are_prefixed() {
        let (out, err) = (Captured::default(), Captured::default());
        let (o, e) = (out.clone(), err.clone());
        let subscriber = tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(move || e.clone())
                    .event_format(Diagnostic)
                    .with_filter(filter_fn(|m| m.target() != EXCHANGE_TARGET)),
            )
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(move || o.clone())
                    .event_format(MessageOnly)
                    .with_filter(filter_fn(|m| m.target() == EXCHANGE_TARGET)),
            );
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: EXCHANGE_TARGET, status = 200, "{}", "GET /a 200 0.4ms fixture");
            tracing::info!(target: EXCHANGE_TARGET, "{}", serde_json::json!({"id": 1, "path": "/a \"q\""}));
            tracing::warn!(status = 500, "recording stopped: disk full");
        });
        assert_eq!(
            String::from_utf8(out.0.lock().unwrap().clone()).unwrap(),
            "GET /a 200 0.4ms fixture\n{\"id\":1,\"path\":\"/a \\\"q\\\"\"}\n"
        );
        assert_eq!(String::from_utf8(err.0.lock().unwrap().clone()).unwrap(), "standin: recording stopped: disk full status=500\n");
    }
}
