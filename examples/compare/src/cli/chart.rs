//! The SVG charts of BENCHMARKS.md: each of ours against its built-in reference, as
//! ratios, one bar per framework pair.

use std::fmt::Write as _;

use compare::Variant;

/// The framework pairs: ours and its built-in reference.
pub(crate) const PAIRS: [(Variant, Variant, &str); 3] = [
    (
        Variant::SseAxum,
        Variant::AxumBuiltin,
        "sse-axum / axum built-in",
    ),
    (
        Variant::SseWarp,
        Variant::WarpBuiltin,
        "sse-warp / warp built-in",
    ),
    (
        Variant::SseActix,
        Variant::ActixWebLab,
        "sse-actix / actix-web-lab",
    ),
];

/// A horizontal bar chart of ratios, in groups (one per workload), one bar per
/// framework pair, with a line at 1 (the same as the built-in). Plain SVG.
pub(crate) fn ratio_chart(title: &str, note: &str, groups: &[(String, [f64; 3])]) -> String {
    const COLORS: [&str; 3] = ["#3b6fb6", "#d9822b", "#3a9a5b"];
    const LEFT: f64 = 120.0;
    const WIDTH: f64 = 760.0;
    const BAR: f64 = 16.0;
    const GAP: f64 = 14.0;
    let plot = WIDTH - LEFT - 70.0;
    let top = 58.0;
    let max = groups
        .iter()
        .flat_map(|(_, values)| values.iter().copied())
        .filter(|v| v.is_finite())
        .fold(1.0_f64, f64::max)
        * 1.1;
    let x = |value: f64| LEFT + plot * value / max;
    let group_height = 3.0 * BAR + GAP;
    let height = top + group_height * groups.len() as f64 + 40.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" font-family="sans-serif" font-size="12">"##
    );
    let _ = writeln!(
        svg,
        r##"<rect width="100%" height="100%" fill="#ffffff"/><text x="10" y="20" font-size="15" font-weight="bold">{}</text><text x="10" y="38" fill="#555">{}</text>"##,
        escape(title),
        escape(note)
    );
    for (i, (_, _, label)) in PAIRS.iter().enumerate() {
        let lx = LEFT + i as f64 * 200.0;
        let _ = writeln!(
            svg,
            r##"<rect x="{lx}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}">{}</text>"##,
            top - 14.0,
            COLORS[i],
            lx + 14.0,
            top - 5.0,
            escape(label)
        );
    }
    for (g, (name, values)) in groups.iter().enumerate() {
        let y0 = top + 6.0 + g as f64 * group_height;
        let _ = writeln!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="end">{}</text>"##,
            LEFT - 8.0,
            y0 + 1.5 * BAR + 4.0,
            escape(name)
        );
        for (i, &value) in values.iter().enumerate() {
            let y = y0 + i as f64 * BAR;
            if !value.is_finite() {
                continue;
            }
            let _ = writeln!(
                svg,
                r##"<rect x="{LEFT}" y="{y}" width="{:.1}" height="{}" fill="{}"/><text x="{:.1}" y="{}">{value:.2}x</text>"##,
                (x(value) - LEFT).max(1.0),
                BAR - 3.0,
                COLORS[i],
                x(value) + 4.0,
                y + BAR - 5.0
            );
        }
    }
    let bottom = top + group_height * groups.len() as f64 + 6.0;
    let _ = writeln!(
        svg,
        r##"<line x1="{0:.1}" y1="{1}" x2="{0:.1}" y2="{2}" stroke="#222" stroke-dasharray="4 3"/><text x="{0:.1}" y="{3}" text-anchor="middle" fill="#222">1x = the built-in</text>"##,
        x(1.0),
        top - 2.0,
        bottom,
        bottom + 16.0
    );
    svg.push_str("</svg>\n");
    svg
}

/// `text` with `&`, `<` and `>` escaped for SVG.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chart is well-formed SVG with one bar per finite value, labelled with the
    /// ratio, and the line at 1x; a missing value draws no bar.
    #[test]
    fn a_ratio_chart_has_a_bar_per_value_and_the_line_at_one() {
        let svg = ratio_chart(
            "title <&>",
            "note",
            &[
                ("64 B".to_owned(), [3.5, 2.0, 1.25]),
                ("1 KiB".to_owned(), [0.8, f64::NAN, 1.0]),
            ],
        );
        assert!(svg.starts_with("<svg ") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("title &lt;&amp;&gt;"));
        for label in [
            "3.50x",
            "2.00x",
            "1.25x",
            "0.80x",
            "1.00x",
            "1x = the built-in",
        ] {
            assert!(svg.contains(label), "{label} missing");
        }
        // 3 legend swatches, 5 bars (the missing value has none), the background.
        assert_eq!(svg.matches("<rect").count(), 1 + 3 + 5);
    }
}
