//! The suite as CI runs it: our client passes every scenario, and the whole table
//! builds for every client without hanging.

use std::sync::Arc;
use std::time::Duration;

use client_compare::clients::{self, Adapter, Ours};
use client_compare::run_suite;
use client_compare::scenarios::{self, Verdict};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ours_passes_every_scenario() {
    let ours: Vec<Arc<dyn Adapter>> = vec![Arc::new(Ours)];
    let scenarios = scenarios::all();
    let table = run_suite(&ours, &scenarios).await;
    assert_eq!(table.rows.len(), scenarios.len());
    let failures = table.failures(0);
    assert!(
        failures.is_empty(),
        "sse-rs-client failed {} scenario(s):\n{}",
        failures.len(),
        failures
            .iter()
            .map(|(name, verdict)| format!("- {name}: {verdict:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Every scenario against every client: each run is bounded by `RUN_LIMIT`, so the
/// whole suite is bounded by scenarios × `RUN_LIMIT` (the clients of a scenario run
/// at the same time); in practice it takes about a minute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_table_builds_for_every_client_without_hanging() {
    let clients = clients::all();
    let scenarios = scenarios::all();
    let bound =
        scenarios::RUN_LIMIT * u32::try_from(scenarios.len()).unwrap() + Duration::from_secs(30);
    let table = tokio::time::timeout(bound, run_suite(&clients, &scenarios))
        .await
        .expect("the suite finishes within its bound");
    assert_eq!(table.clients.len(), 4);
    assert_eq!(table.rows.len(), scenarios.len());
    for row in &table.rows {
        assert_eq!(row.verdicts.len(), 4, "{}", row.name);
        // Our column is the first one; the suite must not judge it differently when
        // it runs next to the others.
        assert_eq!(row.verdicts[0], Verdict::Pass, "{}", row.name);
    }
    let markdown = table.markdown();
    assert_eq!(markdown.lines().count(), scenarios.len() + 3);
    for scenario in &scenarios {
        assert!(markdown.contains(scenario.name), "{}", scenario.name);
    }
    // The other clients are not all-pass: the table shows differences, which is
    // what it is for (if this ever fails, the comparison needs new scenarios).
    assert!((1..4).any(|column| !table.failures(column).is_empty()));
}
