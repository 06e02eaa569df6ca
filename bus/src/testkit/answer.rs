//! What a [`FakeSubscriber`](super::FakeSubscriber) answers: one [`Answer`] per request,
//! chosen by a script the test changes while it runs.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::collections::{HashMap, VecDeque};
use tokio::sync::Semaphore;

/// How the fake subscriber answers one request.
#[derive(Debug, Clone)]
pub enum Answer {
    /// This status, no particular header.
    Status(u16),
    /// This status with these headers (`Retry-After`, `Location`…).
    WithHeaders(u16, Vec<(&'static str, String)>),
    /// This status with this body.
    WithBody(u16, String),
    /// Never answers (the bus's `timeout_ms` ends it).
    Hang,
    /// Waits for [`FakeSubscriber::release`](super::FakeSubscriber::release), then answers
    /// this status.
    Hold(u16),
}

impl Answer {
    /// The status it answers; `None` when it never does.
    pub fn status(&self) -> Option<u16> {
        match self {
            Answer::Status(s)
            | Answer::WithHeaders(s, _)
            | Answer::WithBody(s, _)
            | Answer::Hold(s) => Some(*s),
            Answer::Hang => None,
        }
    }
}

/// The answers to come, most specific first.
#[derive(Debug)]
pub(crate) struct Script {
    /// Answers for the next requests carrying a seq, used up one each.
    once_for_seq: HashMap<u64, VecDeque<Answer>>,
    /// The answer to every request carrying a seq.
    for_seq: HashMap<u64, Answer>,
    /// Answers for the next requests, in order.
    queue: VecDeque<Answer>,
    /// Otherwise.
    default: Answer,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            once_for_seq: HashMap::new(),
            for_seq: HashMap::new(),
            queue: VecDeque::new(),
            default: Answer::Status(200),
        }
    }
}

impl Script {
    /// The answer to a request carrying `seqs`, using up what it takes.
    pub(crate) fn next(&mut self, seqs: &[u64]) -> Answer {
        for seq in seqs {
            if let Some(answer) = self.once_for_seq.get_mut(seq).and_then(VecDeque::pop_front) {
                return answer;
            }
        }
        if let Some(answer) = seqs.iter().find_map(|s| self.for_seq.get(s)) {
            return answer.clone();
        }
        self.queue
            .pop_front()
            .unwrap_or_else(|| self.default.clone())
    }

    /// Answers the next requests with `answers`, in order, before the default.
    pub(crate) fn queue(&mut self, answers: impl IntoIterator<Item = Answer>) {
        self.queue.extend(answers);
    }

    /// The answer once nothing more specific applies.
    pub(crate) fn set_default(&mut self, answer: Answer) {
        self.default = answer;
    }

    /// `answer` to every request carrying `seq`; `None`: no longer.
    pub(crate) fn for_seq(&mut self, seq: u64, answer: Option<Answer>) {
        match answer {
            Some(answer) => self.for_seq.insert(seq, answer),
            None => self.for_seq.remove(&seq),
        };
    }

    /// `answer` to the next request carrying `seq`, once (after those already set for it).
    pub(crate) fn once_for_seq(&mut self, seq: u64, answer: Answer) {
        self.once_for_seq.entry(seq).or_default().push_back(answer);
    }
}

/// Builds the scripted answer (waiting first for a [`Answer::Hold`], forever for a
/// [`Answer::Hang`]).
pub(crate) async fn respond(answer: Answer, gate: &Semaphore) -> Response {
    let (status, headers, body) = match answer {
        Answer::Status(status) => (status, Vec::new(), None),
        Answer::WithHeaders(status, headers) => (status, headers, None),
        Answer::WithBody(status, text) => (status, Vec::new(), Some(text)),
        Answer::Hang => std::future::pending().await,
        Answer::Hold(status) => {
            gate.acquire().await.expect("the gate stays open").forget();
            (status, Vec::new(), None)
        }
    };
    let status_code = StatusCode::from_u16(status).expect("a status");
    let body = body.unwrap_or_else(|| format!("scripted {status}"));
    let mut response = (status_code, body).into_response();
    for (name, value) in headers {
        let value = value.parse().expect("a header value");
        response.headers_mut().insert(name, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statuses(script: &mut Script, requests: &[&[u64]]) -> Vec<Option<u16>> {
        requests
            .iter()
            .map(|seqs| script.next(seqs).status())
            .collect()
    }

    #[test]
    fn the_most_specific_answer_wins_and_once_answers_are_used_up() {
        let mut script = Script::default();
        script.queue([Answer::Status(500), Answer::Status(502)]);
        script.for_seq(7, Some(Answer::Status(410)));
        script.once_for_seq(7, Answer::Hang);
        let got = statuses(&mut script, &[&[7], &[7], &[1], &[2], &[3]]);
        assert_eq!(got, [None, Some(410), Some(500), Some(502), Some(200)]);
        script.for_seq(7, None);
        script.set_default(Answer::Status(204));
        assert_eq!(statuses(&mut script, &[&[7]]), [Some(204)]);
    }
}
