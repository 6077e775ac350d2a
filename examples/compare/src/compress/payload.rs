//! The data of the compressed-stream workloads: three kinds of JSON event, each
//! realistic and deterministic (the same bytes on every run and every server).

/// What the events of a stream carry.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Payload {
    /// OpenAI `chat.completion.chunk` events, one token each (the words of a fixed
    /// English text, drawn at random so that no long passage repeats), as an LLM
    /// streams them.
    Token,
    /// MCP `notifications/progress` JSON-RPC notifications.
    Progress,
    /// Market ticks: symbol, price, bid and ask, volume and timestamp, the numbers
    /// moving from event to event.
    Ticker,
}

impl Payload {
    /// Every payload, in the order of the tables.
    pub const ALL: [Payload; 3] = [Payload::Token, Payload::Progress, Payload::Ticker];

    /// Its name in queries and tables.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Payload::Token => "token",
            Payload::Progress => "progress",
            Payload::Ticker => "ticker",
        }
    }
}

/// The text whose tokens the token stream draws from, one word or punctuation mark
/// per event.
const TEXT: &str = "Server-sent events are a simple way to push updates from a server to a \
browser over plain HTTP. The client opens one long request, and the server writes each event \
as a few lines of text, ending with an empty line. Browsers reconnect on their own when the \
connection drops, and they send the id of the last event they saw, so the server can resume \
where it stopped. Because every event repeats the same field names and the same JSON keys, a \
compressor that lives as long as the stream learns them once and sends the rest as short \
references. That matters most for language models, which stream one token at a time: the \
envelope around each token is far larger than the token itself, and without compression most \
of the bytes on the wire say the same thing again and again.";

/// The tokens of [`TEXT`]: each word with its leading space, punctuation on its own.
fn tokens() -> Vec<String> {
    let mut tokens = Vec::new();
    for (i, word) in TEXT.split_whitespace().enumerate() {
        let cut = word.trim_end_matches(|c: char| c.is_ascii_punctuation() && c != '-');
        let space = if i == 0 { "" } else { " " };
        tokens.push(format!("{space}{cut}"));
        if cut.len() < word.len() {
            tokens.push(word[cut.len()..].to_owned());
        }
    }
    tokens
}

/// The files the progress messages name.
const FILES: [&str; 12] = [
    "src/lib.rs",
    "src/main.rs",
    "src/handlers/user_profile.rs",
    "src/handlers/billing.rs",
    "src/models/invoice.rs",
    "src/models/customer.rs",
    "src/db/migrations/0042_add_index.sql",
    "tests/integration/checkout.rs",
    "docs/architecture.md",
    "web/components/Dashboard.tsx",
    "web/components/SettingsPanel.tsx",
    "scripts/deploy.sh",
];

/// The symbols of the ticker and their opening prices in cents.
const SYMBOLS: [(&str, i64); 8] = [
    ("AAPL", 18_942),
    ("MSFT", 41_517),
    ("NVDA", 13_127),
    ("AMZN", 19_788),
    ("GOOGL", 17_203),
    ("META", 56_841),
    ("TSLA", 24_866),
    ("JPM", 21_490),
];

/// A small deterministic generator (xorshift64*): the same numbers on every run.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The events of one stream of `payload`, `total` of them: call
/// [`next_data`](Self::next_data) for each event's data.
#[derive(Debug)]
pub struct Events {
    payload: Payload,
    total: u64,
    n: u64,
    rng: Rng,
    tokens: Vec<String>,
    prices: [i64; SYMBOLS.len()],
    volumes: [u64; SYMBOLS.len()],
}

impl Events {
    /// The first event of a stream of `total` events of `payload`.
    #[must_use]
    pub fn new(payload: Payload, total: u64) -> Self {
        Self {
            payload,
            total,
            n: 0,
            rng: Rng(0x9E37_79B9_7F4A_7C15),
            tokens: if payload == Payload::Token {
                tokens()
            } else {
                Vec::new()
            },
            prices: SYMBOLS.map(|(_, price)| price),
            volumes: [0; SYMBOLS.len()],
        }
    }

    /// The data of the next event (one line of JSON).
    pub fn next_data(&mut self) -> String {
        let n = self.n;
        self.n += 1;
        match self.payload {
            Payload::Token => {
                // Drawn, not read in order: a text read over and over would repeat
                // whole passages, which brotli's and zstd's 64 KiB windows find and
                // gzip's 8 KiB one does not; a model's answer does not repeat itself.
                let token = &self.tokens[self.rng.below(self.tokens.len() as u64) as usize];
                let token = serde_json::to_string(token).unwrap_or_default();
                format!(
                    r#"{{"id":"chatcmpl-AZ3kQ9xV7mLr2Tb8YpWc1NfE","object":"chat.completion.chunk","created":1733490000,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_7f6be3efb0","choices":[{{"index":0,"delta":{{"content":{token}}},"logprobs":null,"finish_reason":null}}]}}"#
                )
            }
            Payload::Progress => {
                let file = FILES[self.rng.below(FILES.len() as u64) as usize];
                format!(
                    r#"{{"jsonrpc":"2.0","method":"notifications/progress","params":{{"progressToken":"index-7f3a9c2e","progress":{},"total":{},"message":"Indexed {file}"}}}}"#,
                    n + 1,
                    self.total
                )
            }
            Payload::Ticker => {
                let i = self.rng.below(SYMBOLS.len() as u64) as usize;
                let step = self.rng.below(11) as i64 - 5;
                self.prices[i] = (self.prices[i] + step).max(100);
                self.volumes[i] += 100 * (1 + self.rng.below(50));
                let price = self.prices[i];
                let spread = 1 + self.rng.below(3) as i64;
                let ts = 1_733_490_000_000 + n * 3 + self.rng.below(3);
                format!(
                    r#"{{"symbol":"{}","price":{},"bid":{},"ask":{},"volume":{},"ts":{ts}}}"#,
                    SYMBOLS[i].0,
                    cents(price),
                    cents(price - spread),
                    cents(price + spread),
                    self.volumes[i]
                )
            }
        }
    }
}

/// Cents as a decimal price: `18942` is `189.42`.
fn cents(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_payload_is_json_and_the_same_on_every_run() {
        for payload in Payload::ALL {
            let mut a = Events::new(payload, 100);
            let mut b = Events::new(payload, 100);
            for _ in 0..300 {
                let data = a.next_data();
                assert_eq!(data, b.next_data());
                assert!(
                    serde_json::from_str::<serde_json::Value>(&data).is_ok(),
                    "{data}"
                );
                assert!(!data.contains('\n'));
            }
        }
    }

    #[test]
    fn the_tokens_spell_the_text() {
        assert_eq!(
            tokens().concat(),
            TEXT.split_whitespace().collect::<Vec<_>>().join(" ")
        );
        assert!(tokens().iter().any(|t| t == "."));
    }

    #[test]
    fn the_ticker_moves() {
        let mut events = Events::new(Payload::Ticker, 10);
        let (first, second) = (events.next_data(), events.next_data());
        assert_ne!(first, second);
        assert!(first.contains(r#""bid":"#) && first.contains(r#""volume":"#));
    }
}
