//! `minibus events publish TYPE [DATA]`: one event, with the SDK's [`Publisher`], so that it
//! always carries an id and a retry can never append it twice.

use super::{explain, BusArgs, Out, Subject};
use anyhow::Context;
use bus::envelope::NewEvent;
use bus::sdk::Publisher;
use serde_json::value::RawValue;

/// Flags of `minibus events publish`.
#[derive(Debug, clap::Args)]
pub(crate) struct PublishArgs {
    /// The event's type.
    #[arg(value_name = "TYPE")]
    ty: String,
    /// The event's data, as JSON text (`'{"id":"p1"}'`, `'"text"'`); `null` when absent.
    data: Option<String>,
    /// The stream (aggregate) the event belongs to; the bus gives it its version there.
    #[arg(long, env = "MINIBUS_PUBLISH_STREAM")]
    stream: Option<String>,
    /// The event's id, its idempotency key (default: a new UUIDv7).
    #[arg(long, env = "MINIBUS_PUBLISH_ID")]
    id: Option<String>,
    /// Append only if the stream is at this version (0: the stream must not exist yet).
    #[arg(long, env = "MINIBUS_PUBLISH_EXPECTED_VERSION", requires = "stream")]
    expected_version: Option<u64>,
    #[command(flatten)]
    bus: BusArgs,
}

/// Publishes the event and prints where it went.
pub(crate) async fn run(args: PublishArgs) -> anyhow::Result<()> {
    let data = args
        .data
        .map(RawValue::from_string)
        .transpose()
        .context("DATA is not JSON (quote a string as '\"text\"')")?;
    let event = NewEvent {
        id: args.id,
        ty: args.ty,
        data,
        stream: args.stream,
        expected_version: args.expected_version,
        source: None,
        correlation_id: None,
        causation_id: None,
    };
    let publisher = Publisher::new(args.bus.url()?.as_str(), args.bus.token.clone())
        .with_timeout(args.bus.request_timeout());
    let reply = publisher
        .publish(event)
        .await
        .map_err(|e| explain(e, &args.bus, Subject::Bus))?;
    let text = if args.bus.json {
        serde_json::to_string(&reply)?
    } else {
        let version = reply.version.map(|v| format!("  version {v}"));
        format!(
            "seq {}  id {}{}",
            reply.seq,
            reply.id,
            version.unwrap_or_default()
        )
    };
    Out::new().text(&text)
}
