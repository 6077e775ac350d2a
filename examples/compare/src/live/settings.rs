//! The benchmarks' settings as the page sends them, checked and turned into the
//! tool's arguments.

use serde::Deserialize;

/// The race's settings, from the page.
#[derive(Debug, Deserialize)]
pub(super) struct RaceQuery {
    events: u64,
    size: usize,
    #[serde(default = "one")]
    rounds: usize,
    /// `none`, or the coding of a compressed race.
    #[serde(default = "none")]
    compress: String,
}

/// The fan-out's settings, from the page.
#[derive(Debug, Deserialize)]
pub(super) struct FanoutQuery {
    subscribers: usize,
    rate: u64,
    events: u64,
    #[serde(default = "sixty_four")]
    size: usize,
}

fn one() -> usize {
    1
}

fn sixty_four() -> usize {
    64
}

fn none() -> String {
    "none".into()
}

/// The codings a race may be compressed with (`bench --compress`).
const CODINGS: [&str; 3] = ["gzip", "br", "zstd"];

impl RaceQuery {
    /// The arguments of `compare bench`, or why the settings are refused.
    pub(super) fn args(&self) -> Result<Vec<String>, String> {
        if !(1000..=2_000_000).contains(&self.events) {
            return Err("events: from 1000 to 2000000".into());
        }
        if !(1..=65536).contains(&self.size) {
            return Err("size: from 1 to 65536 bytes".into());
        }
        if !(1..=5).contains(&self.rounds) {
            return Err("rounds: from 1 to 5".into());
        }
        let compress = self.compress.as_str();
        if compress != "none" && !CODINGS.contains(&compress) {
            return Err("compress: none, gzip, br or zstd".into());
        }
        // A burst carries at most 256 MiB of data (the tool's bound): fewer events
        // when they are large, never fewer than 1000.
        let mut args: Vec<String> = vec![
            "bench".into(),
            "--events".into(),
            self.events.to_string(),
            "--sizes".into(),
            self.size.to_string(),
            "--rounds".into(),
            self.rounds.to_string(),
        ];
        // Uncompressed: the same command as before there was a choice.
        if compress != "none" {
            args.extend(["--compress".into(), compress.into()]);
        }
        Ok(args)
    }
}

impl FanoutQuery {
    /// The arguments of `compare fanout`, or why the settings are refused.
    pub(super) fn args(&self) -> Result<Vec<String>, String> {
        if !(1..=2000).contains(&self.subscribers) {
            return Err("subscribers: from 1 to 2000".into());
        }
        if !(1..=4096).contains(&self.events) {
            return Err("events: from 1 to 4096 (the broadcast queues' size)".into());
        }
        if self.rate > 100_000 {
            return Err("rate: at most 100000 per second (0: as fast as possible)".into());
        }
        if !(20..=65536).contains(&self.size) {
            return Err("size: from 20 to 65536 bytes".into());
        }
        // The tool gives each run a minute.
        if self.rate > 0 && self.events > 50 * self.rate {
            return Err("events ÷ rate: at most 50 s of publishing".into());
        }
        Ok(vec![
            "fanout".into(),
            "--subscribers".into(),
            self.subscribers.to_string(),
            "--rate".into(),
            self.rate.to_string(),
            "--events".into(),
            self.events.to_string(),
            "--size".into(),
            self.size.to_string(),
            "--rounds".into(),
            "1".into(),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_out_of_bounds_are_refused_with_why() {
        let race = |events, size, rounds| RaceQuery {
            events,
            size,
            rounds,
            compress: "none".into(),
        };
        assert_eq!(
            race(20_000, 64, 1).args().unwrap(),
            ["bench", "--events", "20000", "--sizes", "64", "--rounds", "1"]
        );
        for (bad, why) in [
            (race(999, 64, 1), "events"),
            (race(3_000_000, 64, 1), "events"),
            (race(20_000, 0, 1), "size"),
            (race(20_000, 65537, 1), "size"),
            (race(20_000, 64, 0), "rounds"),
            (race(20_000, 64, 6), "rounds"),
        ] {
            assert!(bad.args().unwrap_err().starts_with(why), "{bad:?}");
        }
        for coding in ["gzip", "br", "zstd"] {
            let compressed = RaceQuery {
                compress: coding.into(),
                ..race(20_000, 64, 1)
            };
            assert_eq!(
                compressed.args().unwrap()[7..],
                ["--compress", coding],
                "{compressed:?}"
            );
        }
        for bad in ["deflate", "identity", "GZIP", "", "gzip,br"] {
            let refused = RaceQuery {
                compress: bad.into(),
                ..race(20_000, 64, 1)
            };
            assert!(
                refused.args().unwrap_err().starts_with("compress"),
                "{refused:?}"
            );
        }
        let fan = |subscribers, rate, events, size| FanoutQuery {
            subscribers,
            rate,
            events,
            size,
        };
        assert_eq!(
            fan(20, 100, 60, 64).args().unwrap()[..3],
            ["fanout", "--subscribers", "20"]
        );
        for (bad, why) in [
            (fan(0, 100, 60, 64), "subscribers"),
            (fan(2001, 100, 60, 64), "subscribers"),
            (fan(20, 100_001, 60, 64), "rate"),
            (fan(20, 100, 0, 64), "events"),
            (fan(20, 100, 4097, 64), "events"),
            (fan(20, 100, 60, 19), "size"),
            (fan(20, 10, 501, 64), "events ÷ rate"),
        ] {
            assert!(bad.args().unwrap_err().starts_with(why), "{bad:?}");
        }
    }
}
