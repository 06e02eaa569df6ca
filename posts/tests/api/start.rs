//! Starting against a bus that requires a token: the right one is taken; a wrong or missing
//! one stops posts (as comments' refused registration does) instead of serving writes whose
//! events could never be published.

use bus::testkit::{assert_each_cause_said_once, spawn_bus_with, TestService};
use posts::{PostsArgs, RunError};

const TOKEN: &str = "posts-test-token-0123456789";

#[tokio::test]
async fn a_bus_that_refuses_the_token_stops_posts_saying_why_once() {
    let bus = spawn_bus_with(|c| c.token = Some(TOKEN.into())).await;
    for wrong in [Some("a-wrong-token-of-thirty-characters"), None] {
        let dir = tempfile::tempdir().unwrap();
        let mut args = PostsArgs::new(([127, 0, 0, 1], 0).into(), dir.path().into());
        args.service.bus_url = bus.url().into();
        args.service.bus_token = wrong.map(String::from);
        let run = |listener, shutdown| posts::run(listener, args, shutdown);
        let ended = TestService::spawn("posts", run).await.ended().await;
        let Err(error @ RunError::BusRefused(_)) = ended else {
            panic!("{wrong:?}: {ended:?}")
        };
        let printed = assert_each_cause_said_once(&error);
        assert!(
            printed.contains("refused posts' token") && printed.contains("401"),
            "{printed}"
        );
    }
}
