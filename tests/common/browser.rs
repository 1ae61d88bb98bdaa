//! Loading a page in Debian's headless Chromium at a given window size and listing the
//! elements that overflow the viewport to the right (or scroll sideways inside it). A page
//! is checked through a copy with a small script at the end of its body that writes the
//! list into the DOM, which `--dump-dom` then prints.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Chromium binary, or `None` when none is installed (the caller then skips, saying so).
pub fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Appended to the page: every element whose box ends right of the viewport, every element
/// that scrolls sideways, and the document's own width if it is wider than the window.
const PROBE: &str = r#"<script>
(function(){
const w=document.documentElement.clientWidth;const out=[];
const name=e=>e.tagName.toLowerCase()+(e.id?'#'+e.id:'')+(e.className&&typeof e.className==='string'?'.'+e.className.trim().split(/\s+/).join('.'):'');
for(const e of document.body.querySelectorAll('*')){
 if(e.id==='overflow-probe'||e.closest('#overflow-probe'))continue;
 const r=e.getBoundingClientRect();
 if(r.width>0&&r.right>w+0.5)out.push(name(e)+' ends at '+Math.round(r.right)+' px');
 const cs=getComputedStyle(e);
 if(e.scrollWidth>e.clientWidth+1&&(cs.overflowX==='auto'||cs.overflowX==='scroll'))out.push(name(e)+' scrolls sideways ('+e.scrollWidth+' > '+e.clientWidth+')');}
if(document.documentElement.scrollWidth>w+1)out.push('document is '+document.documentElement.scrollWidth+' px wide');
const p=document.createElement('pre');p.id='overflow-probe';p.textContent='VIEWPORT '+w+'\n'+out.join('\n');
p.style.cssText='position:absolute;left:0;top:0;width:1px;height:1px;overflow:hidden';document.body.appendChild(p);
})();
</script>"#;

/// What overflows `page` in Chromium at `width`×`height`: the viewport width it saw and one
/// line per overflowing element. Panics when Chromium fails or prints no probe.
pub fn overflowing(chromium: &Path, page: &Path, width: u32, height: u32) -> (u32, Vec<String>) {
    let html = std::fs::read_to_string(page).unwrap();
    let at = html.rfind("</body>").expect("the page has a body");
    let probed = page.with_file_name(".probe.html");
    std::fs::write(&probed, format!("{}{PROBE}{}", &html[..at], &html[at..])).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let o = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            &format!("--user-data-dir={}", profile.path().display()),
            &format!("--window-size={width},{height}"),
            "--virtual-time-budget=2000",
            "--dump-dom",
        ])
        .arg(format!("file://{}", probed.display()))
        .output()
        .expect("chromium runs");
    let _ = std::fs::remove_file(&probed);
    let dom = String::from_utf8_lossy(&o.stdout);
    let start = dom
        .find("<pre id=\"overflow-probe\"")
        .and_then(|p| dom[p..].find("VIEWPORT ").map(|v| p + v))
        .unwrap_or_else(|| panic!("no probe output: {}", String::from_utf8_lossy(&o.stderr)));
    let end = dom[start..].find("</pre>").map_or(dom.len(), |e| start + e);
    let mut lines = dom[start..end].lines();
    let viewport = lines.next().unwrap()["VIEWPORT ".len()..]
        .trim()
        .parse()
        .unwrap();
    (
        viewport,
        lines
            .filter(|l| !l.trim().is_empty())
            .map(String::from)
            .collect(),
    )
}

/// Asserts that `page` fits 1280×800 in Chromium; skips (with a message) without Chromium.
pub fn assert_fits_1280(page: &Path) {
    let Some(chromium) = chromium() else {
        eprintln!(
            "SKIPPED: no chromium (apt-get install chromium) to check that {} fits 1280 px",
            page.display()
        );
        return;
    };
    let (viewport, over) = overflowing(&chromium, page, 1280, 800);
    assert!(
        (1200..=1280).contains(&viewport),
        "Chromium's viewport is {viewport} px wide"
    );
    assert!(
        over.is_empty(),
        "{} overflows a {viewport} px viewport:\n{}",
        page.display(),
        over.join("\n")
    );
}
