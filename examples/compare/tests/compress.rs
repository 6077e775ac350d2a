//! `compare compress` at a tiny size: every row of every table is there, every
//! stream decoded to every event (the client checks each response's
//! `Content-Encoding`, so a setup that did not compress fails), and the compressed
//! token stream takes fewer bytes than identity, with the stream's own compression
//! and with tower-http's. And `compare bench --compress`: the race, compressed.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::process::Command;

#[test]
fn the_subcommand_measures_every_cell_and_compression_saves_bytes() {
    let json = std::env::temp_dir().join(format!("compare-compress-{}.json", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_compare"))
        .args([
            "compress",
            "--events",
            "50",
            "--rounds",
            "1",
            "--streams",
            "2",
            "--subscribers",
            "10",
            "--fanout-events",
            "20",
            "--fanout-rate",
            "500",
            "--json",
        ])
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // Every row of the Markdown tables: 2 patterns x 3 payloads x 2 setups x 4
    // codings, then the fan-out's 4.
    for payload in ["token", "progress", "ticker"] {
        for server in ["sse-axum `.compress`", "axum built-in + tower-http"] {
            for coding in ["identity", "gzip", "br", "zstd"] {
                let row = format!("| {payload} | {server} | {coding} |");
                assert_eq!(stdout.matches(&row).count(), 2, "{row} in\n{stdout}");
            }
        }
    }
    for coding in ["identity", "gzip", "br", "zstd"] {
        assert_eq!(
            stdout.matches(&format!("\n| {coding} | ")).count(),
            1,
            "fan-out {coding} in\n{stdout}"
        );
    }

    // The token stream: fewer bytes compressed than not, in both setups and both
    // patterns, and in the fan-out.
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let _ = std::fs::remove_file(&json);
    let bytes = |cell: &serde_json::Value| {
        cell["rounds"][0]["body_bytes_per_event"]
            .as_f64()
            .expect("one round")
    };
    let streams = report["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 48);
    for cell in streams.iter().filter(|cell| cell["payload"] == "token") {
        let identity = streams
            .iter()
            .find(|other| {
                other["payload"] == "token"
                    && other["pattern"] == cell["pattern"]
                    && other["setup"] == cell["setup"]
                    && other["coding"] == "identity"
            })
            .unwrap();
        assert!(bytes(identity) > 200.0, "{identity}");
        if cell["coding"] != "identity" {
            assert!(
                bytes(cell) * 5.0 < bytes(identity),
                "{cell} against {identity}"
            );
        }
    }
    let fanout = report["fanout"].as_array().unwrap();
    assert_eq!(fanout.len(), 4);
    let identity = bytes(&fanout[0]);
    for cell in &fanout[1..] {
        assert!(bytes(cell) * 5.0 < identity, "{cell}");
        assert_eq!(cell["rounds"][0]["events"], 200, "every delivery: {cell}");
    }
}

/// `compare bench --compress` at a tiny size, each coding once: every variant that
/// can compress delivers every event (the bench checks each count, the client each
/// `Content-Encoding`), those that cannot say why, and ours take far fewer bytes on
/// the wire per event than the uncompressed events carry.
#[test]
fn the_race_compressed_delivers_every_event_in_fewer_bytes() {
    use compare::compress::Encoding;
    use compare::Variant;
    for coding in [Encoding::Gzip, Encoding::Brotli, Encoding::Zstd] {
        let json = std::env::temp_dir().join(format!(
            "compare-race-{}-{}.json",
            coding.name(),
            std::process::id()
        ));
        let output = Command::new(env!("CARGO_BIN_EXE_compare"))
            .args([
                "bench", "--events", "1000", "--sizes", "64", "--rounds", "1",
            ])
            .args(["--compress", coding.name(), "--json"])
            .arg(&json)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{}: {stdout}\n{}",
            coding.name(),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            stdout.contains(&format!("compressed with {}", coding.name())),
            "{stdout}"
        );
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        let _ = std::fs::remove_file(&json);
        let result = &report["results"][0];
        assert_eq!(result["compress"], coding.name(), "{report}");
        let rows = result["rows"].as_array().unwrap();
        assert_eq!(rows.len(), Variant::BURST.len(), "{report}");
        for variant in Variant::BURST {
            let row = rows
                .iter()
                .find(|row| row["variant"] == variant.name())
                .unwrap();
            match variant.compression(coding) {
                Err(why) => {
                    assert_eq!(row["not_raced"], why, "{row}");
                    continue;
                }
                // actix-web-lab's `Sse` answers `Content-Encoding: identity`, which
                // actix-web's `Compress` leaves alone: the race says so.
                Ok(_) if variant == Variant::ActixWebLab && row["not_raced"].is_string() => {
                    assert_eq!(
                        row["not_raced"], "not compressed: content-encoding identity",
                        "{row}"
                    );
                    continue;
                }
                Ok(how) => assert_eq!(row["compressed_by"], how, "{row}"),
            }
            assert!(row["not_raced"].is_null(), "{row}");
            assert!(row["events_per_second"][0].as_f64().unwrap() > 0.0, "{row}");
            let wire = row["wire_bytes_per_event"][0].as_f64().unwrap();
            // Uncompressed, each event is "id: N\nevent: tick\ndata: " with 64 bytes
            // of data and two line breaks: 89 bytes and N's digits, before framing.
            assert!(wire > 0.0, "{row}");
            if [
                Variant::SseAxum,
                Variant::SseWarp,
                Variant::SseActix,
                Variant::HyperSseCore,
            ]
            .contains(&variant)
            {
                assert!(wire * 4.0 < 89.0, "{}: {row}", coding.name());
            }
        }
    }
}
