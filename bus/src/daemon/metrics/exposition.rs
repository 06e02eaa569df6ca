//! The two text formats `GET /metrics` serves, chosen by the request's `Accept` as
//! Prometheus scrapers negotiate it: OpenMetrics 1.0.0, which prometheus_client encodes,
//! and the classic Prometheus text format 0.0.4, derived from it here (the crate has no
//! encoder of its own for it).

/// A text format of `GET /metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exposition {
    /// The classic Prometheus text format, version 0.0.4: the default.
    Classic,
    /// OpenMetrics 1.0.0, for a client whose `Accept` prefers it.
    OpenMetrics,
}

/// An `Accept` media range of a format we serve, as it ranks: q-value in thousandths, then
/// how specific the range is (`*/*` < `text/*` < a full type); the first listed wins ties.
type Rank = (u16, u8);

impl Exposition {
    /// The format an `Accept` header (all its values joined by `,`; empty when there is
    /// none) asks for: OpenMetrics when `application/openmetrics-text` (version 1.0.0 or
    /// none) ranks above every range that accepts classic text (`text/plain` version 0.0.4
    /// or none, `text/*`, `*/*`); classic text otherwise, including without `Accept` or
    /// when nothing listed is served.
    pub(crate) fn negotiate(accept: &str) -> Self {
        let mut best: Option<(Rank, Self)> = None;
        for range in accept.split(',') {
            let Some((rank, format)) = Self::ranked(range) else {
                continue;
            };
            if best.is_none_or(|(top, _)| rank > top) {
                best = Some((rank, format));
            }
        }
        best.map_or(Self::Classic, |(_, format)| format)
    }

    /// The format one media range of `Accept` names and its rank; `None` for a range we
    /// do not serve, or refused with `q=0`.
    fn ranked(range: &str) -> Option<(Rank, Self)> {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let (mut q, mut version) = (1000, None);
        for param in parts {
            let (name, value) = param.split_once('=')?;
            let value = value.trim().trim_matches('"');
            match name.trim().to_ascii_lowercase().as_str() {
                "q" => q = thousandths(value)?,
                "version" => version = Some(value.to_owned()),
                _ => {}
            }
        }
        let is = |wanted: &str| version.as_deref().is_none_or(|v| v == wanted);
        let (format, specificity) = match media.as_str() {
            "application/openmetrics-text" if is("1.0.0") => (Self::OpenMetrics, 2),
            "text/plain" if is("0.0.4") => (Self::Classic, 2),
            "text/*" => (Self::Classic, 1),
            "*/*" => (Self::Classic, 0),
            _ => return None,
        };
        (q > 0).then_some(((q, specificity), format))
    }

    /// The `Content-Type` of a body in this format.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Self::Classic => "text/plain; version=0.0.4; charset=utf-8",
            Self::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// A q-value (`0` to `1`, at most three decimals) in thousandths; `None` when malformed.
fn thousandths(q: &str) -> Option<u16> {
    let value: f32 = q.parse().ok()?;
    // In 0..=1 and rounded, so the cast neither truncates nor wraps.
    (0.0..=1.0)
        .contains(&value)
        .then(|| (value * 1000.0).round() as u16)
}

/// The classic text form of an OpenMetrics exposition as prometheus_client writes it (no
/// exemplars, no units): without the `# EOF` line, and with each counter family named as
/// its samples are (`minibus_events_appended_total`), since classic text has no
/// `_total` suffix of its own and reads a sample under another name as another family.
pub(super) fn classic_from_openmetrics(openmetrics: &str) -> String {
    let counters: Vec<&str> = openmetrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.strip_suffix(" counter"))
        .collect();
    let mut classic = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        classic.push_str(&counter_renamed(line, &counters).unwrap_or_else(|| line.to_owned()));
        classic.push('\n');
    }
    classic
}

/// `line` with its family name suffixed by `_total` if it is the `# HELP` or `# TYPE` line
/// of one of `counters`; `None` for any other line.
fn counter_renamed(line: &str, counters: &[&str]) -> Option<String> {
    let (keyword, rest) = ["# HELP ", "# TYPE "]
        .into_iter()
        .find_map(|keyword| Some((keyword, line.strip_prefix(keyword)?)))?;
    let (name, tail) = rest.split_once(' ')?;
    counters
        .contains(&name)
        .then(|| format!("{keyword}{name}_total {tail}"))
}

#[cfg(test)]
mod tests {
    use super::Exposition::{Classic, OpenMetrics};
    use super::*;

    /// What a Prometheus 2.x server sends when scraping.
    const PROMETHEUS: &str = "application/openmetrics-text;version=1.0.0,\
        application/openmetrics-text;version=0.0.1;q=0.75,\
        text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    #[test]
    fn classic_text_unless_openmetrics_is_preferred() {
        for (accept, expected) in [
            ("", Classic),
            ("*/*", Classic),
            ("text/plain", Classic),
            ("text/plain;version=0.0.4", Classic),
            ("application/json", Classic),
            ("text/plain;q=0", Classic),
            (PROMETHEUS, OpenMetrics),
            ("application/openmetrics-text", OpenMetrics),
            (
                "Application/OpenMetrics-Text; Version=\"1.0.0\"",
                OpenMetrics,
            ),
            ("application/openmetrics-text, */*", OpenMetrics),
            ("text/*, application/openmetrics-text", OpenMetrics),
            ("text/plain, application/openmetrics-text", Classic),
            ("application/openmetrics-text, text/plain", OpenMetrics),
            ("application/openmetrics-text;q=0.5, text/plain", Classic),
            ("application/openmetrics-text;q=0.5, */*;q=0.4", OpenMetrics),
            (
                "text/plain;q=0.2, application/openmetrics-text;q=0.3",
                OpenMetrics,
            ),
            ("application/openmetrics-text;version=0.0.1", Classic),
            ("application/openmetrics-text;q=0", Classic),
            ("application/openmetrics-text;q=2", Classic),
            ("application/openmetrics-text;q=x", Classic),
            (
                "text/plain;version=0.0.5, application/openmetrics-text;q=0.1",
                OpenMetrics,
            ),
        ] {
            assert_eq!(
                Exposition::negotiate(accept),
                expected,
                "Accept: {accept:?}"
            );
        }
    }

    #[test]
    fn each_format_says_its_version_in_its_content_type() {
        assert_eq!(
            Classic.content_type(),
            "text/plain; version=0.0.4; charset=utf-8"
        );
        assert_eq!(
            OpenMetrics.content_type(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
    }

    #[test]
    fn the_classic_form_names_counters_as_their_samples_and_has_no_eof() {
        let openmetrics = "# HELP a_events Events.\n# TYPE a_events counter\n\
            a_events_total 3\n# HELP a_head The head.\n# TYPE a_head gauge\na_head 3\n\
            # HELP a_lag_seconds Lag.\n# TYPE a_lag_seconds gauge\n# UNIT a_lag_seconds seconds\n\
            a_lag_seconds{subscription=\"counter\"} 0.5\n# EOF\n";
        assert_eq!(
            classic_from_openmetrics(openmetrics),
            "# HELP a_events_total Events.\n# TYPE a_events_total counter\n\
            a_events_total 3\n# HELP a_head The head.\n# TYPE a_head gauge\na_head 3\n\
            # HELP a_lag_seconds Lag.\n# TYPE a_lag_seconds gauge\n\
            a_lag_seconds{subscription=\"counter\"} 0.5\n"
        );
    }
}
