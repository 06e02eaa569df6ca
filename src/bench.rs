//! `minibus bench`: load against a running bus (placeholder, filled in below).

#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {}

impl BenchCommand {
    pub async fn run(self) -> anyhow::Result<()> {
        match self {}
    }
}
