//! `POST /v1/chat/completions`: the handler, and the generation task that feeds a
//! streamed answer through `Sse::channel` and stops the moment the client is gone.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use sse_axum::channel::EventSender;
use sse_axum::compress::Compression;
use sse_axum::{AcceptEncoding, End, Event, LastEventId, Sse};
use tokio::sync::Notify;

use crate::metrics::{Metrics, WorkEnd};
use crate::model::{Answer, FAIL_MARKER};
use crate::openai::{ApiError, ChatRequest, Completion};
use crate::store::{ResumeFailure, Running, Writer};
use crate::App;

/// The response header that names a resumable answer (for `GET /v1/answers/{id}`).
pub const ANSWER_ID: HeaderName = HeaderName::from_static("x-answer-id");

/// How an answer ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AnswerEnd {
    /// All chunks were sent; `[DONE]` follows.
    Completed,
    /// The model failed; an error object is the last event.
    Failed,
    /// The client left, the server stopped, or (a kept answer) Stop was asked.
    Cancelled,
}

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

    if request.resumable {
        return kept(&app, completion, answer, &accept).await;
    }
    let (sender, sse) = Sse::channel(CHANNEL_CAPACITY);
    let metrics = app.config.metrics.clone();
    metrics.stream_opened();
    tokio::spawn(
        Generation {
            sink: Sink::Stream(sender),
            completion,
            answer,
            pace: app.config.token_interval,
            event_ids: app.config.event_ids,
            metrics: metrics.clone(),
            seq: 0,
        }
        .run(),
    );
    finish_sse(
        &app,
        sse.end_event(Event::default().data("[DONE]")),
        &accept,
    )
    .into_response()
}

/// What every answer's stream has: an error object for a failure, the metrics,
/// keep-alive, the shutdown, compression when accepted.
fn finish_sse<S>(app: &App, sse: Sse<S>, accept: &AcceptEncoding) -> Sse<S> {
    let metrics = app.config.metrics.clone();
    sse.on_error(|error| {
        Event::default().data(ApiError::model_failure(error.to_string()).to_json())
    })
    .on_end(move |outcome| metrics.stream_ended(&outcome))
    .keep_alive(app.config.keep_alive_config())
    .shutdown(app.stop.clone(), None)
    .compress(Compression::default(), accept)
}

/// A resumable answer: kept in the store under its id (the `x-answer-id` header),
/// generated whether or not a client reads it, read here from its start.
async fn kept(
    app: &App,
    completion: Completion,
    answer: Answer,
    accept: &AcceptEncoding,
) -> Response {
    let id = completion.id.clone();
    let writer = match app.config.store.start(&id).await {
        Ok(writer) => writer,
        Err(error) => return ApiError::store_failure(error).into_response(),
    };
    let events = match app.config.store.resume(&id, &LastEventId::none()).await {
        Ok(events) => events,
        Err(_) => return ApiError::store_failure("The answer could not be read.").into_response(),
    };
    let stop = app.running.add(&id);
    let metrics = app.config.metrics.clone();
    metrics.stream_opened();
    tokio::spawn(
        Generation {
            sink: Sink::Kept {
                writer: Some(writer),
                stop,
                running: app.running.clone(),
            },
            completion,
            answer,
            pace: app.config.token_interval,
            event_ids: true,
            metrics,
            seq: 0,
        }
        .run(),
    );
    let mut response = finish_sse(app, Sse::new(events), accept).into_response();
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(ANSWER_ID, value);
    }
    response
}

/// `GET /v1/answers/{id}`: a kept answer, after the request's `Last-Event-ID` (from
/// its start without one), live, to its end.
pub(crate) async fn resume(
    State(app): State<App>,
    Path(id): Path<String>,
    last: sse_axum::LastEventId,
    accept: AcceptEncoding,
) -> Response {
    match app.config.store.resume(&id, &last).await {
        Ok(events) => {
            app.config.metrics.stream_opened();
            app.config.metrics.answer_resumed();
            finish_sse(&app, Sse::new(events), &accept).into_response()
        }
        Err(ResumeFailure::NotFound) => ApiError::answer_not_found().into_response(),
        Err(ResumeFailure::Gone) => ApiError::answer_gone().into_response(),
        Err(ResumeFailure::UnknownLastEventId) => ApiError::invalid(
            "The Last-Event-ID is not an event of this answer.",
            None,
            Some("unknown_last_event_id"),
        )
        .into_response(),
        Err(ResumeFailure::Store(error)) => ApiError::store_failure(error).into_response(),
    }
}

/// `DELETE /v1/answers/{id}`: stops the generation of a kept answer on this instance
/// (the page's Stop): `204`, or `404` when no such answer is being generated here.
pub(crate) async fn stop(State(app): State<App>, Path(id): Path<String>) -> Response {
    if app.running.stop(&id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        ApiError::answer_not_found().into_response()
    }
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

/// Where a generation's chunks go.
enum Sink {
    /// Straight into the client's stream: the generation stops when the client goes.
    Stream(EventSender),
    /// Into a kept answer that clients read and resume: the generation goes on
    /// without them, until the answer ends or `stop` fires (Stop on the page).
    Kept {
        writer: Option<Writer>,
        stop: Arc<Notify>,
        running: Running,
    },
}

/// One streamed answer being generated.
struct Generation {
    sink: Sink,
    completion: Completion,
    answer: Answer,
    pace: Duration,
    event_ids: bool,
    metrics: Metrics,
    // The next chunk's number (its `id:` with `event_ids` on a direct stream).
    seq: u64,
}

impl Generation {
    async fn run(mut self) {
        let end = self.generate().await;
        self.metrics.generation(match end {
            AnswerEnd::Completed => WorkEnd::Completed,
            AnswerEnd::Failed => WorkEnd::Failed,
            AnswerEnd::Cancelled => WorkEnd::Cancelled,
        });
        if let Sink::Kept {
            writer, running, ..
        } = &mut self.sink
        {
            running.remove(&self.completion.id);
            if let Some(writer) = writer.take() {
                let last = (end == AnswerEnd::Completed).then(|| Event::default().data("[DONE]"));
                writer.finish(last).await;
            }
        }
        // A direct stream ends when its sender is dropped: `[DONE]` after a completed
        // answer.
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
                self.fail(ModelFailure { after: i }).await;
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

    /// One token interval, unless the stream ends (or the kept answer is stopped)
    /// first.
    async fn wait(&self) -> Result<(), End> {
        match &self.sink {
            Sink::Stream(sender) => tokio::select! {
                biased;
                end = sender.cancelled() => Err(end),
                () = tokio::time::sleep(self.pace) => Ok(()),
            },
            Sink::Kept { stop, .. } => tokio::select! {
                biased;
                () = stop.notified() => Err(End::ClientGone),
                () = tokio::time::sleep(self.pace) => Ok(()),
            },
        }
    }

    /// Sends one chunk, unless the stream ends first. A kept answer numbers its
    /// events itself.
    async fn send(&mut self, data: String) -> Result<(), End> {
        let mut event = Event::default().data(data);
        let seq = self.seq;
        self.seq += 1;
        match &mut self.sink {
            Sink::Stream(sender) => {
                if self.event_ids {
                    event = event.id(seq);
                }
                tokio::select! {
                    biased;
                    end = sender.cancelled() => Err(end),
                    sent = sender.send(event) => sent.map_err(|_| End::ClientGone),
                }
            }
            Sink::Kept { writer, .. } => match writer.as_mut() {
                Some(writer) => writer.send(event).await.map_err(|_| End::ClientGone),
                None => Err(End::ClientGone),
            },
        }
    }

    /// Ends the answer with the model's failure: one last error object, no `[DONE]`.
    async fn fail(&mut self, failure: ModelFailure) {
        match &mut self.sink {
            Sink::Stream(sender) => {
                let _ = sender.clone().fail(failure).await;
            }
            Sink::Kept { writer, .. } => {
                if let Some(writer) = writer.take() {
                    let error = ApiError::model_failure(failure.to_string()).to_json();
                    writer.finish(Some(Event::default().data(error))).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use http_body_util::BodyExt;
    use sse_axum::resume::Answers;

    use super::*;
    use crate::openai::Message;

    fn completion_for(said: &str) -> (Completion, Answer) {
        let request = ChatRequest {
            model: "m".into(),
            messages: vec![Message {
                role: "user".into(),
                content: said.into(),
            }],
            stream: true,
            include_usage: true,
            max_tokens: None,
            resumable: false,
        };
        let completion = Completion {
            id: "a1".into(),
            created: 0,
            model: "m".into(),
            include_usage: true,
        };
        (completion, Answer::to(&request))
    }

    fn generation(
        said: &str,
    ) -> (
        Generation,
        sse_axum::SseBody<sse_axum::channel::EventReceiver>,
    ) {
        let (sender, body) = sse_axum::channel::body(4);
        let (completion, answer) = completion_for(said);
        let generation = Generation {
            sink: Sink::Stream(sender),
            completion,
            answer,
            pace: Duration::from_millis(30),
            event_ids: true,
            metrics: Metrics::new(),
            seq: 0,
        };
        (generation, body.end_event(Event::default().data("[DONE]")))
    }

    #[tokio::test(start_paused = true)]
    async fn every_chunk_goes_to_the_client_numbered_then_done() {
        let (generation, body) = generation("hi");
        let metrics = generation.metrics.clone();
        let task = tokio::spawn(generation.run());
        let bytes = body.collect().await.unwrap().to_bytes();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        let ids: Vec<&str> = text.lines().filter(|l| l.starts_with("id: ")).collect();
        assert_eq!(ids, ["id: 0", "id: 1", "id: 2", "id: 3", "id: 4", "id: 5"]);
        assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
        task.await.unwrap();
        assert_eq!(metrics.snapshot().completed, 1);
        assert_eq!(metrics.snapshot().tokens_sent, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_leaves_cancels_at_once() {
        let (generation, mut body) = generation("one two three four");
        let metrics = generation.metrics.clone();
        let task = tokio::spawn(generation.run());
        // The role chunk and the first token, then the client leaves.
        body.frame().await.unwrap().unwrap();
        drop(body);
        task.await.unwrap();
        assert_eq!(metrics.snapshot().cancelled, 1);
        assert!(metrics.snapshot().tokens_sent <= 2);
    }

    #[tokio::test(start_paused = true)]
    async fn the_fail_marker_ends_with_the_error() {
        let (generation, body) = generation("a b please fail");
        let metrics = generation.metrics.clone();
        let task = tokio::spawn(generation.run());
        let body = body.on_error(|error| Event::default().data(format!("error: {error}")));
        let text = String::from_utf8(body.collect().await.unwrap().to_bytes().to_vec()).unwrap();
        assert!(text.ends_with("data: error: the model failed after 3 tokens (simulated: the message asked for it with \"please fail\")\n\n"), "{text}");
        assert!(!text.contains("[DONE]"));
        task.await.unwrap();
        assert_eq!(metrics.snapshot().failed, 1);
    }

    /// A kept answer goes on without readers, numbered by the store, and ends with
    /// `[DONE]`; one that is stopped ends without it.
    #[tokio::test(start_paused = true)]
    async fn a_kept_answer_goes_on_without_readers_until_done_or_stopped() {
        let answers = Answers::new();
        let running = Running::default();
        for stopped in [false, true] {
            let id = format!("a{stopped}");
            let (mut completion, answer) = completion_for("one two three four");
            completion.id.clone_from(&id);
            let stop = running.add(&id);
            let generation = Generation {
                sink: Sink::Kept {
                    writer: Some(Writer::Local(answers.start(id.as_str()).unwrap())),
                    stop,
                    running: running.clone(),
                },
                completion,
                answer,
                pace: Duration::from_millis(30),
                event_ids: true,
                metrics: Metrics::new(),
                seq: 0,
            };
            let metrics = generation.metrics.clone();
            let task = tokio::spawn(generation.run());
            if stopped {
                tokio::time::sleep(Duration::from_millis(75)).await;
                assert!(running.stop(&id));
            }
            task.await.unwrap();
            assert!(!running.stop(&id), "unregistered at its end");
            let all = answers.resume(&id, &LastEventId::none()).unwrap();
            let text = String::from_utf8(
                sse_axum::SseBody::new(all)
                    .collect()
                    .await
                    .unwrap()
                    .to_bytes()
                    .to_vec(),
            )
            .unwrap();
            assert!(text.starts_with("id: 1\n"), "{text}");
            if stopped {
                assert_eq!(metrics.snapshot().cancelled, 1);
                assert!(!text.contains("[DONE]"), "{text}");
            } else {
                assert_eq!(metrics.snapshot().completed, 1);
                assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
            }
        }
    }
}
