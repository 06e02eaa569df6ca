//! The store against real sled in a temp dir.

use super::*;
use crate::events::{BlogEvent, CommentCreated, CommentUpdated, PostCreated};

fn events() -> Vec<BlogEvent> {
    vec![
        BlogEvent::PostCreated(PostCreated {
            id: "p".into(),
            title: "t".into(),
        }),
        BlogEvent::PostCreated(PostCreated {
            id: "q".into(),
            title: "u".into(),
        }),
        BlogEvent::CommentCreated(CommentCreated {
            id: "c".into(),
            content: "x".into(),
            post_id: "q".into(),
            status: "pending".into(),
        }),
        BlogEvent::CommentCreated(CommentCreated {
            id: "d".into(),
            content: "y".into(),
            post_id: "p".into(),
            status: "pending".into(),
        }),
        BlogEvent::CommentUpdated(CommentUpdated {
            id: "c".into(),
            content: None,
            post_id: "q".into(),
            status: "approved".into(),
            version: Some(1),
        }),
    ]
}

/// Applies `events` at seqs 1, 2… to `projection` and `store` as the handler does.
fn apply_all(store: &ProjectionStore, projection: &mut Projection, events: &[BlogEvent]) {
    for (seq, event) in (1..).zip(events) {
        let change = projection.plan(seq, event).expect("applies");
        store
            .write(entry(&change).into_iter().collect(), seq)
            .expect("written");
        projection.commit(change);
    }
}

#[test]
fn what_is_written_loads_back_the_same_with_its_checkpoint() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut projection = Projection::default();
    {
        let store = ProjectionStore::open(dir.path(), 8).expect("open");
        assert!(
            store.load().expect("load").applied.is_none(),
            "no state yet"
        );
        apply_all(&store, &mut projection, &events());
        store.set_log_id("log-1").expect("log id");
        store.flush().expect("flush");
    }
    let store = ProjectionStore::open(dir.path(), 8).expect("open again");
    let saved = store.load().expect("load");
    assert_eq!(saved.applied, Some(5));
    assert_eq!(saved.log_id.as_deref(), Some("log-1"));
    let json = |p: &Projection| serde_json::to_string(p).expect("JSON");
    assert_eq!(json(&saved.projection), json(&projection));
    // The versions came back too: an older update is still ignored.
    let older = &events()[4];
    assert_eq!(saved.projection.plan(6, older), Ok(Change::Nothing));
}

#[test]
fn cleared_state_is_gone_and_state_without_a_checkpoint_is_dropped() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = ProjectionStore::open(dir.path(), 8).expect("open");
    apply_all(&store, &mut Projection::default(), &events());
    store.clear().expect("clear");
    let saved = store.load().expect("load");
    assert_eq!((saved.applied, saved.projection.len()), (None, 0));

    // A clear cut short after the checkpoint went: the posts left are dropped at load.
    apply_all(&store, &mut Projection::default(), &events());
    store.tree.remove(APPLIED).expect("remove");
    let saved = store.load().expect("load");
    assert_eq!((saved.applied, saved.projection.len()), (None, 0));
    assert_eq!(store.tree.len(), 0);
}
