//! The page: what it shows, as JSON inside `index.html` (a page opened from the file system may
//! not fetch files, so the data travels inside it), the style sheet and the script that draws
//! the panels from it.

use serde::Serialize;

/// Dice and Hausdorff distance of one class in one panel.
#[derive(Debug, Clone, Serialize)]
pub struct ClassMetric {
    pub class: usize,
    /// `(2|P∩T| + 1e-8) / (|P| + |T| + 1e-8)`: 1 when both masks are empty.
    pub dice: f64,
    /// In the view's units; 0 when both masks are empty, the slice's diagonal when exactly one is.
    pub hd: f64,
    /// Which mask was empty (`prediction`, `truth`, `both`), if one was.
    pub empty: Option<&'static str>,
}

/// One run's panel of one slice at one epoch.
#[derive(Debug, Clone, Serialize)]
pub struct PanelRecord {
    pub epoch: usize,
    /// The overlays' file stem (`_fill.png`, `_line.png` follow); none for an all-background map.
    pub overlay: Option<String>,
    pub metrics: Vec<ClassMetric>,
}

/// One slice (a row of the page).
#[derive(Debug, Clone, Serialize)]
pub struct SliceRecord {
    pub name: String,
    pub patient: String,
    pub image: String,
    /// The truth overlays' file stem (`_fill`, `_line`, `_outline`); none without foreground.
    pub truth: Option<String>,
    /// Pixels of each metric class in the truth.
    pub areas: Vec<usize>,
    /// Display size (cropped and enlarged), pixels.
    pub width: usize,
    pub height: usize,
    /// Per run, per shown epoch of that run.
    pub runs: Vec<Vec<PanelRecord>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClassRecord {
    pub index: usize,
    pub colour: String,
    /// Whether the panels show this class's metrics.
    pub metric: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    pub name: String,
    pub epochs: Vec<usize>,
    pub best: Option<usize>,
}

/// Everything the script needs.
#[derive(Debug, Clone, Serialize)]
pub struct ViewRecord {
    pub title: String,
    pub units: String,
    pub zoom: usize,
    pub per_page: usize,
    pub classes: Vec<ClassRecord>,
    pub metric_classes: Vec<usize>,
    pub truth_outline: String,
    pub runs: Vec<RunRecord>,
    pub slices: Vec<SliceRecord>,
}

const STYLE: &str = include_str!("../assets/viewer.css");
const SCRIPT: &str = include_str!("../assets/viewer.js");

/// Text for an HTML element or attribute.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON that cannot end the `<script>` element holding it (`</script>` inside a name, say).
fn script_safe_json(record: &ViewRecord) -> String {
    serde_json::to_string(record)
        .expect("the records serialise")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The whole `index.html`.
pub fn html(record: &ViewRecord) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
{STYLE}</style>
</head>
<body>
<header>
  <h1>{title}</h1>
  <div id="controls"></div>
  <div id="legend"></div>
  <p id="status" role="status"></p>
</header>
<main id="rows"></main>
<footer id="help"></footer>
<script type="application/json" id="view-data">{json}</script>
<script>
{SCRIPT}</script>
</body>
</html>
"#,
        title = escape_html(&record.title),
        json = script_safe_json(record),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str) -> ViewRecord {
        ViewRecord {
            title: "a <b> & c".into(),
            units: "mm".into(),
            zoom: 2,
            per_page: 3,
            classes: vec![],
            metric_classes: vec![1],
            truth_outline: "#ffffff".into(),
            runs: vec![RunRecord {
                name: name.into(),
                epochs: vec![0],
                best: Some(0),
            }],
            slices: vec![],
        }
    }

    #[test]
    fn names_cannot_break_out_of_the_page() {
        let page = html(&record("</script><script>alert(1)</script>"));
        assert_eq!(page.matches("</script>").count(), 2, "{page}");
        assert!(page.contains("<title>a &lt;b&gt; &amp; c</title>"));
        let start = page.find(r#"id="view-data">"#).unwrap() + 15;
        let end = start + page[start..].find("</script>").unwrap();
        let data: serde_json::Value = serde_json::from_str(&page[start..end]).unwrap();
        assert_eq!(
            data["runs"][0]["name"],
            "</script><script>alert(1)</script>"
        );
    }
}
