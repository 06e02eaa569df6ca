//! The flags, the events' layout, the memory figures: no timing.

use super::*;
use clap::{Args, Command as Cli, FromArgMatches};

fn parse(flags: &[&str]) -> QueryRebuildArgs {
    let command = QueryRebuildArgs::augment_args(Cli::new("query-rebuild"));
    command.clone().debug_assert();
    let matches = command
        .try_get_matches_from(std::iter::once("query-rebuild").chain(flags.iter().copied()))
        .expect("valid flags");
    QueryRebuildArgs::from_arg_matches(&matches).expect("the struct")
}

#[test]
fn the_defaults_publish_a_million_and_time_in_memory_only() {
    let args = parse(&[]);
    assert_eq!(args.events, 1_000_000);
    assert!(!args.existing && !args.persist);
    assert_eq!(args.data_dir, None);
    assert_eq!(args.subscription_name, "query-bench");
}

#[test]
fn flags_parse() {
    let args = parse(&[
        "--events",
        "20",
        "--existing",
        "--persist",
        "--data-dir",
        "/x",
    ]);
    assert_eq!(args.events, 20);
    assert!(args.existing && args.persist);
    assert_eq!(args.data_dir, Some(PathBuf::from("/x")));
    assert!(QueryRebuildArgs::augment_args(Cli::new("q"))
        .try_get_matches_from(["q", "--events", "0"])
        .is_err());
}

#[test]
fn a_block_of_ten_is_a_post_four_comments_and_five_versioned_updates() {
    let events = BlogEvents::new();
    let parsed: Vec<serde_json::Value> =
        serde_json::from_str(&events.array(0..20)).expect("an array");
    let types: Vec<&str> = parsed.iter().filter_map(|e| e["type"].as_str()).collect();
    let count = |t: &str| types.iter().filter(|&&x| x == t).count();
    assert_eq!(
        (
            count("PostCreated"),
            count("CommentCreated"),
            count("CommentUpdated")
        ),
        (2, 8, 10)
    );
    let ids: std::collections::BTreeSet<&str> =
        parsed.iter().filter_map(|e| e["id"].as_str()).collect();
    assert_eq!(ids.len(), 20, "event ids are unique");
    let post = parsed[10]["data"]["id"].as_str().expect("post id");
    for e in &parsed[11..20] {
        assert_eq!(e["data"]["postId"].as_str(), Some(post));
    }
    assert_eq!(parsed[5]["data"]["id"], parsed[1]["data"]["id"]);
    assert_eq!(parsed[5]["data"]["version"], 1);
    assert_eq!(parsed[9]["data"]["id"], parsed[1]["data"]["id"]);
    assert_eq!(parsed[9]["data"]["version"], 2);
    let created: query::CommentCreated =
        serde_json::from_value(parsed[2]["data"].clone()).expect("query reads it");
    assert_eq!(
        created.post_id,
        parsed[0]["data"]["id"].as_str().unwrap_or("")
    );
}

#[test]
fn status_lines_read_in_mib() {
    let status = "Name:\tminibus\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n";
    assert_eq!(status_mb(status, "VmRSS:"), Some(10.0));
    assert_eq!(status_mb(status, "VmHWM:"), Some(20.0));
    assert_eq!(status_mb(status, "VmSwap:"), None);
}
