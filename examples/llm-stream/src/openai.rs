//! OpenAI's Chat Completions API, the part this example speaks: the request
//! ([`ChatRequest::parse`]), the errors in OpenAI's shape ([`ApiError`]), and the
//! JSON of the answers ([`Completion`]: `chat.completion` and `chat.completion.chunk`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

/// The roles OpenAI accepts in `messages`.
const ROLES: [&str; 6] = [
    "system",
    "developer",
    "user",
    "assistant",
    "tool",
    "function",
];

/// A chat completion request, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatRequest {
    /// `model`: echoed back in every answer.
    pub model: String,
    /// `messages`, in order.
    pub messages: Vec<Message>,
    /// `stream`: answer with `chat.completion.chunk` events (default `false`).
    pub stream: bool,
    /// `stream_options.include_usage`: a last chunk with the token counts.
    pub include_usage: bool,
    /// `max_completion_tokens`, or else `max_tokens`: the answer is cut there.
    pub max_tokens: Option<u64>,
    /// `resumable` (this server's own, with `stream`): keep the answer under its id so
    /// that a client can resume it (`GET /v1/answers/{id}` with `Last-Event-ID`); the
    /// generation then goes on when the client leaves, until the answer ends or
    /// `DELETE /v1/answers/{id}` stops it.
    pub resumable: bool,
}

/// One message of the conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// `system`, `developer`, `user`, `assistant`, `tool` or `function`.
    pub role: String,
    /// Its text (the text parts of a list of parts, joined; empty for none).
    pub content: String,
}

impl ChatRequest {
    /// Parses and checks a request body, as OpenAI does: the errors name the
    /// parameter and say what was wrong. Unknown parameters (`temperature`, `n`,
    /// `tools`...) are accepted and ignored.
    ///
    /// # Errors
    ///
    /// An [`ApiError`] (400) for a body that is not JSON or not a valid request.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let value: Value = serde_json::from_slice(body).map_err(|_| {
            ApiError::invalid(
                "We could not parse the JSON body of your request. (The API expects a JSON \
                 payload, but what was sent was not valid JSON.)",
                None,
                None,
            )
        })?;
        let Value::Object(object) = value else {
            return Err(ApiError::invalid_type("body", "an object", &value));
        };
        let model = match object.get("model") {
            None | Some(Value::Null) => None,
            Some(Value::String(model)) => Some(model.clone()),
            Some(other) => return Err(ApiError::invalid_type("model", "a string", other)),
        }
        .filter(|model| !model.is_empty())
        .ok_or_else(|| ApiError::invalid("you must provide a model parameter", None, None))?;
        let messages = parse_messages(object.get("messages"))?;
        let stream = optional_bool(&object, "stream")?.unwrap_or(false);
        let include_usage = match object.get("stream_options") {
            None | Some(Value::Null) => false,
            Some(_) if !stream => {
                return Err(ApiError::invalid(
                    "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                    Some("stream_options".into()),
                    None,
                ))
            }
            Some(Value::Object(options)) => match options.get("include_usage") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(include)) => *include,
                Some(other) => {
                    return Err(ApiError::invalid_type(
                        "stream_options.include_usage",
                        "a boolean",
                        other,
                    ))
                }
            },
            Some(other) => {
                return Err(ApiError::invalid_type("stream_options", "an object", other))
            }
        };
        let max_tokens = match optional_count(&object, "max_completion_tokens")? {
            Some(max) => Some(max),
            None => optional_count(&object, "max_tokens")?,
        };
        let resumable = optional_bool(&object, "resumable")?.unwrap_or(false);
        if resumable && !stream {
            return Err(ApiError::invalid(
                "The 'resumable' parameter is only allowed when 'stream' is enabled.",
                Some("resumable".into()),
                None,
            ));
        }
        Ok(Self {
            model,
            messages,
            stream,
            include_usage,
            max_tokens,
            resumable,
        })
    }

    /// The text of the last `user` message (empty if there is none).
    #[must_use]
    pub fn last_user_text(&self) -> &str {
        self.messages
            .iter()
            .rev()
            .find(|message| message.role == "user")
            .map_or("", |message| message.content.as_str())
    }
}

fn parse_messages(value: Option<&Value>) -> Result<Vec<Message>, ApiError> {
    let messages = match value {
        None | Some(Value::Null) => {
            return Err(ApiError::invalid(
                "Missing required parameter: 'messages'.",
                Some("messages".into()),
                Some("missing_required_parameter"),
            ))
        }
        Some(Value::Array(messages)) => messages,
        Some(other) => return Err(ApiError::invalid_type("messages", "an array", other)),
    };
    if messages.is_empty() {
        return Err(ApiError::invalid(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got \
             an empty array instead.",
            Some("messages".into()),
            Some("empty_array"),
        ));
    }
    messages
        .iter()
        .enumerate()
        .map(|(i, message)| parse_message(i, message))
        .collect()
}

fn parse_message(i: usize, value: &Value) -> Result<Message, ApiError> {
    let param = |field: &str| format!("messages[{i}]{field}");
    let Value::Object(message) = value else {
        return Err(ApiError::invalid_type(&param(""), "an object", value));
    };
    let role = match message.get("role") {
        None | Some(Value::Null) => return Err(ApiError::missing(&param(".role"))),
        Some(Value::String(role)) if ROLES.contains(&role.as_str()) => role.clone(),
        Some(Value::String(role)) => {
            return Err(ApiError::invalid(
                format!(
                    "Invalid value: '{}'. Supported values are: 'system', 'assistant', 'user', \
                     'tool', 'function', and 'developer'.",
                    shorten(role)
                ),
                Some(param(".role")),
                Some("invalid_value"),
            ))
        }
        Some(other) => return Err(ApiError::invalid_type(&param(".role"), "a string", other)),
    };
    let content = match message.get("content") {
        // An assistant message with tool calls has no content.
        None | Some(Value::Null) if role == "assistant" => String::new(),
        None | Some(Value::Null) => return Err(ApiError::missing(&param(".content"))),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => {
            let mut text = String::new();
            for (j, part) in parts.iter().enumerate() {
                let Value::Object(part) = part else {
                    return Err(ApiError::invalid_type(
                        &param(&format!(".content[{j}]")),
                        "an object",
                        part,
                    ));
                };
                match (part.get("type"), part.get("text")) {
                    (Some(Value::String(kind)), Some(Value::String(part_text)))
                        if kind == "text" =>
                    {
                        text.push_str(part_text);
                    }
                    (Some(Value::String(kind)), _) if kind != "text" => {} // images, audio: ignored
                    _ => return Err(ApiError::missing(&param(&format!(".content[{j}].text")))),
                }
            }
            text
        }
        Some(other) => {
            return Err(ApiError::invalid_type(
                &param(".content"),
                "a string or an array",
                other,
            ))
        }
    };
    Ok(Message { role, content })
}

fn optional_bool(object: &Map<String, Value>, name: &str) -> Result<Option<bool>, ApiError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(value)) => Ok(Some(*value)),
        Some(other) => Err(ApiError::invalid_type(name, "a boolean", other)),
    }
}

/// An optional integer of at least 1.
fn optional_count(object: &Map<String, Value>, name: &str) -> Result<Option<u64>, ApiError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => match (number.as_u64(), number.as_i64()) {
            (Some(count), _) if count >= 1 => Ok(Some(count)),
            (None, None) if number.is_f64() => Err(ApiError::invalid_type(
                name,
                "an integer",
                &Value::Number(number.clone()),
            )),
            _ => Err(ApiError::invalid(
                format!(
                    "Invalid '{name}': integer below minimum value. Expected a value >= 1, but \
                     got {number} instead."
                ),
                Some(name.into()),
                Some("integer_below_min_value"),
            )),
        },
        Some(other) => Err(ApiError::invalid_type(name, "an integer", other)),
    }
}

/// What a JSON value is, as OpenAI's messages say it.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(number) if number.is_f64() => "a decimal",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// At most 64 characters of a value sent back in an error message.
fn shorten(text: &str) -> String {
    let mut short: String = text.chars().take(64).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

/// An error in OpenAI's shape: `{"error":{"message","type","param","code"}}`, with its
/// HTTP status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status when the error is the whole response.
    pub status: StatusCode,
    /// `message`: what was wrong.
    pub message: String,
    /// `type`: `invalid_request_error` or `server_error`.
    pub kind: &'static str,
    /// `param`: the parameter at fault, if any.
    pub param: Option<String>,
    /// `code`: a machine-readable reason, if any.
    pub code: Option<&'static str>,
}

impl ApiError {
    /// A 400 `invalid_request_error`.
    pub fn invalid(
        message: impl Into<String>,
        param: Option<String>,
        code: Option<&'static str>,
    ) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            kind: "invalid_request_error",
            param,
            code,
        }
    }

    fn missing(param: &str) -> Self {
        Self::invalid(
            format!("Missing required parameter: '{param}'."),
            Some(param.into()),
            Some("missing_required_parameter"),
        )
    }

    fn invalid_type(param: &str, expected: &str, got: &Value) -> Self {
        Self::invalid(
            format!(
                "Invalid type for '{param}': expected {expected}, but got {} instead.",
                kind(got)
            ),
            Some(param.into()),
            Some("invalid_type"),
        )
    }

    /// A 413: the request body is larger than `limit` bytes.
    #[must_use]
    pub fn too_large(limit: usize) -> Self {
        Self {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            ..Self::invalid(
                format!("The request body is larger than {limit} bytes."),
                None,
                Some("request_too_large"),
            )
        }
    }

    /// A 404: no answer is kept under this id (never was, or it expired).
    #[must_use]
    pub fn answer_not_found() -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            ..Self::invalid(
                "No answer is kept under this id.",
                None,
                Some("answer_not_found"),
            )
        }
    }

    /// A 410: events after the `Last-Event-ID` are no longer kept.
    #[must_use]
    pub fn answer_gone() -> Self {
        Self {
            status: StatusCode::GONE,
            ..Self::invalid(
                "Events of this answer after the Last-Event-ID are no longer kept.",
                None,
                Some("answer_gone"),
            )
        }
    }

    /// The last event of a kept answer's stream whose reader missed events: resume
    /// from the last event received.
    pub fn answer_lost() -> Self {
        Self {
            code: Some("answer_lost"),
            ..Self::model_failure(
                "Events of this answer were missed: resume from the last event received.",
            )
        }
    }

    /// A 500 `server_error`: the answer store failed.
    pub fn store_failure(message: impl Into<String>) -> Self {
        Self {
            code: Some("store_failure"),
            ..Self::model_failure(message)
        }
    }

    /// A 500 `server_error`: the model failed.
    pub fn model_failure(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
            kind: "server_error",
            param: None,
            code: Some("model_failure"),
        }
    }

    /// The error as JSON: `{"error":{"message","type","param","code"}}`.
    #[must_use]
    pub fn to_json(&self) -> String {
        json!({
            "error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        })
        .to_string()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            self.to_json(),
        )
            .into_response()
    }
}

/// Why an answer ended: `finish_reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinishReason {
    /// The model said all it had: `stop`.
    Stop,
    /// The answer reached the request's maximum number of tokens: `length`.
    Length,
}

impl FinishReason {
    /// `stop` or `length`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stop => "stop",
            Self::Length => "length",
        }
    }
}

/// Token counts: `usage`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    /// Tokens of the request's messages.
    pub prompt_tokens: u64,
    /// Tokens of the answer.
    pub completion_tokens: u64,
}

impl Usage {
    fn to_json(self) -> Value {
        json!({
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        })
    }
}

/// `system_fingerprint` of every answer.
const FINGERPRINT: &str = "fp_llm_stream";

/// What every JSON of one answer shares: its id, creation time and model.
#[derive(Clone, Debug)]
pub struct Completion {
    /// `id`: `chatcmpl-...`, the same in every chunk of the answer.
    pub id: String,
    /// `created`: Unix seconds.
    pub created: u64,
    /// `model`, as the request named it.
    pub model: String,
    /// Whether every chunk carries `"usage": null` and a last one the counts.
    pub include_usage: bool,
}

impl Completion {
    /// The whole answer, for `stream: false`: a `chat.completion`.
    #[must_use]
    pub fn full(&self, content: &str, finish: FinishReason, usage: Usage) -> String {
        json!({
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": FINGERPRINT,
            "choices": [{
                "index": 0,
                "message": { "role": "assistant", "content": content, "refusal": null },
                "logprobs": null,
                "finish_reason": finish.as_str(),
            }],
            "usage": usage.to_json(),
        })
        .to_string()
    }

    /// The first chunk: `delta: {"role": "assistant", "content": ""}`.
    #[must_use]
    pub fn role_chunk(&self) -> String {
        self.chunk(
            json!({ "role": "assistant", "content": "", "refusal": null }),
            None,
        )
    }

    /// A chunk with one token: `delta: {"content": token}`.
    #[must_use]
    pub fn token_chunk(&self, token: &str) -> String {
        self.chunk(json!({ "content": token }), None)
    }

    /// The last chunk of the choice: `delta: {}` and its `finish_reason`.
    #[must_use]
    pub fn finish_chunk(&self, finish: FinishReason) -> String {
        self.chunk(json!({}), Some(finish))
    }

    /// The usage chunk (`include_usage`): `choices: []` and `usage`.
    #[must_use]
    pub fn usage_chunk(&self, usage: Usage) -> String {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": FINGERPRINT,
            "choices": [],
            "usage": usage.to_json(),
        })
        .to_string()
    }

    fn chunk(&self, delta: Value, finish: Option<FinishReason>) -> String {
        let mut chunk = json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": FINGERPRINT,
            "choices": [{
                "index": 0,
                "delta": delta,
                "logprobs": null,
                "finish_reason": finish.map(FinishReason::as_str),
            }],
        });
        if self.include_usage {
            if let Value::Object(fields) = &mut chunk {
                fields.insert("usage".into(), Value::Null);
            }
        }
        chunk.to_string()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn parse(body: &str) -> Result<ChatRequest, ApiError> {
        ChatRequest::parse(body.as_bytes())
    }

    fn error(body: &str) -> (Option<String>, Option<&'static str>, String) {
        let error = parse(body).expect_err(body);
        assert_eq!(error.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error.kind, "invalid_request_error");
        (error.param, error.code, error.message)
    }

    #[test]
    fn a_streaming_request() {
        let request = parse(
            r#"{"model":"fake","stream":true,"stream_options":{"include_usage":true},
                "max_tokens":5,"temperature":0.2,"n":1,
                "messages":[{"role":"system","content":"be brief"},
                            {"role":"user","content":[{"type":"text","text":"Hel"},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"lo"}]},
                            {"role":"assistant","content":null,"tool_calls":[]},
                            {"role":"user","content":"again"}]}"#,
        )
        .unwrap();
        assert_eq!(request.model, "fake");
        assert!(request.stream && request.include_usage);
        assert_eq!(request.max_tokens, Some(5));
        assert_eq!(request.messages.len(), 4);
        assert_eq!(request.messages[1].content, "Hello");
        assert_eq!(request.messages[2].content, "");
        assert_eq!(request.last_user_text(), "again");
    }

    #[test]
    fn defaults_and_the_newer_max_parameter() {
        let request =
            parse(r#"{"model":"m","messages":[{"role":"user","content":"x"}],"stream":null}"#)
                .unwrap();
        assert!(!request.stream && !request.include_usage);
        assert_eq!(request.max_tokens, None);
        let request = parse(
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":9,"max_completion_tokens":3}"#,
        )
        .unwrap();
        assert_eq!(request.max_tokens, Some(3));
        let request =
            parse(r#"{"model":"m","messages":[{"role":"developer","content":"x"}]}"#).unwrap();
        assert_eq!(request.last_user_text(), "");
    }

    #[test]
    fn bad_requests_name_the_parameter() {
        let cases: &[(&str, Option<&str>, Option<&str>)] = &[
            ("not json", None, None),
            ("[1]", Some("body"), Some("invalid_type")),
            (
                r#"{"messages":[{"role":"user","content":"x"}]}"#,
                None,
                None,
            ),
            (
                r#"{"model":"","messages":[{"role":"user","content":"x"}]}"#,
                None,
                None,
            ),
            (
                r#"{"model":7,"messages":[]}"#,
                Some("model"),
                Some("invalid_type"),
            ),
            (
                r#"{"model":"m"}"#,
                Some("messages"),
                Some("missing_required_parameter"),
            ),
            (
                r#"{"model":"m","messages":"hi"}"#,
                Some("messages"),
                Some("invalid_type"),
            ),
            (
                r#"{"model":"m","messages":[]}"#,
                Some("messages"),
                Some("empty_array"),
            ),
            (
                r#"{"model":"m","messages":[3]}"#,
                Some("messages[0]"),
                Some("invalid_type"),
            ),
            (
                r#"{"model":"m","messages":[{"content":"x"}]}"#,
                Some("messages[0].role"),
                Some("missing_required_parameter"),
            ),
            (
                r#"{"model":"m","messages":[{"role":"robot","content":"x"}]}"#,
                Some("messages[0].role"),
                Some("invalid_value"),
            ),
            (
                r#"{"model":"m","messages":[{"role":"user"}]}"#,
                Some("messages[0].content"),
                Some("missing_required_parameter"),
            ),
            (
                r#"{"model":"m","messages":[{"role":"user","content":{}}]}"#,
                Some("messages[0].content"),
                Some("invalid_type"),
            ),
            (
                r#"{"model":"m","messages":[{"role":"user","content":[{"type":"text"}]}]}"#,
                Some("messages[0].content[0].text"),
                Some("missing_required_parameter"),
            ),
            (
                r#"{"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"}"#,
                Some("stream"),
                Some("invalid_type"),
            ),
            (
                r#"{"model":"m","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true}}"#,
                Some("stream_options"),
                None,
            ),
            (
                r#"{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":1}}"#,
                Some("stream_options.include_usage"),
                Some("invalid_type"),
            ),
            (
                r#"{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":0}"#,
                Some("max_tokens"),
                Some("integer_below_min_value"),
            ),
            (
                r#"{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":-4}"#,
                Some("max_tokens"),
                Some("integer_below_min_value"),
            ),
            (
                r#"{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":1.5}"#,
                Some("max_tokens"),
                Some("invalid_type"),
            ),
            (
                r#"{"model":"m","messages":[{"role":"user","content":"x"}],"max_completion_tokens":"3"}"#,
                Some("max_completion_tokens"),
                Some("invalid_type"),
            ),
        ];
        for (body, param, code) in cases {
            let (got_param, got_code, message) = error(body);
            assert_eq!(got_param.as_deref(), *param, "{body}: {message}");
            assert_eq!(got_code, *code, "{body}: {message}");
            assert!(!message.is_empty());
        }
    }

    #[test]
    fn never_panics_on_odd_bytes() {
        for body in [
            &b""[..],
            b"\xff\xfe",
            b"{",
            b"null",
            b"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\\ud800\"}]}",
            b"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[1,2]}]}",
            b"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":1e400}",
            b"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":18446744073709551616}",
        ] {
            let _ = ChatRequest::parse(body);
        }
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(ChatRequest::parse(deep.as_bytes()).is_err());
    }

    /// Thousands of mangled requests (bytes flipped, cut, repeated, from a fixed
    /// seed): parsing and answering never panic.
    #[test]
    fn mangled_requests_never_panic() {
        let valid = br#"{"model":"m","stream":true,"stream_options":{"include_usage":true},"max_tokens":3,"messages":[{"role":"user","content":[{"type":"text","text":"h\u00e9 please fail"}]},{"role":"assistant","content":null}]}"#;
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut answered = 0;
        for _ in 0..5000 {
            let mut body = valid.to_vec();
            for _ in 0..=next() % 4 {
                let at = usize::try_from(next() % body.len() as u64).unwrap();
                match next() % 4 {
                    0 => body[at] = u8::try_from(next() % 256).unwrap(),
                    1 => body.truncate(at),
                    2 => {
                        let bytes = b"{}[]\":,0-e\xff";
                        body.insert(at, bytes[at % bytes.len()]);
                    }
                    _ => body.extend_from_within(at..),
                }
                if body.is_empty() {
                    body.push(b'{');
                }
            }
            if let Ok(request) = ChatRequest::parse(&body) {
                let answer = crate::model::Answer::to(&request);
                assert_eq!(answer.text(), answer.tokens.concat());
                answered += 1;
            }
        }
        assert!(answered > 0, "some mangled requests are still valid");
    }

    #[test]
    fn errors_and_chunks_are_openais_json() {
        let error: Value = serde_json::from_str(&ApiError::missing("messages").to_json()).unwrap();
        assert_eq!(error["error"]["type"], "invalid_request_error");
        assert_eq!(error["error"]["param"], "messages");
        assert_eq!(error["error"]["code"], "missing_required_parameter");
        let failure: Value =
            serde_json::from_str(&ApiError::model_failure("boom").to_json()).unwrap();
        assert_eq!(failure["error"]["param"], Value::Null);

        let completion = Completion {
            id: "chatcmpl-1".into(),
            created: 7,
            model: "m".into(),
            include_usage: true,
        };
        let role: Value = serde_json::from_str(&completion.role_chunk()).unwrap();
        assert_eq!(role["object"], "chat.completion.chunk");
        assert_eq!(role["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(role["usage"], Value::Null);
        assert!(role.as_object().unwrap().contains_key("usage"));
        let token: Value = serde_json::from_str(&completion.token_chunk(" wo\"rld\n")).unwrap();
        assert_eq!(token["choices"][0]["delta"]["content"], " wo\"rld\n");
        assert_eq!(token["choices"][0]["finish_reason"], Value::Null);
        let finish: Value =
            serde_json::from_str(&completion.finish_chunk(FinishReason::Length)).unwrap();
        assert_eq!(finish["choices"][0]["finish_reason"], "length");
        let usage = Usage {
            prompt_tokens: 2,
            completion_tokens: 3,
        };
        let last: Value = serde_json::from_str(&completion.usage_chunk(usage)).unwrap();
        assert_eq!(last["choices"], json!([]));
        assert_eq!(last["usage"]["total_tokens"], 5);
        let full: Value =
            serde_json::from_str(&completion.full("hi", FinishReason::Stop, usage)).unwrap();
        assert_eq!(full["object"], "chat.completion");
        assert_eq!(full["choices"][0]["message"]["content"], "hi");
    }
}
