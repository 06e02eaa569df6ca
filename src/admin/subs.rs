//! `minibus subs …`: a running bus's subscriptions, listed, shown and steered (pause,
//! resume, rewind, skip, dead letters), over the SDK's [`Admin`].

use super::{explain, show, BusArgs, Out, Subject};
use bus::sdk::admin::{Admin, Answer};
use bus::sdk::Error;
use bus::wire::RewindRequest;

/// `minibus subs …`: one subcommand per operator action.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum SubsCommand {
    /// Every subscription: state, cursor, head, lag, delivered, dead letters, last error.
    List {
        #[command(flatten)]
        bus: BusArgs,
    },
    /// One subscription's status in full.
    Show(Named),
    /// Pause delivery (the delivery in flight finishes).
    Pause(Named),
    /// Resume delivery, also from `blocked`.
    Resume(Named),
    /// Redeliver after a seq, or from a time, in a new generation.
    Rewind(RewindArgs),
    /// Park the next event due (the one delivery is stuck on) in the dead letters and go on.
    Skip(Named),
    /// List the dead letters, or queue them all for one more attempt.
    DeadLetters(DeadLettersArgs),
}

/// The flags of a command on one subscription.
#[derive(Debug, clap::Args)]
pub(crate) struct Named {
    /// The subscription's name.
    name: String,
    #[command(flatten)]
    bus: BusArgs,
}

/// `minibus subs rewind NAME (--after N | --time T) [--dry-run]`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("from").required(true).args(["after", "time"])))]
pub(crate) struct RewindArgs {
    /// Redeliver the events after this seq (0: from the beginning).
    #[arg(long, value_name = "SEQ", env = "MINIBUS_REWIND_AFTER")]
    after: Option<u64>,
    /// Redeliver from the first event whose time is at or after T (RFC 3339).
    #[arg(long, env = "MINIBUS_REWIND_TIME")]
    time: Option<String>,
    /// Only count what would be redelivered; change nothing.
    #[arg(long, env = "MINIBUS_REWIND_DRY_RUN", value_parser = bus::kit::BoolFlag)]
    dry_run: bool,
    #[command(flatten)]
    named: Named,
}

/// `minibus subs dead-letters NAME [--retry]`.
#[derive(Debug, clap::Args)]
pub(crate) struct DeadLettersArgs {
    /// Queue every dead letter for one more attempt, ahead of the next event.
    #[arg(long, env = "MINIBUS_DEAD_LETTERS_RETRY", value_parser = bus::kit::BoolFlag)]
    retry: bool,
    #[command(flatten)]
    named: Named,
}

impl SubsCommand {
    pub(crate) async fn run(self) -> anyhow::Result<()> {
        match self {
            SubsCommand::List { bus } => {
                let answer = admin(&bus)?.list().await;
                let answer = answered(answer, &bus, Subject::Bus)?;
                print(&bus, &answer, show::status_table(&answer.value))
            }
            SubsCommand::Show(Named { name, bus }) => {
                let answer = answered(admin(&bus)?.status(&name).await, &bus, about(&name))?;
                print(&bus, &answer, show::status_details(&answer.value))
            }
            SubsCommand::Pause(Named { name, bus }) => {
                let answer = answered(admin(&bus)?.pause(&name).await, &bus, about(&name))?;
                print(
                    &bus,
                    &answer,
                    show::status_table(std::slice::from_ref(&answer.value)),
                )
            }
            SubsCommand::Resume(Named { name, bus }) => {
                let answer = answered(admin(&bus)?.resume(&name).await, &bus, about(&name))?;
                print(
                    &bus,
                    &answer,
                    show::status_table(std::slice::from_ref(&answer.value)),
                )
            }
            SubsCommand::Rewind(args) => args.run().await,
            SubsCommand::Skip(Named { name, bus }) => {
                let answer = answered(admin(&bus)?.skip(&name).await, &bus, about(&name))?;
                print(&bus, &answer, show::skipped(&name, &answer.value))
            }
            SubsCommand::DeadLetters(args) => args.run().await,
        }
    }
}

impl RewindArgs {
    async fn run(self) -> anyhow::Result<()> {
        let Named { name, bus } = &self.named;
        let request = RewindRequest {
            after: self.after,
            time: self.time.clone(),
            dry_run: self.dry_run,
        };
        let answer = admin(bus)?.rewind(name, &request).await;
        let answer = answered(answer, bus, about(name))?;
        print(bus, &answer, show::rewound(name, &answer.value))
    }
}

impl DeadLettersArgs {
    async fn run(self) -> anyhow::Result<()> {
        let Named { name, bus } = &self.named;
        let admin = admin(bus)?;
        if self.retry {
            let answer = answered(admin.retry_dead_letters(name).await, bus, about(name))?;
            return print(bus, &answer, show::queued(name, &answer.value));
        }
        let answer = answered(admin.dead_letters(name).await, bus, about(name))?;
        print(bus, &answer, show::dead_letters(name, &answer.value))
    }
}

fn admin(bus: &BusArgs) -> anyhow::Result<Admin> {
    let admin = Admin::new(bus.url()?, bus.token.clone());
    Ok(admin.with_call_timeout(bus.request_timeout()))
}

fn about(name: &str) -> Subject<'_> {
    Subject::Subscription(name)
}

/// The answer, or its error worded for people.
fn answered<T>(
    answer: Result<Answer<T>, Error>,
    bus: &BusArgs,
    subject: Subject<'_>,
) -> anyhow::Result<Answer<T>> {
    answer.map_err(|e| explain(e, bus, subject))
}

/// The bus's JSON as it sent it with `--json`, else `for_people`.
fn print<T>(bus: &BusArgs, answer: &Answer<T>, for_people: String) -> anyhow::Result<()> {
    let out = Out::new();
    if bus.json {
        out.text(answer.json.get())
    } else {
        out.text(&for_people)
    }
}
