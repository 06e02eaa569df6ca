//! `minibus events tail`: follows the bus's `GET /events/stream`, one line per event, and
//! reconnects with `Last-Event-ID` when the stream drops (the bus restarting), so that no
//! event is missed or printed twice. Ends with status 0 on Ctrl-C or SIGTERM.

use super::sse::{Message, SseParser};
use super::{explain, BusArgs, Out, Subject, Written};
use bus::sdk::Error;
use bus::wire::{headers::LAST_EVENT_ID, Info};
use futures_util::StreamExt;
use std::time::Duration;

/// With a `: keepalive` every 15 s, a stream silent for this long is dead.
const SILENCE: Duration = Duration::from_secs(45);
/// The first wait before reconnecting; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// A long `data` is cut to this many characters in the line for people.
const DATA_WIDTH: usize = 300;

/// Flags of `minibus events tail`.
#[derive(Debug, clap::Args)]
pub(crate) struct TailArgs {
    /// Start after this seq (0: the whole log); by default, the bus's head when tail
    /// starts, so only new events are printed.
    #[arg(long, value_name = "SEQ", env = "MINIBUS_TAIL_AFTER")]
    after: Option<u64>,
    /// Only events of this type (repeat the flag, or separate types with commas).
    #[arg(
        long = "type",
        value_name = "TYPE",
        env = "MINIBUS_TAIL_TYPES",
        value_delimiter = ','
    )]
    types: Vec<String>,
    #[command(flatten)]
    bus: BusArgs,
}

/// Follows the stream until Ctrl-C or SIGTERM (status 0), or an error the bus gave.
pub(crate) async fn run(args: TailArgs) -> anyhow::Result<()> {
    tokio::select! {
        result = async { Tail::new(args)?.follow().await } => result,
        () = interrupted() => Ok(()),
    }
}

/// Ctrl-C or SIGTERM. Not the kit's `shutdown_on_signal`, which logs the signal for a
/// service's operators: here it is how people end the command, and stderr stays quiet.
async fn interrupted() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        },
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Why one connection's stream stopped.
enum Ended {
    /// Nothing reads our output any more (`| head`): stop quietly.
    ReaderGone,
    /// The bus closed it, or it broke or went silent: reconnect.
    Dropped(String),
}

struct Tail {
    args: TailArgs,
    /// The bus's base URL, checked.
    base: reqwest::Url,
    http: reqwest::Client,
    /// The last seq printed (or the start): where the next connection resumes.
    last_seq: u64,
    out: Out,
}

impl Tail {
    fn new(args: TailArgs) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Ok(Self {
            base: args.bus.url()?,
            args,
            http,
            last_seq: 0,
            out: Out::new(),
        })
    }

    /// Connects, prints, and reconnects after a drop. The first connection must succeed;
    /// later ones are retried with backoff while the bus is away, but a 4xx stops.
    async fn follow(mut self) -> anyhow::Result<()> {
        self.last_seq = match self.args.after {
            Some(after) => after,
            None => self.head().await?,
        };
        let mut resuming = false;
        let mut backoff = FIRST_BACKOFF;
        loop {
            // The stream is not limited, but its answer's head is: a bus that takes the
            // connection and never answers is a failed connection.
            let timeout = self.args.bus.request_timeout();
            let Ok(connected) = tokio::time::timeout(timeout, self.connect(resuming)).await else {
                if !resuming {
                    return Err(anyhow::anyhow!(
                        "the bus at {} did not answer within {} s (--request-timeout-secs)",
                        self.args.bus.shown_url(),
                        self.args.bus.request_timeout_secs
                    ));
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            };
            match connected {
                Ok(response) => {
                    if resuming {
                        self.note(&format!(
                            "reconnected, resuming after seq {}",
                            self.last_seq
                        ));
                    }
                    backoff = FIRST_BACKOFF;
                    match self.print_stream(response).await? {
                        Ended::ReaderGone => return Ok(()),
                        Ended::Dropped(why) => self.note(&format!(
                            "the stream dropped ({why}); reconnecting after seq {}",
                            self.last_seq
                        )),
                    }
                }
                Err(e) if !resuming || is_refusal(&e) => {
                    return Err(explain(e, &self.args.bus, Subject::Bus))
                }
                Err(_) => {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
            resuming = true;
        }
    }

    /// The bus's head now (`GET /info`), where a tail without `--after` starts.
    async fn head(&self) -> anyhow::Result<u64> {
        let request = self.http.get(self.url("info"));
        let request = request.timeout(self.args.bus.request_timeout());
        let answer = self.send(request).await;
        let answer = answer.map_err(|e| explain(e, &self.args.bus, Subject::Bus))?;
        let info: Info = answer
            .json()
            .await
            .map_err(|e| explain(e.into(), &self.args.bus, Subject::Bus))?;
        Ok(info.head_seq)
    }

    /// `GET /events/stream` after the last seq: with `after` at first, with
    /// `Last-Event-ID` when resuming, as a browser's `EventSource` does.
    async fn connect(&self, resuming: bool) -> Result<reqwest::Response, Error> {
        let mut query: Vec<(&str, String)> = vec![];
        if !resuming {
            query.push(("after", self.last_seq.to_string()));
        }
        query.extend(self.args.types.iter().map(|t| ("type", t.clone())));
        let mut request = self
            .http
            .get(self.url("events/stream"))
            .query(&query)
            .header(reqwest::header::ACCEPT, "text/event-stream");
        if resuming {
            request = request.header(LAST_EVENT_ID, self.last_seq.to_string());
        }
        self.send(request).await
    }

    /// Sends `request` with the token; a status other than 2xx is [`Error::Rejected`].
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, Error> {
        let request = match &self.args.bus.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        let response = request.send().await?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(Error::rejected(response).await)
    }

    /// Prints every message of one connection's stream until it ends.
    async fn print_stream(&mut self, response: reqwest::Response) -> anyhow::Result<Ended> {
        let mut body = response.bytes_stream();
        let mut parser = SseParser::default();
        loop {
            let chunk = match tokio::time::timeout(SILENCE, body.next()).await {
                Err(_) => return Ok(Ended::Dropped(format!("silent for {SILENCE:?}"))),
                Ok(None) => return Ok(Ended::Dropped("closed by the bus".into())),
                Ok(Some(Err(e))) => return Ok(Ended::Dropped(e.to_string())),
                Ok(Some(Ok(chunk))) => chunk,
            };
            for message in parser.feed(&chunk) {
                if self.print(&message)? == Written::ReaderGone {
                    return Ok(Ended::ReaderGone);
                }
            }
        }
    }

    /// One message as one line, and its seq remembered for a reconnection.
    fn print(&mut self, message: &Message) -> anyhow::Result<Written> {
        if let Some(seq) = message.id.as_deref().and_then(|id| id.parse().ok()) {
            self.last_seq = seq;
        }
        let line = if self.args.bus.json {
            // A newline in JSON text is whitespace outside strings (inside, it is escaped):
            // a space keeps the envelope's meaning on one line.
            message.data.replace(['\n', '\r'], " ")
        } else {
            for_people(&message.data)
        };
        self.out.line(&line)
    }

    /// A line on stderr about the connection, so that stdout holds only events.
    fn note(&self, what: &str) {
        eprintln!("minibus: {}: {what}", self.args.bus.shown_url());
    }

    fn url(&self, path: &str) -> reqwest::Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(path.split('/'));
        }
        url
    }
}

/// A refusal that retrying cannot fix: a 4xx (a wrong token, a bad `--type`).
fn is_refusal(error: &Error) -> bool {
    matches!(
        error,
        Error::Rejected {
            status: 400..=499,
            ..
        }
    )
}

/// `seq  time  type  stream  data`, the data compacted and cut for the screen.
fn for_people(envelope: &str) -> String {
    let Ok(event) = serde_json::from_str::<bus::envelope::Envelope>(envelope) else {
        return envelope.replace(['\n', '\r'], " ");
    };
    let data = super::table::clip(&compact(event.data.get()), DATA_WIDTH);
    let stream = event.stream.as_deref().unwrap_or("-");
    format!(
        "{}  {}  {}  {stream}  {data}",
        event.seq, event.time, event.ty
    )
}

/// JSON text without the whitespace between tokens; strings kept as they are.
fn compact(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            in_string = escaped || c != '"';
            escaped = !escaped && c == '\\';
        } else if c == '"' {
            in_string = true;
        } else if c.is_whitespace() {
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_drops_whitespace_between_tokens_only() {
        let json = "{ \"a b\" : [1, 2],\n \"c\": \"x \\\" y\" }";
        assert_eq!(compact(json), "{\"a b\":[1,2],\"c\":\"x \\\" y\"}");
    }

    #[test]
    fn a_line_for_people_has_seq_time_type_stream_and_data() {
        let envelope = r#"{"seq":7,"id":"e","type":"PostCreated","data":{ "id": "p1" },"stream":"post-p1","version":1,"time":"2026-11-23T17:00:00.123Z"}"#;
        assert_eq!(
            for_people(envelope),
            r#"7  2026-11-23T17:00:00.123Z  PostCreated  post-p1  {"id":"p1"}"#
        );
    }
}
