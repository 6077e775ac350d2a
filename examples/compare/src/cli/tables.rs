//! The tables and JSON of the measurements: a Markdown table and a JSON report per
//! workload (bursts, fan-out, idle memory), with each of ours against its built-in
//! reference as the median of the rounds' paired ratios.

use std::fmt::Write as _;

use compare::fanout::Publish;
use compare::Variant;

use crate::cli::bench::{BurstResult, BurstRow};
use crate::cli::fanout::FanoutRow;
use crate::cli::racer::Racer;

/// The median of `values` (the upper one of an even count).
pub(crate) fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    // No rounds measured (a variant that failed every time): not a number, which the
    // tables print as such, rather than a panic.
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Events (or deliveries) per second, in millions.
fn rate(events_per_second: f64) -> String {
    format!("{:.3} M", events_per_second / 1e6)
}

/// Nanoseconds, as microseconds from 10 µs on.
fn nanos(ns: f64) -> String {
    if ns >= 10_000.0 {
        format!("{:.1} µs", ns / 1000.0)
    } else {
        format!("{ns:.0} ns")
    }
}

/// An event size: in KiB when a whole number of them.
pub(crate) fn size(bytes: usize) -> String {
    if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} B")
    }
}

/// "1.85x less" when ours uses less CPU than the reference, "0.92x (ours uses more)"
/// otherwise: the reference's CPU divided by ours.
fn less(ratio: f64) -> String {
    if ratio >= 1.0 {
        format!("{ratio:.2}x less")
    } else {
        format!("**{ratio:.2}x (ours uses more)**")
    }
}

/// [`less`] than a reference that is not ours to compare with, named.
fn less_than(ratio: f64, name: &str) -> String {
    if ratio >= 1.0 {
        format!("{ratio:.2}x less than {name}")
    } else {
        format!("**{ratio:.2}x (ours uses more than {name})**")
    }
}

impl BurstResult {
    /// The row of `variant`, if it ran.
    fn row(&self, variant: impl Into<Racer>) -> Option<&BurstRow> {
        let variant = variant.into();
        self.rows.iter().find(|row| row.of == variant)
    }

    /// Ours against its reference, round by round (each round runs the two one after
    /// the other, so they share the machine's state of the moment): the medians of
    /// the rounds' events/s ratio (ours / reference) and CPU ratio (reference / ours).
    pub(crate) fn paired(
        &self,
        ours: impl Into<Racer>,
        reference: impl Into<Racer>,
    ) -> Option<(f64, f64)> {
        let (o, r) = (self.row(ours)?, self.row(reference)?);
        Some((
            paired(&o.events_per_second, &r.events_per_second),
            paired(&r.cpu_ns_per_event, &o.cpu_ns_per_event),
        ))
    }

    /// [`paired`](Self::paired) with the reference's name, when both raced (a
    /// compressed race leaves out a variant that cannot compress).
    fn raced_pair(&self, ours: Racer, reference: Variant) -> Option<(Variant, (f64, f64))> {
        let raced = |v: Racer| self.row(v).is_some_and(|row| row.not_raced.is_none());
        if !raced(ours) || !raced(reference.into()) {
            return None;
        }
        Some((reference, self.paired(ours, reference)?))
    }

    /// Median events/s and CPU per event of `variant`.
    fn medians(&self, variant: impl Into<Racer>) -> Option<(f64, f64)> {
        let row = self.row(variant)?;
        Some((
            median(&row.events_per_second),
            median(&row.cpu_ns_per_event),
        ))
    }
}

/// The median over rounds of `numerator[i] / denominator[i]`.
pub(crate) fn paired(numerator: &[f64], denominator: &[f64]) -> f64 {
    let ratios: Vec<f64> = numerator
        .iter()
        .zip(denominator)
        .map(|(n, d)| n / d)
        .collect();
    if ratios.is_empty() {
        f64::NAN
    } else {
        median(&ratios)
    }
}

/// The line above a burst table: what was raced, how, and where.
fn heading(result: &BurstResult, coding: Option<&str>) -> String {
    let compressed =
        coding.map_or_else(String::new, |coding| format!(", compressed with {coding}"));
    format!(
        "\nBursts of {} events of {} per connection{compressed}, {} connection(s), {} round(s), medians (ratios: the median of each round's ratio){}\n\n",
        result.events,
        size(result.size),
        result.connections,
        result.rounds,
        if result.pinned {
            ", server on core 0, client on core 1"
        } else {
            " (not pinned: no taskset)"
        }
    )
}

/// The Markdown table of one event size.
pub(crate) fn burst_table(result: &BurstResult) -> String {
    if let Some(coding) = result.compress {
        return compressed_burst_table(result, coding);
    }
    let mut out = heading(result, None);
    out.push_str("| variant | events/s | server CPU per event | events/s, ours / built-in | server CPU, built-in / ours | events/s, % of the raw writer |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    let raw = result.medians(Variant::RawWriter);
    for row in &result.rows {
        let Some((events, cpu)) = result.medians(row.of) else {
            continue;
        };
        let (vs_rate, vs_cpu) = match row
            .of
            .reference()
            .and_then(|reference| result.paired(row.of, reference).map(|m| (reference, m)))
        {
            Some((reference, (rate_ratio, cpu_ratio))) => (
                format!("{rate_ratio:.2}x {}", reference.name()),
                less(cpu_ratio),
            ),
            None => (String::new(), String::new()),
        };
        let of_raw = raw
            .map(|(raw_events, _)| format!("{:.0}%", 100.0 * events / raw_events))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {vs_rate} | {vs_cpu} | {of_raw} |",
            row.variant,
            rate(events),
            nanos(cpu)
        );
    }
    if let Some((rate_ratio, cpu_ratio)) = result.paired(Variant::SseAxum, Racer::GoNetHttp) {
        let go = Racer::GoNetHttp.name();
        let _ = writeln!(
            out,
            "\nsse-axum against {go} (the median of each round's ratio): server CPU per event {}, events/s {rate_ratio:.2}x {go}'s.",
            less_than(cpu_ratio, go)
        );
    }
    out
}

/// The Markdown table of one event size, raced compressed with `coding`: no raw
/// writer (it has no compression), the bytes on the wire per event, and each
/// variant that did not race with why.
fn compressed_burst_table(result: &BurstResult, coding: &str) -> String {
    let mut out = heading(result, Some(coding));
    out.push_str("| variant | compressed by | events/s | server CPU per event | bytes on the wire per event | events/s, ours / built-in | server CPU, built-in / ours |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for row in &result.rows {
        if let Some(why) = &row.not_raced {
            let _ = writeln!(
                out,
                "| {} | not raced: {why} | – | – | – |  |  |",
                row.variant
            );
            continue;
        }
        let Some((events, cpu)) = result.medians(row.of) else {
            continue;
        };
        let (vs_rate, vs_cpu) = match row
            .of
            .reference()
            .and_then(|reference| result.raced_pair(row.of, reference))
        {
            Some((reference, (rate_ratio, cpu_ratio))) => (
                format!("{rate_ratio:.2}x {}", reference.name()),
                less(cpu_ratio),
            ),
            None => (String::new(), String::new()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.1} | {vs_rate} | {vs_cpu} |",
            row.variant,
            row.compressed_by.unwrap_or(""),
            rate(events),
            nanos(cpu),
            median(&row.wire_bytes_per_event),
        );
    }
    out
}

/// The bursts' JSON: every round's figures per variant and, per event size, each of
/// ours against its built-in reference (`events_per_second`: ours / built-in, `cpu`:
/// built-in / ours, both the median of the rounds' paired ratios), and sse-axum
/// against Go's net/http the same way (`against_go`) when it raced.
pub(crate) fn burst_json(results: &[BurstResult]) -> serde_json::Value {
    let results: Vec<serde_json::Value> = results
        .iter()
        .map(|result| {
            let ratios: Vec<serde_json::Value> = result
                .rows
                .iter()
                .filter_map(|row| {
                    let (reference, (rate, cpu)) =
                        result.raced_pair(row.of, row.of.reference()?)?;
                    Some(serde_json::json!({
                        "variant": row.variant, "reference": reference.name(),
                        "events_per_second": finite(rate), "cpu": finite(cpu),
                    }))
                })
                .collect();
            let mut value = serde_json::json!(result);
            value["ratios"] = ratios.into();
            // Not in `ratios`: sse-axum has a built-in reference there already. Go's
            // net/http races uncompressed only.
            let go = result.paired(Variant::SseAxum, Racer::GoNetHttp);
            if let Some((rate, cpu)) = go.filter(|_| result.compress.is_none()) {
                value["against_go"] = serde_json::json!({
                    "variant": Variant::SseAxum.name(), "reference": Racer::GoNetHttp.name(),
                    "events_per_second": finite(rate), "cpu": finite(cpu),
                });
            }
            value
        })
        .collect();
    serde_json::json!({ "workload": { "kind": "burst" }, "results": results })
}

/// `value`, or JSON `null` when it is not a number.
fn finite(value: f64) -> serde_json::Value {
    if value.is_finite() {
        value.into()
    } else {
        serde_json::Value::Null
    }
}

/// Median deliveries/s and CPU per delivery of `row` (NaN: no CPU figures).
fn fanout_medians(row: &FanoutRow) -> (f64, f64) {
    (
        median(&row.deliveries_per_second),
        if row.cpu_ns_per_delivery.is_empty() {
            f64::NAN
        } else {
            median(&row.cpu_ns_per_delivery)
        },
    )
}

/// The Markdown table of one fan-out workload.
pub(crate) fn fanout_table(
    rows: &[FanoutRow],
    subscribers: usize,
    publish: Publish,
    rounds: usize,
) -> String {
    let mut out = String::new();
    let pace = if publish.rate == 0 {
        "as fast as possible".to_owned()
    } else {
        format!("{} per second", publish.rate)
    };
    let _ = writeln!(
        out,
        "\nFan-out: {subscribers} subscribers, {} events of {} {pace}, {rounds} round(s), medians (ratios: the median of each round's ratio)\n",
        publish.n,
        size(publish.size)
    );
    out.push_str("| variant | deliveries/s | p50 | p99 | max | server CPU per delivery | deliveries/s, ours / built-in | server CPU, built-in / ours |\n");
    out.push_str("|---|---|---|---|---|---|---|---|\n");
    for row in rows {
        let (deliveries, cpu) = fanout_medians(row);
        let reference = row
            .of
            .and_then(Variant::reference)
            .and_then(|r| rows.iter().find(|other| other.of == Some(r)));
        let (vs_rate, vs_cpu) = match reference {
            Some(reference) => (
                format!(
                    "{:.2}x {}",
                    paired(&row.deliveries_per_second, &reference.deliveries_per_second),
                    reference.variant
                ),
                less(paired(
                    &reference.cpu_ns_per_delivery,
                    &row.cpu_ns_per_delivery,
                )),
            ),
            None => (String::new(), String::new()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {} | {vs_rate} | {vs_cpu} |",
            row.variant,
            rate(deliveries),
            median(&row.p50_ms),
            median(&row.p99_ms),
            median(&row.max_ms),
            nanos(cpu)
        );
    }
    out
}

/// The JSON of one fan-out workload, with each of ours against its built-in
/// reference.
pub(crate) fn fanout_json(
    rows: &[FanoutRow],
    subscribers: usize,
    publish: Publish,
    rounds: usize,
) -> serde_json::Value {
    // Ours against its reference: deliveries/s ours / built-in; CPU per delivery and
    // latencies built-in / ours (above 1: ours is better), medians of paired rounds.
    let ratios: Vec<serde_json::Value> = rows
        .iter()
        .filter_map(|row| {
            let reference = row.of?.reference()?;
            let other = rows.iter().find(|other| other.of == Some(reference))?;
            Some(serde_json::json!({
                "variant": row.variant, "reference": other.variant,
                "deliveries_per_second": finite(paired(&row.deliveries_per_second, &other.deliveries_per_second)),
                "cpu": finite(paired(&other.cpu_ns_per_delivery, &row.cpu_ns_per_delivery)),
                "p50": finite(paired(&other.p50_ms, &row.p50_ms)),
                "p99": finite(paired(&other.p99_ms, &row.p99_ms)),
            }))
        })
        .collect();
    serde_json::json!({
        "workload": { "kind": "fanout", "subscribers": subscribers, "events": publish.n, "size": publish.size, "rate": publish.rate, "rounds": rounds },
        "results": rows,
        "ratios": ratios,
    })
}

/// The Markdown table of idle memory, with each of ours against its built-in.
pub(crate) fn memory_table(table: &[(usize, Variant, f64)]) -> String {
    let mut out = String::from(
        "\nIdle memory: the server's resident memory growth per open, idle event stream\n\n| variant | connections | KiB per connection | ours − built-in |\n|---|---|---|---|\n",
    );
    for &(count, variant, bytes) in table {
        let versus = variant
            .reference()
            .and_then(|r| {
                table
                    .iter()
                    .find(|(c, v, _)| *c == count && *v == r)
                    .map(|(_, _, reference)| format!("{:+.1} KiB", (bytes - reference) / 1024.0))
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| {} | {count} | {:.1} | {versus} |",
            variant.name(),
            bytes / 1024.0
        );
    }
    out
}

/// The JSON of idle memory.
pub(crate) fn memory_json(table: &[(usize, Variant, f64)]) -> serde_json::Value {
    let results: Vec<_> = table
        .iter()
        .map(|(count, variant, bytes)| serde_json::json!({ "variant": variant.name(), "connections": count, "bytes_per_connection": bytes }))
        .collect();
    serde_json::json!({ "workload": { "kind": "idle-memory" }, "results": results })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_nothing_is_not_a_number() {
        assert!(median(&[]).is_nan());
        assert!((median(&[3.0, 1.0, 2.0]) - 2.0).abs() < f64::EPSILON);
    }

    #[test]
    fn ratios_say_which_way() {
        assert_eq!(less(3.0), "3.00x less");
        assert_eq!(less(0.9), "**0.90x (ours uses more)**");
        assert_eq!(less_than(2.5, "Go"), "2.50x less than Go");
        assert_eq!(less_than(0.9, "Go"), "**0.90x (ours uses more than Go)**");
        // Round by round: a slow round of both does not skew the ratio.
        assert_eq!(paired(&[2.0, 20.0, 4.0], &[1.0, 10.0, 1.0]), 2.0);
        assert_eq!(size(65536), "64 KiB");
        assert_eq!(size(64), "64 B");
        assert_eq!(nanos(1234.0), "1234 ns");
        assert_eq!(nanos(45_600.0), "45.6 µs");
    }
}
