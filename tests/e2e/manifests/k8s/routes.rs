//! The page's calls routed through the Ingress as ingress-nginx routes them: with
//! `use-regex`, each path is a case-insensitive regular expression matched from the start of
//! the request's path (the query string aside), tried longest first (ties in their order),
//! and the first that matches wins. Only the regex syntax the course's paths use is
//! understood (literals, `.`, `x?`, `x*`, groups); any other is a finding. (ingress-nginx's
//! "Ingress Path Matching" page: paths become `location ~* "^PATH"`, ordered longest first.)

use crate::manifests::container::Findings;

/// The page's calls (client/assets/*.js): method, a path it requests, and the Service that
/// must answer it. A write sent where the Ingress routes it elsewhere would fail in the
/// cluster while passing against `minibus client`, which serves both `/posts` and
/// `/posts/create`.
const PAGE_CALLS: [(&str, &str, &str); 6] = [
    ("POST", "/posts/create", "posts-clusterip-srv"),
    ("GET", "/posts", "query-srv"),
    ("POST", "/posts/0123456789abcdef/comments", "comments-srv"),
    ("GET", "/bus/events/stream", "client-srv"),
    ("POST", "/bus/subscriptions/query/pause", "client-srv"),
    ("GET", "/", "client-srv"),
];

/// Each of [`PAGE_CALLS`] must reach its Service through `routes` (Ingress path → Service).
pub(super) fn check_page_calls(routes: &[(&str, &str)], f: &mut Findings) {
    for (method, path, wanted) in PAGE_CALLS {
        let reached = route(routes, path, f);
        f.check(reached == Some(wanted), || {
            format!(
                "the page's {method} {path} reaches {reached:?} through the Ingress, not {wanted}"
            )
        });
    }
}

/// The Service ingress-nginx sends `path` to.
fn route<'a>(routes: &[(&str, &'a str)], path: &str, f: &mut Findings) -> Option<&'a str> {
    let mut by_length: Vec<_> = routes.to_vec();
    by_length.sort_by_key(|(pattern, _)| std::cmp::Reverse(pattern.len()));
    let text: Vec<char> = path.chars().collect();
    by_length.into_iter().find_map(|(pattern, service)| {
        let atoms = parse(pattern).map_err(|e| f.0.push(e)).ok()?;
        matches_start(&atoms, &text).then_some(service)
    })
}

/// One character class of a pattern and how often it may occur.
#[derive(Clone, Copy)]
enum Atom {
    /// This character (either case).
    Char(char),
    /// Any character (`.`).
    Any,
}

#[derive(Clone, Copy)]
enum Times {
    Once,
    AtMostOnce,
    Any,
}

fn parse(pattern: &str) -> Result<Vec<(Atom, Times)>, String> {
    let mut atoms: Vec<(Atom, Times)> = Vec::new();
    for c in pattern.chars() {
        match c {
            '(' | ')' => {}
            '.' => atoms.push((Atom::Any, Times::Once)),
            '?' | '*' => {
                let last = atoms
                    .last_mut()
                    .ok_or(format!("Ingress path {pattern}: {c} first"))?;
                last.1 = if c == '?' {
                    Times::AtMostOnce
                } else {
                    Times::Any
                };
            }
            '[' | ']' | '{' | '}' | '+' | '|' | '\\' | '^' | '$' => {
                return Err(format!(
                    "Ingress path {pattern}: `{c}` is not understood here"
                ));
            }
            c => atoms.push((Atom::Char(c), Times::Once)),
        }
    }
    Ok(atoms)
}

/// Whether `atoms` match a beginning of `text` (backtracking; the patterns are tiny).
fn matches_start(atoms: &[(Atom, Times)], text: &[char]) -> bool {
    let Some(((atom, times), rest)) = atoms.split_first() else {
        return true;
    };
    let fits = |c: &char| match atom {
        Atom::Any => true,
        Atom::Char(a) => a.eq_ignore_ascii_case(c),
    };
    let one = || text.first().is_some_and(fits) && matches_start(rest, &text[1..]);
    match times {
        Times::Once => one(),
        Times::AtMostOnce => one() || matches_start(rest, text),
        Times::Any => {
            let most = text.iter().take_while(|c| fits(c)).count();
            (0..=most).rev().any(|n| matches_start(rest, &text[n..]))
        }
    }
}

#[test]
fn the_page_posts_to_the_paths_the_ingress_gives_posts_and_comments() {
    let assets = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("client/assets");
    let posts = std::fs::read_to_string(assets.join("posts.js")).expect("read posts.js");
    assert!(
        posts.contains(r#"call("POST", "/posts/create""#),
        "posts.js writes a post"
    );
    assert!(
        !posts.contains(r#"call("POST", "/posts","#),
        "POST /posts reaches query"
    );
    assert!(posts.contains("/posts/${encodeURIComponent(postId)}/comments`"));
}

#[test]
fn an_ingress_without_the_create_route_sends_the_page_s_post_to_query() {
    let course = [
        ("/posts/create", "posts-clusterip-srv"),
        ("/posts", "query-srv"),
        ("/posts/?(.*)/comments", "comments-srv"),
        ("/?(.*)", "client-srv"),
    ];
    let mut found = Findings::default();
    check_page_calls(&course, &mut found);
    assert!(found.0.is_empty(), "{:?}", found.0);
    check_page_calls(&course[1..], &mut found);
    assert_eq!(found.0.len(), 1, "{:?}", found.0);
    assert!(found.0[0].contains("POST /posts/create reaches Some(\"query-srv\")"));
    let mut found = Findings::default();
    check_page_calls(&[("/posts/[a-z]+/comments", "comments-srv")], &mut found);
    assert!(found.0.iter().any(|f| f.contains("is not understood")));
}
