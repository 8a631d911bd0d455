//! `boundary-loss view` as users run it: two trained runs, the page it writes (numbers against
//! brute force), its errors, and the page opened in headless Chromium (panels, no script error,
//! keyboard, a screenshot whose panels are not blank).
//!
//! The browser part needs Chromium (`/usr/bin/chromium`, or `$CHROMIUM`); without it that part is
//! skipped with a warning, unless `REQUIRE_BROWSER=1` (CI installs Chromium and sets it).

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use common::{boundary_loss, failed, ok, prepared, RUN_FILE};
use headless_chrome::Tab;

/// The value of `js` in the page, through JSON.
fn evaluate(tab: &Tab, js: &str) -> serde_json::Value {
    let value = tab
        .evaluate(&format!("JSON.stringify({js})"), false)
        .unwrap()
        .value
        .unwrap_or_else(|| panic!("{js}: no value"));
    serde_json::from_str(value.as_str().unwrap()).unwrap()
}

/// Waits (5 s at most) until `js` is true in the page.
fn wait_for(tab: &Tab, js: &str) {
    for _ in 0..100 {
        if evaluate(tab, js) == serde_json::Value::Bool(true) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("timed out waiting for {js}");
}

/// Two Dimwit runs (seeds 0 and 1, 3 epochs) on 2 validation patients x 4 slices, made once.
fn runs() -> &'static (tempfile::TempDir, PathBuf, PathBuf) {
    static RUNS: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    RUNS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let run_file = prepared(dir.path(), RUN_FILE, 2, 2);
        let mut outs = Vec::new();
        for seed in ["0", "1"] {
            let out = dir
                .path()
                .join("runs")
                .join("gdl")
                .join(format!("seed{seed}"));
            ok(&boundary_loss(&[
                "train",
                run_file.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--epochs",
                "3",
                "--seed",
                seed,
            ]));
            outs.push(out);
        }
        let b = outs.pop().unwrap();
        let a = outs.pop().unwrap();
        (dir, a, b)
    })
}

/// `view` of both runs over all epochs, 2 slices per page, made once through the command line:
/// what the numbers test and the browser test read.
fn all_epochs_view() -> &'static PathBuf {
    static VIEW: OnceLock<PathBuf> = OnceLock::new();
    VIEW.get_or_init(|| {
        let (dir, a, b) = runs();
        let out = dir.path().join("view-all");
        let stdout = ok(&view(&[
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--epoch",
            "all",
            "--per-page",
            "2",
            "--out",
            out.to_str().unwrap(),
        ]));
        assert!(stdout.contains("8 slices x 2 runs"), "{stdout}");
        out
    })
}

fn page_data(index: &Path) -> serde_json::Value {
    let page = std::fs::read_to_string(index).unwrap();
    let start = page.find(r#"id="view-data">"#).unwrap() + 15;
    let end = start + page[start..].find("</script>").unwrap();
    serde_json::from_str(&page[start..end]).unwrap()
}

fn view(args: &[&str]) -> std::process::Output {
    let mut all = vec!["view"];
    all.extend_from_slice(args);
    boundary_loss(&all)
}

/// Dice of class 1 from two label maps, brute force.
fn dice(predicted: &[u32], truth: &[u32]) -> f64 {
    let count = |m: &[u32]| m.iter().filter(|&&l| l == 1).count() as f64;
    let both = predicted
        .iter()
        .zip(truth)
        .filter(|(&p, &t)| p == 1 && t == 1)
        .count() as f64;
    (2.0 * both + 1e-8) / (count(predicted) + count(truth) + 1e-8)
}

fn labels(path: &Path) -> Vec<u32> {
    volume_io::read_label_map(path)
        .unwrap()
        .labels
        .iter()
        .copied()
        .collect()
}

/// Hausdorff distance of class 1 in mm, brute force over every pair of surface pixels (a
/// pixel of the mask with a 4-neighbour outside it or on the image's edge).
fn hausdorff(predicted: &[u32], truth: &[u32], side: usize, spacing: [f64; 2]) -> f64 {
    let surface = |m: &[u32]| -> Vec<(usize, usize)> {
        let at = |y: isize, x: isize| {
            y >= 0
                && x >= 0
                && (y as usize) < side
                && (x as usize) < side
                && m[y as usize * side + x as usize] == 1
        };
        (0..side * side)
            .map(|i| (i / side, i % side))
            .filter(|&(y, x)| {
                let (y, x) = (y as isize, x as isize);
                at(y, x) && !(at(y - 1, x) && at(y + 1, x) && at(y, x - 1) && at(y, x + 1))
            })
            .collect()
    };
    let (a, b) = (surface(predicted), surface(truth));
    let d = |p: (usize, usize), q: (usize, usize)| {
        (((p.0 as f64 - q.0 as f64) * spacing[0]).powi(2)
            + ((p.1 as f64 - q.1 as f64) * spacing[1]).powi(2))
        .sqrt()
    };
    let directed = |from: &[(usize, usize)], to: &[(usize, usize)]| {
        from.iter()
            .map(|&p| to.iter().map(|&q| d(p, q)).fold(f64::INFINITY, f64::min))
            .fold(0.0, f64::max)
    };
    directed(&a, &b).max(directed(&b, &a))
}

#[test]
fn the_page_shows_every_slice_of_every_run_with_its_numbers() {
    let (dir, a, b) = runs();
    let out = all_epochs_view();
    let data = page_data(&out.join("index.html"));
    assert_eq!(data["slices"].as_array().unwrap().len(), 8);
    assert_eq!(data["runs"][0]["name"], "gdl seed0");
    assert_eq!(data["runs"][1]["name"], "gdl seed1");
    assert_eq!(data["runs"][0]["epochs"], serde_json::json!([0, 1, 2]));
    let best: usize = std::fs::read_to_string(b.join("best_epoch.txt"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(data["runs"][1]["best"], best);
    let spacing: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("data/val/spacing.json")).unwrap(),
    )
    .unwrap();
    // Every panel's Dice and Hausdorff distance against brute force on the files.
    let mut checked_distances = 0;
    for slice in data["slices"].as_array().unwrap() {
        let name = slice["name"].as_str().unwrap();
        let truth = labels(&dir.path().join(format!("data/val/gt_npy/{name}.npy")));
        let s = &spacing[name];
        let mm = [s[0].as_f64().unwrap(), s[1].as_f64().unwrap()];
        assert_eq!(slice["areas"][0], truth.iter().filter(|&&l| l == 1).count());
        for (r, run) in [a, b].iter().enumerate() {
            for epoch in 0..3 {
                let panel = &slice["runs"][r][epoch];
                assert_eq!(panel["epoch"], epoch);
                let predicted = labels(&run.join(format!("iter{epoch:03}/val/{name}.png")));
                let metric = &panel["metrics"][0];
                let got = metric["dice"].as_f64().unwrap();
                assert!((got - dice(&predicted, &truth)).abs() < 1e-9, "{name}");
                let hd = metric["hd"].as_f64().unwrap();
                match metric["empty"].as_str() {
                    None => {
                        let want = hausdorff(&predicted, &truth, 16, mm);
                        assert!((hd - want).abs() < 1e-9, "{name}: {hd} vs {want}");
                        checked_distances += 1;
                    }
                    Some("both") => assert_eq!(hd, 0.0),
                    Some(_) => {
                        let diagonal = ((16.0 * mm[0]).powi(2) + (16.0 * mm[1]).powi(2)).sqrt();
                        assert!((hd - diagonal).abs() < 1e-9);
                    }
                }
                assert_eq!(
                    panel["overlay"].is_null(),
                    !predicted.contains(&1),
                    "{name}"
                );
            }
        }
    }
    assert!(checked_distances > 0, "no panel had both masks non-empty");
}

#[test]
fn one_epoch_patients_names_and_crop() {
    let (dir, a, b) = runs();
    let out = dir.path().join("view-one");
    ok(&view(&[
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--epoch",
        "1",
        "--names",
        "first,second",
        "--patients",
        "case_03",
        "--crop",
        "2",
        "--zoom",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]));
    let data = page_data(&out.join("index.html"));
    let slices = data["slices"].as_array().unwrap();
    assert_eq!(slices.len(), 4);
    assert!(slices.iter().all(|s| s["patient"] == "case_03_0"));
    assert_eq!(data["runs"][0]["name"], "first");
    assert_eq!(data["runs"][1]["epochs"], serde_json::json!([1]));
    assert_eq!(slices[0]["width"], (16 - 4) * 3);
    let image = image::open(out.join(slices[0]["image"].as_str().unwrap())).unwrap();
    assert_eq!((image.width(), image.height()), (36, 36));
}

#[test]
fn errors_name_the_problem_and_write_nothing() {
    let (dir, a, b) = runs();
    let out = dir.path().join("view-errors");
    let out_str = out.to_str().unwrap();
    let e = failed(&view(&[
        dir.path().join("data").to_str().unwrap(),
        "--out",
        out_str,
    ]));
    assert!(
        e.contains("run.toml") && e.contains("not a run folder"),
        "{e}"
    );
    let e = failed(&view(&[
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--names",
        "one",
        "--out",
        out_str,
    ]));
    assert!(e.contains("1 names for 2 runs"), "{e}");
    let e = failed(&view(&[
        a.to_str().unwrap(),
        "--epoch",
        "7",
        "--out",
        out_str,
    ]));
    assert!(e.contains("iter007") && e.contains("did not save"), "{e}");
    let e = failed(&view(&[
        a.to_str().unwrap(),
        "--patients",
        "nobody",
        "--out",
        out_str,
    ]));
    assert!(e.contains("matches none"), "{e}");
    // A value clap refuses: its usage error (status 2).
    let usage = view(&[a.to_str().unwrap(), "--epoch", "last", "--out", out_str]);
    assert_eq!(usage.status.code(), Some(2));
    let e = String::from_utf8_lossy(&usage.stderr);
    assert!(e.contains("expected best, all or an epoch number"), "{e}");
    assert!(!out.exists());
    // A folder of other files is never replaced.
    let e = failed(&view(&[
        a.to_str().unwrap(),
        "--out",
        dir.path().join("data").to_str().unwrap(),
    ]));
    assert!(e.contains("is not a view"), "{e}");
    assert!(dir.path().join("data/val/spacing.json").is_file());
}

fn chromium() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("CHROMIUM").map(PathBuf::from),
        Some("/usr/bin/chromium".into()),
        Some("/usr/bin/chromium-browser".into()),
        Some("/usr/bin/google-chrome".into()),
    ];
    candidates.into_iter().flatten().find(|p| p.is_file())
}

/// The page in a real browser: a view of both runs over all epochs, 2 slices per page.
#[test]
fn the_page_renders_and_answers_the_keyboard_in_chromium() {
    let Some(browser_path) = chromium() else {
        assert!(
            std::env::var_os("REQUIRE_BROWSER").is_none(),
            "REQUIRE_BROWSER is set but Chromium was not found"
        );
        eprintln!("warning: Chromium not found: the viewer's browser test is skipped");
        return;
    };
    let out = all_epochs_view();
    use headless_chrome::protocol::cdp::types::Event;
    use headless_chrome::{Browser, LaunchOptions};
    let profile = tempfile::tempdir().unwrap();
    let args: Vec<&std::ffi::OsStr> = [
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        "--force-device-scale-factor=1",
    ]
    .iter()
    .map(std::ffi::OsStr::new)
    .collect();
    let browser = Browser::new(LaunchOptions {
        path: Some(browser_path),
        headless: true,
        sandbox: false,
        window_size: Some((1200, 1000)),
        user_data_dir: Some(profile.path().to_path_buf()),
        args,
        ..LaunchOptions::default()
    })
    .expect("Chromium starts");
    let tab = browser.new_tab().unwrap();
    let problems: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = problems.clone();
    tab.add_event_listener(Arc::new(move |event: &Event| {
        let text = match event {
            Event::RuntimeExceptionThrown(e) => Some(format!("exception: {e:?}")),
            Event::LogEntryAdded(e) => Some(format!("log: {e:?}")),
            Event::RuntimeConsoleAPICalled(e) => Some(format!("console: {e:?}")),
            _ => None,
        };
        if let Some(text) = text {
            seen.lock().unwrap().push(text);
        }
    }))
    .unwrap();
    tab.enable_runtime().unwrap();
    tab.enable_log().unwrap();
    let url = format!("file://{}", out.join("index.html").display());
    tab.navigate_to(&url)
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    let eval = |js: &str| evaluate(&tab, js);
    let wait_until = |js: &str| wait_for(&tab, js);
    wait_until("document.body.dataset.ready === '1'");
    // 2 slices x (truth + 2 runs).
    assert_eq!(eval("document.querySelectorAll('figure.panel').length"), 6);
    assert_eq!(eval("document.querySelectorAll('.row').length"), 2);
    let first_rows = eval("[...document.querySelectorAll('.row')].map(r => r.dataset.slice)");
    assert_eq!(
        first_rows,
        serde_json::json!(["case_02_0_0000", "case_02_0_0001"])
    );
    let status = eval("document.getElementById('status').textContent");
    assert!(
        status.as_str().unwrap().starts_with("slices 1–2 of 8"),
        "{status}"
    );
    // Keyboard: next page, next patient, fill mode, epoch back, previous page.
    tab.press_key("ArrowRight").unwrap();
    assert_eq!(
        eval("[...document.querySelectorAll('.row')].map(r => r.dataset.slice)"),
        serde_json::json!(["case_02_0_0002", "case_02_0_0003"])
    );
    tab.press_key("n").unwrap();
    assert_eq!(eval("viewer.state.patient"), "case_02_0");
    tab.press_key("n").unwrap();
    assert_eq!(eval("viewer.state.patient"), "case_03_0");
    assert_eq!(eval("location.hash"), "#patient=case_03_0&epoch=2");
    assert_eq!(
        eval("document.querySelector('.row').dataset.slice"),
        "case_03_0_0000"
    );
    assert_eq!(
        eval("document.getElementById('patient').value"),
        "case_03_0"
    );
    tab.press_key("a").unwrap();
    tab.press_key("c").unwrap();
    assert_eq!(eval("document.body.classList.contains('fill')"), true);
    assert_eq!(eval("viewer.state.epoch"), 2);
    tab.press_key("[").unwrap();
    assert_eq!(eval("viewer.state.epoch"), 1);
    assert!(eval("document.getElementById('status').textContent")
        .as_str()
        .unwrap()
        .contains("epoch 1"));
    assert_eq!(
        eval("[...document.querySelectorAll('figure[data-kind=run] .epoch')].every(n => n.textContent.startsWith('epoch 1'))"),
        true
    );
    tab.press_key("]").unwrap();
    // Sorting by the first run's Dice puts its worst slice first.
    tab.press_key("s").unwrap();
    assert_eq!(eval("viewer.state.sort"), "dice:0");
    let worst = eval(
        "Math.min(...viewer.data.slices.map(s => s.runs[0][2].metrics[0].dice)) === viewer.visibleSlices()[0].runs[0][2].metrics[0].dice",
    );
    assert_eq!(worst, true);
    // No metric line is clipped by its panel on any page, even the longest kind (an empty
    // prediction, a two-digit HD): every run panel is given one, then the page's own values back.
    let pages = "Math.ceil(viewer.visibleSlices().length / viewer.data.per_page)";
    let metrics = "viewer.data.slices.flatMap(s => s.runs.flat().flatMap(p => p.metrics))";
    eval(&format!(
        "(window.savedMetrics = {metrics}.map(m => [m.empty, m.hd]), {metrics}.forEach(m => {{ m.empty = 'prediction'; m.hd = 61.1; }}), 0)"
    ));
    let clipped = eval(&format!(
        "(() => {{ const bad = []; for (let p = 0; p < {pages}; p++) {{ viewer.state.page = p; viewer.render(); document.querySelectorAll('figure[data-kind=run] figcaption .metric').forEach(m => {{ if (!m.textContent.includes('(prediction empty)') || m.scrollWidth > m.clientWidth + 1 || m.getBoundingClientRect().right > m.closest('figure').getBoundingClientRect().right + 1) bad.push(m.textContent); }}); }} return bad; }})()"
    ));
    assert_eq!(
        clipped,
        serde_json::json!([]),
        "metric lines clipped by their panel"
    );
    eval(&format!(
        "({metrics}.forEach((m, i) => {{ [m.empty, m.hd] = window.savedMetrics[i]; }}), viewer.render(), 0)"
    ));
    // Back to slice order, contours, on the page of the first slice with a lesion; every image
    // loads.
    eval("(viewer.state.sort = 'order', viewer.state.mode = 'contour', viewer.state.page = Math.floor(viewer.data.slices.findIndex(s => s.truth) / 2), viewer.render(), 0)");
    eval("([...document.images].forEach(i => i.loading = 'eager'), 0)");
    wait_until("[...document.images].every(i => i.complete)");
    assert_eq!(
        eval("[...document.images].filter(i => i.naturalWidth === 0).map(i => i.src)"),
        serde_json::json!([])
    );
    let lesion_row = eval("[...document.querySelectorAll('.row')].findIndex(r => viewer.data.slices.find(s => s.name === r.dataset.slice).truth)");
    let rects = eval("[...document.querySelectorAll('figure.panel .stack')].map(s => { const r = s.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })");
    let png = tab
        .capture_screenshot(
            headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption::Png,
            None,
            None,
            true,
        )
        .unwrap();
    let shot = std::env::temp_dir().join("boundary-loss-view-screenshot.png");
    std::fs::write(&shot, &png).unwrap();
    eprintln!("screenshot: {}", shot.display());
    let image = image::load_from_memory(&png).unwrap().to_rgb8();
    let panels = rects.as_array().unwrap();
    assert_eq!(panels.len(), 6);
    let yellow = viewer::palette::class_colour(1);
    for (p, rect) in panels.iter().enumerate() {
        let r: Vec<u32> = rect
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap().round() as u32)
            .collect();
        assert!(r[2] > 20 && r[3] > 20, "panel {p} is {r:?}");
        let pixels: Vec<[u8; 3]> = (r[1]..r[1] + r[3])
            .flat_map(|y| (r[0]..r[0] + r[2]).map(move |x| (x, y)))
            .filter(|&(x, y)| x < image.width() && y < image.height())
            .map(|(x, y)| image.get_pixel(x, y).0)
            .collect();
        assert!(!pixels.is_empty(), "panel {p} is off the screen: {r:?}");
        let mean = pixels.iter().map(|p| f64::from(p[0])).sum::<f64>() / pixels.len() as f64;
        let spread = (pixels
            .iter()
            .map(|p| (f64::from(p[0]) - mean).powi(2))
            .sum::<f64>()
            / pixels.len() as f64)
            .sqrt();
        assert!(spread > 5.0, "panel {p} looks blank (std {spread})");
        // The truth panel of the lesion's row shows the class colour (contours are opaque).
        if p == 3 * lesion_row.as_u64().unwrap() as usize {
            assert!(
                pixels
                    .iter()
                    .any(|q| (0..3).all(|c| (i32::from(q[c]) - i32::from(yellow[c])).abs() <= 3)),
                "no class-1 contour in the truth panel {p}"
            );
        }
    }
    // A link with a state in its address opens on that state.
    let linked = browser.new_tab().unwrap();
    linked
        .navigate_to(&format!("{url}#patient=case_03_0&page=2&mode=fill&epoch=0"))
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    wait_for(&linked, "document.body.dataset.ready === '1'");
    assert_eq!(
        evaluate(
            &linked,
            "[...document.querySelectorAll('.row')].map(r => r.dataset.slice)"
        ),
        serde_json::json!(["case_03_0_0002", "case_03_0_0003"])
    );
    assert_eq!(evaluate(&linked, "document.body.className"), "fill");
    assert_eq!(evaluate(&linked, "viewer.state.epoch"), 0);
    let problems = problems.lock().unwrap();
    assert!(problems.is_empty(), "{problems:#?}");
}
