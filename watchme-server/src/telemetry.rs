//! Logging: JSON lines (one object per line, with the fields of every
//! enclosing span, so each line inside a request carries its request id,
//! trace id and user id) or human-readable on a terminal; optionally also
//! JSON to rotating files. With an OTLP endpoint, spans are exported too.

use std::io::IsTerminal;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::{Config, LogFormat, LogRotation};

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

fn json_layer<W>(writer: W) -> BoxedLayer
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(true)
        .with_writer(writer)
        .boxed()
}

/// Keeps the log file writer and the span exporter flushing; hold it until
/// the process ends (dropping it flushes both).
#[derive(Default)]
pub struct LogGuard {
    _files: Option<WorkerGuard>,
    spans: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        if let Some(p) = self.spans.take() {
            // Exports what the batch holds; a collector that is away costs at most its timeout.
            if let Err(e) = p.shutdown() {
                eprintln!("watchme: exporting the last spans failed: {e}");
            }
        }
    }
}

static EXPORTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether spans are exported (an OTLP endpoint is configured).
pub fn exporting_spans() -> bool {
    EXPORTING.load(std::sync::atomic::Ordering::Relaxed)
}

fn span_exporter(
    otlp: &crate::config::Otlp,
) -> Result<(BoxedLayer, opentelemetry_sdk::trace::SdkTracerProvider), String> {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::WithExportConfig as _;
    use opentelemetry_sdk::trace::Sampler;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{}/v1/traces", otlp.endpoint))
        .build()
        .map_err(|e| format!("WATCHME_OTLP_ENDPOINT {}: {e}", otlp.endpoint))?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name("watchme")
        .with_attribute(opentelemetry::KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        // A caller's decision is followed; new traces are sampled at the ratio.
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(otlp.sample_ratio))))
        .with_resource(resource)
        .build();
    let tracer = provider.tracer("watchme");
    Ok((tracing_opentelemetry::layer().with_tracer(tracer).boxed(), provider))
}

/// Installs the global subscriber (a second call does nothing).
///
/// # Errors
/// When the log directory cannot be created or written.
pub fn init(config: &Config) -> Result<LogGuard, String> {
    let filter = EnvFilter::try_new(&config.logging.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let terminal = std::io::stdout().is_terminal();
    let pretty = match config.logging.format {
        LogFormat::Json => false,
        LogFormat::Pretty => true,
        LogFormat::Auto => terminal,
    };
    let mut layers: Vec<BoxedLayer> = vec![
        DbLatency.boxed(),
        if pretty {
            tracing_subscriber::fmt::layer().with_ansi(terminal).with_writer(std::io::stdout).boxed()
        } else {
            json_layer(std::io::stdout)
        },
    ];
    let mut guard = LogGuard::default();
    if let Some(otlp) = &config.telemetry.otlp {
        let (layer, provider) = span_exporter(otlp)?;
        layers.push(layer);
        guard.spans = Some(provider);
        EXPORTING.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    if let Some(files) = &config.logging.files {
        let rotation = match files.rotation {
            LogRotation::Daily => Rotation::DAILY,
            LogRotation::Hourly => Rotation::HOURLY,
            LogRotation::Never => Rotation::NEVER,
        };
        std::fs::create_dir_all(&files.dir).map_err(|e| format!("WATCHME_LOG_DIR {}: {e}", files.dir.display()))?;
        let appender = RollingFileAppender::builder()
            .rotation(rotation)
            .filename_prefix("watchme")
            .filename_suffix("log")
            .max_log_files(files.keep)
            .build(&files.dir)
            .map_err(|e| format!("WATCHME_LOG_DIR {}: {e}", files.dir.display()))?;
        // Not lossy: when the disk is slow, logging waits rather than dropping lines.
        let (writer, g) = NonBlockingBuilder::default().lossy(false).finish(appender);
        layers.push(json_layer(writer));
        guard._files = Some(g);
    }
    let _ = tracing_subscriber::registry().with(layers).with(filter).try_init();
    Ok(guard)
}

/// Makes `span` a child of the caller's context (when it sent one) and
/// returns the W3C context that names `span` itself, for the response, the
/// logs and the events the request produces.
pub fn continue_trace(
    span: &tracing::Span,
    incoming: Option<&watchme_core::domain::TraceContext>,
) -> watchme_core::domain::TraceContext {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    if let Some(parent) = incoming {
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote(parent)));
    }
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    if !sc.is_valid() {
        return incoming.map_or_else(watchme_core::domain::TraceContext::root, |t| t.child());
    }
    let flags = if sc.is_sampled() { "01" } else { "00" };
    watchme_core::domain::TraceContext {
        traceparent: format!("00-{}-{}-{flags}", sc.trace_id(), sc.span_id()),
        tracestate: incoming.and_then(|t| t.tracestate.clone()),
    }
}

/// Renames the exported span of `span` (its OpenTelemetry span exists as
/// soon as its context was read, after which `otel.name` is not looked at).
/// The name is built only when spans are exported: this runs on every request.
pub fn rename_span(span: &tracing::Span, name: impl FnOnce() -> String) {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    if exporting_spans() {
        span.context().span().update_name(name());
    }
}

/// A W3C context as a remote OpenTelemetry span context.
fn remote(t: &watchme_core::domain::TraceContext) -> opentelemetry::trace::SpanContext {
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    let sampled = t.traceparent.ends_with("-01");
    SpanContext::new(
        TraceId::from_hex(t.trace_id()).unwrap_or(TraceId::INVALID),
        SpanId::from_hex(t.span_id()).unwrap_or(SpanId::INVALID),
        if sampled { TraceFlags::SAMPLED } else { TraceFlags::default() },
        true,
        TraceState::default(),
    )
}

/// Puts a span handling a batch of events into their traces: a child of the
/// first event's context, linked to the others' (one span cannot have
/// several parents). Call before the span is entered.
pub fn follow_events(span: &tracing::Span, events: &[watchme_core::domain::EventEnvelope]) {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    if !exporting_spans() {
        return;
    }
    let mut contexts = events.iter().filter_map(|e| e.trace_context.as_ref());
    if let Some(first) = contexts.next() {
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote(first)));
    }
    for other in contexts.take(32) {
        span.add_link(remote(other));
    }
}

/// Times the `db` spans of the SQL repository methods into
/// `watchme_db_query_duration_seconds{operation}` (a tracing layer, so the
/// adapters only declare spans and the server decides what to measure).
struct DbLatency;

struct DbSpan {
    operation: String,
    started: std::time::Instant,
}

struct OperationName(Option<String>);

impl tracing::field::Visit for OperationName {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "otel.name" {
            self.0 = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "otel.name" {
            self.0 = Some(format!("{value:?}").trim_matches('"').to_owned());
        }
    }
}

impl<S> Layer<S> for DbLatency
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if attrs.metadata().name() != "db" {
            return;
        }
        let mut name = OperationName(None);
        attrs.record(&mut name);
        if let (Some(operation), Some(span)) = (name.0, ctx.span(id)) {
            span.extensions_mut().insert(DbSpan { operation, started: std::time::Instant::now() });
        }
    }

    fn on_close(&self, id: tracing::span::Id, ctx: tracing_subscriber::layer::Context<'_, S>) {
        if let Some(span) = ctx.span(&id) {
            if let Some(db) = span.extensions().get::<DbSpan>() {
                metrics::histogram!("watchme_db_query_duration_seconds", "operation" => db.operation.clone())
                    .record(db.started.elapsed().as_secs_f64());
            }
        }
    }
}
