//! The tables and JSON of `compare compress`: per delivery pattern, every payload,
//! setup and coding, with each coding against identity of the same payload and
//! setup (bytes: the ratio of the medians; CPU: the median of each round's
//! difference, both measured on the same server one after the other).

use std::fmt::Write as _;

use compare::compress::{Encoding, Pattern, Payload, Setup};

use crate::cli::compress::Plan;
use crate::cli::tables::median;

/// What one stream (or one fan-out) measured.
#[derive(Clone, Debug, serde::Serialize)]
pub(crate) struct Measure {
    /// Events (deliveries, for a fan-out).
    pub(crate) events: u64,
    /// Bytes of the body (compressed) per event.
    pub(crate) body_bytes_per_event: f64,
    /// Bytes after the response head, chunked framing included, per event.
    pub(crate) wire_bytes_per_event: f64,
    /// Events per chunk of the body (one chunk per frame).
    pub(crate) events_per_chunk: f64,
    /// The server's CPU time per event, in nanoseconds.
    pub(crate) cpu_ns_per_event: f64,
    /// Production to decoded, median and 99th percentile, in microseconds.
    pub(crate) delay_p50_us: f64,
    pub(crate) delay_p99_us: f64,
}

impl Measure {
    /// The figures of `events` events carried by `body` bytes of body (`wire` with
    /// framing) in `chunks` chunks for `cpu_ns` of server CPU, with these delays.
    pub(crate) fn new(
        events: u64,
        body: u64,
        wire: u64,
        chunks: u64,
        cpu_ns: u64,
        delays_ns: &mut [u64],
    ) -> Self {
        delays_ns.sort_unstable();
        let quantile = |q: f64| {
            if delays_ns.is_empty() {
                return f64::NAN;
            }
            let at = ((delays_ns.len() - 1) as f64 * q).round() as usize;
            delays_ns[at] as f64 / 1e3
        };
        let per = |value: u64| value as f64 / events.max(1) as f64;
        Self {
            events,
            body_bytes_per_event: per(body),
            wire_bytes_per_event: per(wire),
            events_per_chunk: events as f64 / chunks.max(1) as f64,
            cpu_ns_per_event: per(cpu_ns),
            delay_p50_us: quantile(0.5),
            delay_p99_us: quantile(0.99),
        }
    }

    /// One line for the progress bar.
    pub(crate) fn summary(&self) -> String {
        format!(
            "{:>6.1} B/event, {:>5.1} events/chunk, {:>8} CPU/event, delay p50 {} p99 {}",
            self.body_bytes_per_event,
            self.events_per_chunk,
            micros(self.cpu_ns_per_event),
            delay(self.delay_p50_us),
            delay(self.delay_p99_us)
        )
    }
}

/// One payload, pattern, setup and coding, over the rounds.
#[derive(Clone, Debug, serde::Serialize)]
pub(crate) struct Cell {
    pub(crate) payload: Payload,
    pub(crate) pattern: Pattern,
    pub(crate) setup: Setup,
    pub(crate) coding: Encoding,
    pub(crate) rounds: Vec<Measure>,
}

impl Cell {
    /// No rounds yet.
    pub(crate) fn new(payload: Payload, pattern: Pattern, setup: Setup, coding: Encoding) -> Self {
        Self {
            payload,
            pattern,
            setup,
            coding,
            rounds: Vec::new(),
        }
    }
}

/// The fan-out with one coding, over the rounds.
#[derive(Clone, Debug, serde::Serialize)]
pub(crate) struct FanoutCell {
    pub(crate) coding: Encoding,
    pub(crate) rounds: Vec<Measure>,
}

impl FanoutCell {
    /// No rounds yet.
    pub(crate) fn new(coding: Encoding) -> Self {
        Self {
            coding,
            rounds: Vec::new(),
        }
    }
}

/// The median of one figure over the rounds.
fn med(rounds: &[Measure], figure: fn(&Measure) -> f64) -> f64 {
    median(&rounds.iter().map(figure).collect::<Vec<_>>())
}

/// The median over the rounds of `figure` of `this` minus that of `base`.
fn paired_difference(this: &[Measure], base: &[Measure], figure: fn(&Measure) -> f64) -> f64 {
    let differences: Vec<f64> = this
        .iter()
        .zip(base)
        .map(|(this, base)| figure(this) - figure(base))
        .collect();
    median(&differences)
}

/// Nanoseconds as microseconds.
fn micros(ns: f64) -> String {
    format!("{:.2} µs", ns / 1e3)
}

/// A difference of nanoseconds, signed, as microseconds.
fn extra(ns: f64) -> String {
    format!("{:+.2} µs", ns / 1e3)
}

/// Microseconds, as milliseconds from 1 ms on.
fn delay(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{us:.0} µs")
    }
}

/// The columns of a row against identity: bytes, fewer bytes, wire bytes, events
/// per chunk, CPU, CPU against identity, delays.
fn columns(rounds: &[Measure], identity: Option<&[Measure]>, is_identity: bool) -> String {
    let body = med(rounds, |m| m.body_bytes_per_event);
    let cpu = |m: &Measure| m.cpu_ns_per_event;
    let (fewer, more_cpu) = match identity {
        Some(base) if !is_identity => (
            format!("**{:.1}x**", med(base, |m| m.body_bytes_per_event) / body),
            extra(paired_difference(rounds, base, cpu)),
        ),
        _ => ("1x".to_owned(), "".to_owned()),
    };
    format!(
        "{body:.1} | {fewer} | {:.1} | {:.1} | {} | {more_cpu} | {} | {} |",
        med(rounds, |m| m.wire_bytes_per_event),
        med(rounds, |m| m.events_per_chunk),
        micros(med(rounds, cpu)),
        delay(med(rounds, |m| m.delay_p50_us)),
        delay(med(rounds, |m| m.delay_p99_us)),
    )
}

/// The Markdown tables: one per pattern, then the fan-out.
pub(crate) fn markdown(
    plan: &Plan,
    patterns: &[Pattern],
    cells: &[Cell],
    fanout: &[FanoutCell],
) -> String {
    let mut out = String::new();
    for &pattern in patterns {
        let how = match pattern {
            Pattern::Paced => format!(
                "paced: one event per frame, {} streams at once of {} events at {}/s",
                plan.streams, plan.events, plan.rate
            ),
            Pattern::Burst => format!(
                "burst: {} streams at once of {} events as fast as they are polled (ready events coalesce)",
                plan.streams, plan.events
            ),
        };
        let _ = writeln!(
            out,
            "\nCompressed streams, {how}, {} round(s), medians\n",
            plan.rounds
        );
        out.push_str(
            "| payload | server | coding | body B/event | fewer bytes | wire B/event | events/chunk | server CPU/event | CPU vs identity | delay p50 | delay p99 |\n",
        );
        out.push_str("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for cell in cells.iter().filter(|cell| cell.pattern == pattern) {
            let identity = cells
                .iter()
                .find(|other| {
                    other.pattern == pattern
                        && other.payload == cell.payload
                        && other.setup == cell.setup
                        && other.coding == Encoding::Identity
                })
                .map(|other| other.rounds.as_slice());
            let _ = writeln!(
                out,
                "| {} | {} | {} | {}",
                cell.payload.name(),
                cell.setup.name(),
                cell.coding.name(),
                columns(&cell.rounds, identity, cell.coding == Encoding::Identity)
            );
        }
    }
    if !fanout.is_empty() {
        let _ = writeln!(
            out,
            "\nFan-out: {} token events at {}/s to {} subscribers of one sse-axum hub topic (encoded once, compressed per subscriber), {} round(s), medians\n",
            plan.fanout_events, plan.fanout_rate, plan.subscribers, plan.rounds
        );
        out.push_str(
            "| coding | body B/delivery | fewer bytes | wire B/delivery | deliveries/chunk | server CPU/delivery | CPU vs identity | delay p50 | delay p99 |\n",
        );
        out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        let identity = fanout
            .iter()
            .find(|cell| cell.coding == Encoding::Identity)
            .map(|cell| cell.rounds.as_slice());
        for cell in fanout {
            let _ = writeln!(
                out,
                "| {} | {}",
                cell.coding.name(),
                columns(&cell.rounds, identity, cell.coding == Encoding::Identity)
            );
        }
    }
    out
}

/// The JSON report: the plan and every round of every cell.
pub(crate) fn json(plan: &Plan, cells: &[Cell], fanout: &[FanoutCell]) -> serde_json::Value {
    serde_json::json!({
        "plan": plan,
        "streams": cells,
        "fanout": fanout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measure(body: u64, cpu: u64) -> Measure {
        Measure::new(10, body, body + 70, 10, cpu, &mut [3000, 1000, 2000])
    }

    #[test]
    fn a_row_says_how_many_times_fewer_bytes_and_how_much_more_cpu() {
        let identity = [measure(2500, 50_000), measure(2500, 60_000)];
        let gzip = [measure(125, 70_000), measure(125, 90_000)];
        let row = columns(&gzip, Some(&identity), false);
        assert!(row.starts_with("12.5 | **20.0x** |"), "{row}");
        // Per event: +2 µs and +3 µs, the median the upper one.
        assert!(row.contains("| +3.00 µs |"), "{row}");
        assert!(row.ends_with("| 2 µs | 3 µs |"), "{row}");
        let row = columns(&identity, Some(&identity), true);
        assert!(row.starts_with("250.0 | 1x |"), "{row}");
    }
}
