//! `POST /v1/chat/completions`: the handler, and the generation task that feeds a
//! streamed answer through `Sse::channel` and stops the moment the client is gone.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use sse_axum::channel::EventSender;
use sse_axum::compress::Compression;
use sse_axum::{AcceptEncoding, End, Event, Sse};

use crate::metrics::{Metrics, WorkEnd};
use crate::model::{Answer, FAIL_MARKER};
use crate::openai::{ApiError, ChatRequest, Completion};
use crate::store::{AnswerEnd, AnswerStore};
use crate::App;

/// Events the generation may be ahead of the client.
const CHANNEL_CAPACITY: usize = 16;

/// Reads a request body of at most `limit` bytes.
pub(crate) async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
            Err(ApiError::too_large(limit))
        }
        Err(_) => Err(ApiError::invalid(
            "The request body could not be read.",
            None,
            None,
        )),
    }
}

/// `POST /v1/chat/completions`.
pub(crate) async fn completions(
    State(app): State<App>,
    accept: AcceptEncoding,
    body: Body,
) -> Response {
    let request = match read_body(body, app.config.max_body)
        .await
        .and_then(|body| ChatRequest::parse(&body))
    {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    let answer = Answer::to(&request);
    let completion = Completion {
        id: app.next_answer_id(),
        created: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs()),
        model: request.model.clone(),
        include_usage: request.include_usage,
    };
    if !request.stream {
        return whole(&app.config.metrics, &completion, &answer);
    }

    let (sender, sse) = Sse::channel(CHANNEL_CAPACITY);
    let metrics = app.config.metrics.clone();
    metrics.stream_opened();
    tokio::spawn(
        Generation {
            sender,
            completion,
            answer,
            pace: app.config.token_interval,
            event_ids: app.config.event_ids,
            metrics: metrics.clone(),
            store: app.config.store.clone(),
            seq: 0,
        }
        .run(),
    );
    sse.end_event(Event::default().data("[DONE]"))
        .on_error(|error| {
            Event::default().data(ApiError::model_failure(error.to_string()).to_json())
        })
        .on_end(move |outcome| metrics.stream_ended(&outcome))
        .keep_alive(app.config.keep_alive_config())
        .shutdown(app.stop.clone(), None)
        .compress(Compression::default(), &accept)
        .into_response()
}

/// The answer in one `chat.completion` (`stream: false`), or a 500 if the model
/// fails.
fn whole(metrics: &Metrics, completion: &Completion, answer: &Answer) -> Response {
    if let Some(after) = answer.fail_after {
        metrics.generation(WorkEnd::Failed);
        return ApiError::model_failure(ModelFailure { after }.to_string()).into_response();
    }
    metrics.generation(WorkEnd::Completed);
    (
        [(CONTENT_TYPE, "application/json")],
        completion.full(&answer.text(), answer.finish, answer.usage()),
    )
        .into_response()
}

/// The fake model's failure (see [`FAIL_MARKER`]).
#[derive(Debug)]
struct ModelFailure {
    after: usize,
}

impl fmt::Display for ModelFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the model failed after {} tokens (simulated: the message asked for it with \
             \"{FAIL_MARKER}\")",
            self.after
        )
    }
}

impl std::error::Error for ModelFailure {}

/// One streamed answer being generated.
struct Generation {
    sender: EventSender,
    completion: Completion,
    answer: Answer,
    pace: Duration,
    event_ids: bool,
    metrics: Metrics,
    store: Arc<dyn AnswerStore>,
    // The next chunk's number (its `id:` with `event_ids`).
    seq: u64,
}

impl Generation {
    async fn run(mut self) {
        let end = self.generate().await;
        self.store.end(&self.completion.id, end).await;
        self.metrics.generation(match end {
            AnswerEnd::Completed => WorkEnd::Completed,
            AnswerEnd::Failed => WorkEnd::Failed,
            AnswerEnd::Cancelled => WorkEnd::Cancelled,
        });
        // Dropping the sender ends the stream: `[DONE]` after a completed answer.
    }

    /// Sends the answer: after one token interval (the model reading the prompt) the
    /// role chunk and the first token, then a token every interval, the finish chunk
    /// and, if asked, the usage chunk.
    async fn generate(&mut self) -> AnswerEnd {
        let count = self.answer.tokens.len();
        if self.wait().await.is_err() {
            return AnswerEnd::Cancelled;
        }
        if self.send(self.completion.role_chunk()).await.is_err() {
            return AnswerEnd::Cancelled;
        }
        for i in 0..=count {
            if self.answer.fail_after == Some(i) {
                if i > 0 && self.wait().await.is_err() {
                    return AnswerEnd::Cancelled;
                }
                let _ = self.sender.clone().fail(ModelFailure { after: i }).await;
                return AnswerEnd::Failed;
            }
            let Some(token) = self.answer.tokens.get(i) else {
                break;
            };
            if i > 0 && self.wait().await.is_err() {
                return AnswerEnd::Cancelled;
            }
            let chunk = self.completion.token_chunk(token);
            if self.send(chunk).await.is_err() {
                return AnswerEnd::Cancelled;
            }
            self.metrics.token_sent();
        }
        let finish = self.completion.finish_chunk(self.answer.finish);
        if self.send(finish).await.is_err() {
            return AnswerEnd::Cancelled;
        }
        if self.completion.include_usage {
            let usage = self.completion.usage_chunk(self.answer.usage());
            if self.send(usage).await.is_err() {
                return AnswerEnd::Cancelled;
            }
        }
        AnswerEnd::Completed
    }

    /// One token interval, unless the stream ends first.
    async fn wait(&self) -> Result<(), End> {
        tokio::select! {
            biased;
            end = self.sender.cancelled() => Err(end),
            () = tokio::time::sleep(self.pace) => Ok(()),
        }
    }

    /// Stores and sends one chunk, unless the stream ends first.
    async fn send(&mut self, data: String) -> Result<(), End> {
        self.store.chunk(&self.completion.id, self.seq, &data).await;
        let mut event = Event::default().data(data);
        if self.event_ids {
            event = event.id(self.seq);
        }
        self.seq += 1;
        tokio::select! {
            biased;
            end = self.sender.cancelled() => Err(end),
            sent = self.sender.send(event) => sent.map_err(|_| End::ClientGone),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::Mutex;

    use http_body_util::BodyExt;

    use super::*;
    use crate::openai::Message;
    use crate::store::StoreFuture;

    /// Keeps what the generation tells its store.
    #[derive(Debug, Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl AnswerStore for Arc<Recorder> {
        fn chunk<'a>(&'a self, answer: &'a str, seq: u64, data: &'a str) -> StoreFuture<'a> {
            let json: serde_json::Value = serde_json::from_str(data).unwrap();
            self.0
                .lock()
                .unwrap()
                .push(format!("{answer} {seq} {}", json["object"]));
            Box::pin(std::future::ready(()))
        }

        fn end<'a>(&'a self, answer: &'a str, end: AnswerEnd) -> StoreFuture<'a> {
            self.0.lock().unwrap().push(format!("{answer} {end:?}"));
            Box::pin(std::future::ready(()))
        }
    }

    fn generation(
        said: &str,
        store: Arc<Recorder>,
    ) -> (
        Generation,
        sse_axum::SseBody<sse_axum::channel::EventReceiver>,
    ) {
        let request = ChatRequest {
            model: "m".into(),
            messages: vec![Message {
                role: "user".into(),
                content: said.into(),
            }],
            stream: true,
            include_usage: true,
            max_tokens: None,
        };
        let (sender, body) = sse_axum::channel::body(4);
        let generation = Generation {
            sender,
            completion: Completion {
                id: "a1".into(),
                created: 0,
                model: "m".into(),
                include_usage: true,
            },
            answer: Answer::to(&request),
            pace: Duration::from_millis(30),
            event_ids: true,
            metrics: Metrics::new(),
            store: Arc::new(store),
            seq: 0,
        };
        (generation, body.end_event(Event::default().data("[DONE]")))
    }

    #[tokio::test(start_paused = true)]
    async fn every_chunk_goes_to_the_store_then_to_the_client() {
        let store = Arc::new(Recorder::default());
        let (generation, body) = generation("hi", store.clone());
        let metrics = generation.metrics.clone();
        let task = tokio::spawn(generation.run());
        let bytes = body.collect().await.unwrap().to_bytes();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        let ids: Vec<&str> = text.lines().filter(|l| l.starts_with("id: ")).collect();
        assert_eq!(ids, ["id: 0", "id: 1", "id: 2", "id: 3", "id: 4", "id: 5"]);
        assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
        task.await.unwrap();
        let recorded = store.0.lock().unwrap().clone();
        assert_eq!(recorded.len(), 7, "{recorded:?}");
        assert_eq!(recorded[0], "a1 0 \"chat.completion.chunk\"");
        assert_eq!(recorded[6], "a1 Completed");
        assert_eq!(metrics.snapshot().completed, 1);
        assert_eq!(metrics.snapshot().tokens_sent, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_leaves_cancels_at_once() {
        let store = Arc::new(Recorder::default());
        let (generation, mut body) = generation("one two three four", store.clone());
        let metrics = generation.metrics.clone();
        let task = tokio::spawn(generation.run());
        // The role chunk and the first token, then the client leaves.
        body.frame().await.unwrap().unwrap();
        drop(body);
        task.await.unwrap();
        assert_eq!(metrics.snapshot().cancelled, 1);
        assert!(metrics.snapshot().tokens_sent <= 2);
        assert_eq!(store.0.lock().unwrap().last().unwrap(), "a1 Cancelled");
    }

    #[tokio::test(start_paused = true)]
    async fn the_fail_marker_ends_with_the_error() {
        let (generation, body) = generation("a b please fail", Arc::default());
        let metrics = generation.metrics.clone();
        let task = tokio::spawn(generation.run());
        let body = body.on_error(|error| Event::default().data(format!("error: {error}")));
        let text = String::from_utf8(body.collect().await.unwrap().to_bytes().to_vec()).unwrap();
        assert!(text.ends_with("data: error: the model failed after 3 tokens (simulated: the message asked for it with \"please fail\")\n\n"), "{text}");
        assert!(!text.contains("[DONE]"));
        task.await.unwrap();
        assert_eq!(metrics.snapshot().failed, 1);
    }
}
