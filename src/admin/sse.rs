//! `SseParser`: the messages of a Server-Sent Events body, fed in chunks as they arrive
//! (a chunk may end in the middle of a line, or of a UTF-8 character).

/// One message: its `id:` (the bus's seq) and its `data:` lines joined with `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Message {
    pub(super) id: Option<String>,
    pub(super) data: String,
}

/// Splits an event stream into messages. Lines end with `\n` or `\r\n` (the bus's axum
/// writes `\n`); comments (`: keepalive`) and fields other than `id` and `data` (`retry`,
/// `event`) are skipped.
#[derive(Debug, Default)]
pub(super) struct SseParser {
    /// Bytes of a line not yet ended.
    partial: Vec<u8>,
    id: Option<String>,
    data: Option<String>,
}

impl SseParser {
    /// The messages that `chunk` completes, in order.
    pub(super) fn feed(&mut self, chunk: &[u8]) -> Vec<Message> {
        self.partial.extend_from_slice(chunk);
        let mut messages = Vec::new();
        let mut start = 0;
        while let Some(at) = self.partial[start..].iter().position(|b| *b == b'\n') {
            let end = start + at;
            let line = self.partial[start..end].strip_suffix(b"\r");
            let line = line.unwrap_or(&self.partial[start..end]);
            let line = String::from_utf8_lossy(line).into_owned();
            start = end + 1;
            if let Some(message) = self.line(&line) {
                messages.push(message);
            }
        }
        self.partial.drain(..start);
        messages
    }

    /// Takes one line; an empty line ends the message being built.
    fn line(&mut self, line: &str) -> Option<Message> {
        if line.is_empty() {
            let id = self.id.take();
            return self.data.take().map(|data| Message { id, data });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => self.id = Some(value.to_string()),
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, data: &str) -> Message {
        Message {
            id: Some(id.into()),
            data: data.into(),
        }
    }

    #[test]
    fn messages_are_cut_at_blank_lines_whatever_the_chunks() {
        let body = "retry: 1000\n\nid: 1\ndata: {\"seq\":1}\n\n: keepalive\n\nid: 2\r\ndata: a\r\ndata: b\r\n\r\n";
        let whole = SseParser::default().feed(body.as_bytes());
        let expected = vec![message("1", "{\"seq\":1}"), message("2", "a\nb")];
        assert_eq!(whole, expected);
        let mut parser = SseParser::default();
        let bytewise: Vec<Message> = body
            .as_bytes()
            .chunks(1)
            .flat_map(|byte| parser.feed(byte))
            .collect();
        assert_eq!(bytewise, expected);
    }

    #[test]
    fn a_character_split_across_chunks_is_kept_whole() {
        let body = "id: 3\ndata: \"é\"\n\n".as_bytes();
        let split = body.iter().position(|b| *b == 0xC3).expect("é") + 1;
        let mut parser = SseParser::default();
        assert!(parser.feed(&body[..split]).is_empty());
        assert_eq!(parser.feed(&body[split..]), vec![message("3", "\"é\"")]);
    }
}
