//! The page itself: plain HTML, CSS and a script, with the servers' ports and the
//! benchmarks' variants filled in.

/// The servers of the live page, in the order of their ports after the page's.
pub const SERVERS: [&str; 4] = ["hyper", "axum", "actix-web", "warp"];

/// The page: plain HTML, CSS and a script, nothing fetched from elsewhere.
const PAGE: &str = include_str!("../../page.html");

/// The page for servers on `ports`: the ports go into the script, which builds each
/// frame's address from the host the page was opened at.
#[must_use]
pub fn page(ports: [u16; 4]) -> String {
    let servers: Vec<serde_json::Value> = SERVERS
        .iter()
        .zip(ports)
        .map(|(name, port)| serde_json::json!({ "name": name, "port": port }))
        .collect();
    let races: Vec<serde_json::Value> = compare_variants(&crate::Variant::BURST);
    let fanouts: Vec<serde_json::Value> = compare_variants(&crate::Variant::ALL);
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let config = serde_json::json!({
        "servers": servers, "race": races, "fanout": fanouts, "build": build,
    });
    // JSON in a script: `<` escaped so that no value can close the element.
    PAGE.replace(
        "/*CONFIG*/null",
        &config.to_string().replace('<', "\\u003c"),
    )
}

/// The variants a panel shows, each with the built-in it is compared with.
fn compare_variants(variants: &[crate::Variant]) -> Vec<serde_json::Value> {
    variants
        .iter()
        .map(|v| serde_json::json!({ "name": v.name(), "reference": v.reference().map(crate::Variant::name) }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_carries_the_servers_and_variants_as_json() {
        let html = page([9001, 9002, 9003, 9004]);
        assert!(!html.contains("/*CONFIG*/"), "the placeholder is filled");
        let config = html
            .split_once("const CONFIG = ")
            .and_then(|(_, rest)| rest.split_once(";\n"))
            .map(|(json, _)| json)
            .expect("the config");
        let config: serde_json::Value = serde_json::from_str(config).expect("JSON");
        for (i, name) in SERVERS.iter().enumerate() {
            assert_eq!(config["servers"][i]["name"], *name);
            assert_eq!(config["servers"][i]["port"], 9001 + i);
        }
        assert_eq!(config["race"].as_array().map(Vec::len), Some(8));
        assert_eq!(config["fanout"].as_array().map(Vec::len), Some(7));
        assert_eq!(config["race"][0]["reference"], "axum built-in");
        // Nothing fetched from elsewhere: no CDN, no external script or style.
        for external in ["<script src", "<link", "https://", "@import"] {
            assert!(!html.contains(external), "{external}");
        }
    }
}
