//! The fake model: no weights, the same answer for the same request.
//!
//! It answers `You said: ` and then the last user message, cut to
//! [`MAX_ECHO_TOKENS`] tokens (a conversation with no user text gets [`GREETING`]),
//! one token at a time. A token is a run of whitespace and the word after it, as
//! GPT tokenizers tend to split (`"Hello"`, `" world"`, `"\n\nNext"`), so the tokens
//! joined are exactly the text. A request's `max_tokens` cuts the answer there
//! (`finish_reason: "length"`).
//!
//! A last user message that contains [`FAIL_MARKER`] (`please fail`) makes the model
//! fail after [`FAIL_AFTER`] tokens, as a real model or its upstream can after the
//! response has begun: a streamed answer then ends with one error event in OpenAI's
//! shape, a non-streamed one is a 500.

use crate::openai::{ChatRequest, FinishReason, Usage};

/// What the model says when the conversation has no user text.
pub const GREETING: &str =
    "Hello! I am a fake model: I answer with what you said, one token at a time.";

/// The start of every answer to a user message.
pub const PREFIX: &str = "You said: ";

/// At most this many tokens of the user's message are echoed.
pub const MAX_ECHO_TOKENS: usize = 256;

/// A user message containing this makes the model fail mid-answer.
pub const FAIL_MARKER: &str = "please fail";

/// How many tokens the model sends before it fails (see [`FAIL_MARKER`]).
pub const FAIL_AFTER: usize = 3;

/// The model's answer to one request, decided before the first token is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The tokens, in order.
    pub tokens: Vec<String>,
    /// Why the answer ends: `stop`, or `length` when `max_tokens` cut it.
    pub finish: FinishReason,
    /// `Some(n)`: the model fails after its first `n` tokens.
    pub fail_after: Option<usize>,
    /// Tokens of the request's messages.
    pub prompt_tokens: u64,
}

impl Answer {
    /// The model's answer to `request`.
    #[must_use]
    pub fn to(request: &ChatRequest) -> Self {
        let said = request.last_user_text();
        let text = if said.trim().is_empty() {
            GREETING.to_owned()
        } else {
            let echo: String = tokens(said).take(MAX_ECHO_TOKENS).collect();
            format!("{PREFIX}{echo}")
        };
        let mut answer: Vec<String> = tokens(&text).map(str::to_owned).collect();
        let limit = request
            .max_tokens
            .and_then(|max| usize::try_from(max).ok())
            .unwrap_or(usize::MAX);
        let finish = if answer.len() > limit {
            answer.truncate(limit);
            FinishReason::Length
        } else {
            FinishReason::Stop
        };
        let fail_after = said
            .contains(FAIL_MARKER)
            .then(|| FAIL_AFTER.min(answer.len()));
        let prompt_tokens = request
            .messages
            .iter()
            .map(|message| count(tokens(&message.content)))
            .sum();
        Self {
            tokens: answer,
            finish,
            fail_after,
            prompt_tokens,
        }
    }

    /// The whole text of the answer.
    #[must_use]
    pub fn text(&self) -> String {
        self.tokens.concat()
    }

    /// The counts once the answer is complete.
    #[must_use]
    pub fn usage(&self) -> Usage {
        Usage {
            prompt_tokens: self.prompt_tokens,
            completion_tokens: count(self.tokens.iter()),
        }
    }
}

fn count<T>(items: impl Iterator<Item = T>) -> u64 {
    items.fold(0, |n, _| n + 1)
}

/// Splits `text` into tokens: each is a run of whitespace (possibly empty, for the
/// first) followed by a run of anything else. Joined, they are `text`.
pub fn tokens(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let word = rest
            .find(|c: char| !c.is_whitespace())
            .unwrap_or(rest.len());
        let end = rest[word..]
            .find(char::is_whitespace)
            .map_or(rest.len(), |n| word + n);
        let (token, tail) = rest.split_at(end);
        rest = tail;
        Some(token)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::openai::Message;

    fn request(said: &str, max_tokens: Option<u64>) -> ChatRequest {
        ChatRequest {
            model: "fake".into(),
            messages: vec![
                Message {
                    role: "system".into(),
                    content: "be brief".into(),
                },
                Message {
                    role: "user".into(),
                    content: said.into(),
                },
            ],
            stream: true,
            include_usage: true,
            max_tokens,
            resumable: false,
        }
    }

    #[test]
    fn tokens_join_back_to_the_text() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            ("Hello", &["Hello"]),
            ("Hello world", &["Hello", " world"]),
            ("  lead", &["  lead"]),
            ("trail  ", &["trail", "  "]),
            ("a\n\nb\tc", &["a", "\n\nb", "\tc"]),
            ("é 😀 日本", &["é", " 😀", " 日本"]),
        ];
        for (text, want) in cases {
            let got: Vec<&str> = tokens(text).collect();
            assert_eq!(&got, want, "{text:?}");
            assert_eq!(got.concat(), *text);
        }
    }

    #[test]
    fn the_answer_echoes_the_last_user_message() {
        let answer = Answer::to(&request("Hello  there\nfriend", None));
        assert_eq!(answer.text(), "You said: Hello  there\nfriend");
        assert_eq!(
            answer.tokens,
            ["You", " said:", " Hello", "  there", "\nfriend"]
        );
        assert_eq!(answer.finish, FinishReason::Stop);
        assert_eq!(answer.fail_after, None);
        assert_eq!(answer.prompt_tokens, 2 + 3);
        assert_eq!(answer.usage().completion_tokens, 5);
        // Deterministic.
        assert_eq!(answer, Answer::to(&request("Hello  there\nfriend", None)));
    }

    #[test]
    fn no_user_text_gets_the_greeting() {
        assert_eq!(Answer::to(&request("  ", None)).text(), GREETING);
    }

    #[test]
    fn max_tokens_cuts_the_answer() {
        let answer = Answer::to(&request("one two three", Some(2)));
        assert_eq!(answer.tokens, ["You", " said:"]);
        assert_eq!(answer.finish, FinishReason::Length);
        let exact = Answer::to(&request("one", Some(3)));
        assert_eq!(exact.finish, FinishReason::Stop);
    }

    #[test]
    fn long_messages_are_cut_to_the_echo_limit() {
        let said = "word ".repeat(1000);
        let answer = Answer::to(&request(&said, None));
        assert_eq!(answer.tokens.len(), 2 + MAX_ECHO_TOKENS);
    }

    #[test]
    fn the_fail_marker_fails_after_a_few_tokens() {
        let answer = Answer::to(&request("now please fail, thanks", None));
        assert_eq!(answer.fail_after, Some(FAIL_AFTER));
        let short = Answer::to(&request("please fail", Some(1)));
        assert_eq!(short.fail_after, Some(1));
    }
}
