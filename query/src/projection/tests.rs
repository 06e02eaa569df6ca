//! Given these events, when this one arrives, then this projection.

use super::*;

fn post(id: &str, title: &str) -> BlogEvent {
    BlogEvent::PostCreated(PostCreated {
        id: id.into(),
        title: title.into(),
    })
}

fn comment(id: &str, post_id: &str, content: &str) -> BlogEvent {
    BlogEvent::CommentCreated(CommentCreated {
        id: id.into(),
        content: content.into(),
        post_id: post_id.into(),
        status: "pending".into(),
    })
}

fn update(id: &str, post_id: &str, status: &str, version: Option<u64>) -> BlogEvent {
    BlogEvent::CommentUpdated(CommentUpdated {
        id: id.into(),
        content: Some(format!("{status} text")),
        post_id: post_id.into(),
        status: status.into(),
        version,
    })
}

/// A projection after `events`, applied at seqs 1, 2, 3…; each must apply.
fn given(events: &[BlogEvent]) -> Projection {
    let mut projection = Projection::default();
    for (seq, event) in (1..).zip(events) {
        projection.apply(seq, event).expect("applies");
    }
    projection
}

fn shown(projection: &Projection) -> String {
    serde_json::to_string(projection).expect("JSON")
}

#[test]
fn posts_and_comments_show_in_the_courses_shape_and_order() {
    let projection = given(&[
        post("zz", "last id, first post"),
        post("aa", "second"),
        comment("c2", "zz", "b"),
        comment("c1", "zz", "a"),
    ]);
    // Compared as text: the order of the keys is part of the answer.
    let expected = concat!(
        r#"{"zz":{"id":"zz","title":"last id, first post","comments":["#,
        r#"{"id":"c2","content":"b","status":"pending"},"#,
        r#"{"id":"c1","content":"a","status":"pending"}]},"#,
        r#""aa":{"id":"aa","title":"second","comments":[]}}"#
    );
    assert_eq!(shown(&projection), expected);
    assert_eq!(projection.len(), 2);
    assert_eq!(projection.post("aa").map(|p| p.seq), Some(2));
}

#[test]
fn an_update_applies_only_when_newer() {
    let mut projection = given(&[
        post("p", "t"),
        comment("c", "p", "x"),
        update("c", "p", "approved", Some(2)),
    ]);
    projection
        .apply(4, &update("c", "p", "rejected", Some(1)))
        .expect("ignored, not refused");
    projection
        .apply(5, &update("c", "p", "rejected", Some(2)))
        .expect("ignored, not refused");
    let shown = &projection.post("p").expect("p").comments[0];
    assert_eq!(
        (shown.status.as_str(), shown.version),
        ("approved", 2),
        "{shown:?}"
    );
    projection
        .apply(6, &update("c", "p", "rejected", Some(3)))
        .expect("newer");
    assert_eq!(
        projection.post("p").expect("p").comments[0].status,
        "rejected"
    );
}

#[test]
fn an_update_without_a_version_always_applies() {
    let projection = given(&[
        post("p", "t"),
        comment("c", "p", "x"),
        update("c", "p", "approved", None),
        update("c", "p", "rejected", None),
    ]);
    let shown = &projection.post("p").expect("p").comments[0];
    assert_eq!(
        (shown.status.as_str(), shown.content.as_str()),
        ("rejected", "rejected text")
    );
}

#[test]
fn events_that_can_never_apply_are_refused_and_change_nothing() {
    let mut projection = given(&[post("p", "t"), comment("c", "p", "x")]);
    let before = shown(&projection);
    for (event, why) in [
        (
            comment("c9", "nope", "x"),
            Unapplicable::UnknownPost("nope".into()),
        ),
        (
            update("c9", "nope", "approved", Some(1)),
            Unapplicable::UnknownPost("nope".into()),
        ),
        (
            update("c9", "p", "approved", Some(1)),
            Unapplicable::UnknownComment("c9".into()),
        ),
    ] {
        assert_eq!(projection.apply(9, &event), Err(why));
    }
    assert_eq!(shown(&projection), before);
}

#[test]
fn duplicates_change_nothing() {
    let mut projection = given(&[post("p", "t"), comment("c", "p", "x")]);
    let before = shown(&projection);
    assert_eq!(projection.plan(3, &post("p", "other")), Ok(Change::Nothing));
    assert_eq!(
        projection.plan(4, &comment("c", "p", "again")),
        Ok(Change::Nothing)
    );
    projection.apply(5, &BlogEvent::Other).expect("nothing");
    assert_eq!(shown(&projection), before);
}

#[test]
fn a_projection_rebuilt_from_its_posts_is_the_same() {
    let projection = given(&[
        post("p", "t"),
        post("q", "u"),
        comment("c", "p", "x"),
        comment("d", "q", "y"),
        update("c", "p", "approved", Some(1)),
    ]);
    let posts: Vec<Post> = ["p", "q"]
        .iter()
        .map(|id| projection.post(id).expect("a post").clone())
        .collect();
    let mut rebuilt = Projection::from_posts(posts);
    assert_eq!(shown(&rebuilt), shown(&projection));
    // Its indexes work too: an older update is still ignored, a newer one applies.
    rebuilt
        .apply(6, &update("c", "p", "rejected", Some(1)))
        .expect("ignored");
    rebuilt
        .apply(7, &update("d", "q", "rejected", Some(1)))
        .expect("applies");
    assert_eq!(rebuilt.post("p").expect("p").comments[0].status, "approved");
    assert_eq!(rebuilt.post("q").expect("q").comments[0].status, "rejected");
}
