//! The server CPU time the benchmarks divide by events. One test in its own binary:
//! a thread of another test that ended meanwhile would take its time away from the
//! process's sum.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

/// The server CPU time the benchmarks divide by events: the sum over the process's
/// threads (a server's threads live as long as it does; a thread that has ended no
/// longer counts, so the other thread here stays alive until the end).
#[test]
fn cpu_time_counts_every_thread() {
    fn own_cpu_ns() -> u64 {
        std::fs::read_to_string("/proc/thread-self/schedstat")
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }
    fn spin() -> u64 {
        let start = own_cpu_ns();
        let mut x = 0_u64;
        for _ in 0..200_000_000_u64 {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        own_cpu_ns() - start
    }
    let pid = std::process::id();
    let before = compare::cpu_ns(pid).unwrap();
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let (spent, got) = std::sync::mpsc::channel::<u64>();
    let other = std::thread::spawn(move || {
        spent.send(spin()).unwrap();
        let _ = wait.recv();
    });
    let mine = spin();
    let theirs = got.recv().unwrap();
    let used = compare::cpu_ns(pid).unwrap() - before;
    done.send(()).unwrap();
    other.join().unwrap();
    assert!(
        used >= mine + theirs,
        "{used} ns for the process, {mine} + {theirs} ns for the two threads"
    );
}
