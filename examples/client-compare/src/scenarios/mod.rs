//! The scenarios: a scripted server, how the client is set up, when reading stops,
//! and what "pass" means, checked on the [`Outcome`] the same way for every client.

mod parsing;
mod reconnect;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use crate::clients::{Adapter, Ev, Observed, Setup};
use crate::server::{Request, Script, Server};

/// The hard bound on one run of one scenario against one client: a client that has
/// not given what the scenario waits for by then has hung (a fail).
pub const RUN_LIMIT: Duration = Duration::from_secs(10);

/// How many items a run reads at most: a client that yields errors in a loop is
/// stopped there.
pub const MAX_ITEMS: usize = 1000;

/// The two groups of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// One response, its bytes parsed (WHATWG's parsing rules).
    Parsing,
    /// Connections that fail, end, redirect or idle: what the client does next.
    Reconnect,
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Parsing => "parsing",
            Self::Reconnect => "reconnect",
        })
    }
}

/// When a run stops reading the client's stream (the first that happens).
#[derive(Clone, Copy, Debug)]
pub struct Until {
    /// Stop once this many events were dispatched (`None`: read to the end).
    pub events: Option<usize>,
    /// Stop after this long, whatever came.
    pub window: Duration,
}

/// The check of a scenario: `Ok` for a pass, else the reason.
pub type Check = Arc<dyn Fn(&Outcome) -> Result<(), String> + Send + Sync>;

/// One scenario of the suite.
#[derive(Clone)]
pub struct Scenario {
    /// Its group.
    pub group: Group,
    /// A short name, the row title.
    pub name: &'static str,
    /// What "pass" means, in words (the same as [`Scenario::check`] does).
    pub pass: String,
    /// How the client is set up.
    pub setup: Setup,
    /// When reading stops.
    pub until: Until,
    script: Script,
    check: Check,
}

impl fmt::Debug for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scenario")
            .field("group", &self.group)
            .field("name", &self.name)
            .field("setup", &self.setup)
            .field("until", &self.until)
            .finish_non_exhaustive()
    }
}

impl Scenario {
    /// Checks `outcome` against this scenario's definition of "pass".
    ///
    /// # Errors
    ///
    /// The reason the outcome is not a pass.
    pub fn check(&self, outcome: &Outcome) -> Result<(), String> {
        (self.check)(outcome)
    }
}

/// Every scenario, parsing first.
#[must_use]
pub fn all() -> Vec<Scenario> {
    let mut all = parsing::all();
    all.extend(reconnect::all());
    all
}

/// Why a run stopped reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stopped {
    /// The stream ended.
    End,
    /// The scenario's number of events arrived.
    Enough,
    /// The scenario's window passed.
    Window,
    /// [`MAX_ITEMS`] items were read.
    TooManyItems,
}

/// What happened in one run: the client's items and the server's requests, timed
/// from the server's start.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The client's items, each with when it was read.
    pub items: Vec<(Duration, Observed)>,
    /// The requests the server read, one per connection.
    pub requests: Vec<Request>,
    /// Why reading stopped.
    pub stopped: Stopped,
}

impl Outcome {
    /// The dispatched events, in order.
    #[must_use]
    pub fn events(&self) -> Vec<&Ev> {
        self.items
            .iter()
            .filter_map(|(_, item)| match item {
                Observed::Event(event) => Some(event),
                _ => None,
            })
            .collect()
    }

    /// The error items, in order.
    #[must_use]
    pub fn errors(&self) -> Vec<&str> {
        self.items
            .iter()
            .filter_map(|(_, item)| match item {
                Observed::Error(error) => Some(error.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Whether the stream ended.
    #[must_use]
    pub fn ended(&self) -> bool {
        self.stopped == Stopped::End
    }

    /// The time between the request heads of connection `from` and connection `to`.
    #[must_use]
    pub fn gap(&self, from: usize, to: usize) -> Option<Duration> {
        let from = self.requests.get(from)?.at;
        let to = self.requests.get(to)?.at;
        Some(to.saturating_sub(from))
    }

    /// A short account of what happened, for a failure's reason: counts, the first
    /// error, how reading stopped.
    #[must_use]
    pub fn summary(&self) -> String {
        let events = self.events().len();
        let errors = self.errors();
        let mut text = format!(
            "{events} event{}, {} connection{}",
            plural(events),
            self.requests.len(),
            plural(self.requests.len())
        );
        if let Some(first) = errors.first() {
            text.push_str(&format!(
                ", {} error{} (first: {})",
                errors.len(),
                plural(errors.len()),
                short(first, 60)
            ));
        }
        text.push_str(match self.stopped {
            Stopped::End => ", then the end",
            Stopped::Enough => "",
            Stopped::Window => ", no end",
            Stopped::TooManyItems => ", still yielding",
        });
        text
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `text` cut to `max` characters (with `…`), on one line, `|` escaped for Markdown.
#[must_use]
pub fn short(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out.replace('|', "\\|")
}

/// The verdict of one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The check passed.
    Pass,
    /// The check failed, or the client panicked or hung: the reason.
    Fail(String),
    /// The client has no option the scenario needs: the reason.
    NotApplicable(&'static str),
}

impl Verdict {
    /// Whether this is a pass.
    #[must_use]
    pub fn passed(&self) -> bool {
        *self == Self::Pass
    }
}

/// Runs `scenario` against `client` with a fresh server, bounded by [`RUN_LIMIT`].
pub async fn run(client: Arc<dyn Adapter>, scenario: Scenario) -> Verdict {
    if let Some(reason) = client.unsupported(&scenario.setup) {
        return Verdict::NotApplicable(reason);
    }
    // In a task of its own, so that a client that panics fails its cell only.
    let task = tokio::spawn(async move {
        let outcome = tokio::time::timeout(RUN_LIMIT, observe(&*client, &scenario)).await;
        match outcome {
            Ok(Ok(outcome)) => match scenario.check(&outcome) {
                Ok(()) => Verdict::Pass,
                Err(reason) => Verdict::Fail(reason),
            },
            Ok(Err(error)) => Verdict::Fail(format!("test server: {error}")),
            Err(_) => Verdict::Fail(format!("hung: no result within {RUN_LIMIT:?}")),
        }
    });
    match task.await {
        Ok(verdict) => verdict,
        Err(error) if error.is_panic() => {
            let panic = error.into_panic();
            let message = panic
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Verdict::Fail(format!("panicked: {}", short(&message, 60)))
        }
        Err(error) => Verdict::Fail(format!("task: {error}")),
    }
}

/// Starts the scenario's server, opens the client on it and reads until the
/// scenario's [`Until`].
async fn observe(client: &dyn Adapter, scenario: &Scenario) -> std::io::Result<Outcome> {
    let server = Server::start(scenario.script.clone()).await?;
    let started: Instant = server.started();
    let deadline = tokio::time::Instant::now() + scenario.until.window;
    let mut stream = client.open(server.url("/events"), &scenario.setup);
    let mut items = Vec::new();
    let mut events = 0;
    let stopped = loop {
        if items.len() >= MAX_ITEMS {
            break Stopped::TooManyItems;
        }
        let item = match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(item)) => item,
            // The adapters end every stream with `Observed::End`; `None` after it.
            Ok(None) => break Stopped::End,
            Err(_) => break Stopped::Window,
        };
        let end = item == Observed::End;
        if matches!(item, Observed::Event(_)) {
            events += 1;
        }
        items.push((started.elapsed(), item));
        if end {
            break Stopped::End;
        }
        if scenario.until.events.is_some_and(|wanted| events >= wanted) {
            break Stopped::Enough;
        }
        // A client whose stream is always ready must not starve the server's tasks.
        tokio::task::yield_now().await;
    };
    drop(stream);
    Ok(Outcome {
        items,
        requests: server.requests(),
        stopped,
    })
}

/// Compares the dispatched events with `expected`: `Ok` when equal, else the first
/// difference, shortly.
///
/// # Errors
///
/// The first difference, and a summary of the outcome.
pub fn same_events(outcome: &Outcome, expected: &[Ev]) -> Result<(), String> {
    let got = outcome.events();
    for (i, want) in expected.iter().enumerate() {
        let Some(have) = got.get(i) else {
            return Err(format!(
                "missing event {} ({}); {}",
                i + 1,
                describe(want),
                outcome.summary()
            ));
        };
        if *have != want {
            return Err(format!(
                "event {}: {} instead of {}",
                i + 1,
                describe(have),
                describe(want)
            ));
        }
    }
    if got.len() > expected.len() {
        return Err(format!(
            "{} extra event{} (first: {})",
            got.len() - expected.len(),
            plural(got.len() - expected.len()),
            describe(got[expected.len()])
        ));
    }
    Ok(())
}

/// An event in a few characters: `type/"data"/id`.
fn describe(event: &Ev) -> String {
    let data = if event.data.len() > 24 {
        format!("{} bytes", event.data.len())
    } else {
        format!("{:?}", event.data)
    };
    let mut text = format!("{}/{data}", short(&event.event, 16));
    if !event.id.is_empty() {
        text.push_str(&format!("/id {:?}", short(&event.id, 16)));
    }
    short(&text, 80)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(n: usize, at_ms: u64, headers: &[(&str, &str)]) -> Request {
        Request {
            n,
            method: String::from("GET"),
            target: String::from("/events"),
            headers: headers
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
            body: Vec::new(),
            at: Duration::from_millis(at_ms),
        }
    }

    fn outcome(items: Vec<Observed>, requests: Vec<Request>, stopped: Stopped) -> Outcome {
        Outcome {
            items: items
                .into_iter()
                .map(|item| (Duration::ZERO, item))
                .collect(),
            requests,
            stopped,
        }
    }

    fn scenario(name: &str) -> Scenario {
        all()
            .into_iter()
            .find(|scenario| scenario.name == name)
            .expect("a scenario of that name")
    }

    #[test]
    fn same_events_names_the_first_difference() {
        let got = outcome(
            vec![
                Observed::Event(Ev::new("message", "a", "")),
                Observed::Event(Ev::new("message", "x", "")),
            ],
            vec![],
            Stopped::End,
        );
        let a = Ev::new("message", "a", "");
        let b = Ev::new("message", "b", "");
        assert_eq!(
            same_events(&got, &[a.clone(), Ev::new("message", "x", "")]),
            Ok(())
        );
        let error = same_events(&got, &[a.clone(), b]).unwrap_err();
        assert!(error.starts_with("event 2: message/\"x\""), "{error}");
        let error = same_events(&got, std::slice::from_ref(&a)).unwrap_err();
        assert!(error.starts_with("1 extra event"), "{error}");
        let x = Ev::new("message", "x", "");
        let error = same_events(&got, &[a.clone(), x, a]).unwrap_err();
        assert!(error.starts_with("missing event 3"), "{error}");
    }

    #[test]
    fn a_204_that_reconnects_or_errs_fails() {
        let stops = scenario("204 stops for good");
        let clean = outcome(vec![Observed::End], vec![request(0, 0, &[])], Stopped::End);
        assert_eq!(stops.check(&clean), Ok(()));
        let again = outcome(
            vec![Observed::End],
            vec![request(0, 0, &[]), request(1, 300, &[])],
            Stopped::End,
        );
        assert!(stops.check(&again).is_err());
        let error = outcome(
            vec![Observed::Error(String::from("204")), Observed::End],
            vec![request(0, 0, &[])],
            Stopped::End,
        );
        assert!(stops.check(&error).is_err());
    }

    #[test]
    fn an_empty_last_event_id_fails_and_a_late_reconnection_fails() {
        let no_id = scenario("no Last-Event-ID before any id");
        let events = vec![
            Observed::Event(Ev::new("message", "a", "")),
            Observed::Event(Ev::new("message", "b", "")),
        ];
        let good = outcome(
            events.clone(),
            vec![request(0, 0, &[]), request(1, 200, &[])],
            Stopped::Enough,
        );
        assert_eq!(no_id.check(&good), Ok(()));
        let empty = outcome(
            events.clone(),
            vec![
                request(0, 0, &[]),
                request(1, 200, &[("last-event-id", "")]),
            ],
            Stopped::Enough,
        );
        assert!(no_id.check(&empty).is_err());

        let retry = scenario("retry: 100 (own event block)");
        let quick = outcome(
            events.clone(),
            vec![request(0, 0, &[]), request(1, 150, &[])],
            Stopped::Enough,
        );
        assert_eq!(retry.check(&quick), Ok(()));
        let slow = outcome(
            events,
            vec![request(0, 0, &[]), request(1, 3000, &[])],
            Stopped::Enough,
        );
        assert!(retry.check(&slow).is_err());
    }

    #[test]
    fn every_scenario_has_a_unique_name_and_a_bounded_window() {
        let all = all();
        for (i, scenario) in all.iter().enumerate() {
            assert!(scenario.until.window < RUN_LIMIT, "{}", scenario.name);
            assert!(
                all[..i].iter().all(|other| other.name != scenario.name),
                "{}",
                scenario.name
            );
        }
    }
}
