//! What every HTML page of cascadesim shares (`report.html`, `heatmap.html`, `sweep.html`,
//! `compare.html`, `backtest.html`): the style sheet, the head and header, escaping, inlining
//! an SVG figure, and the small script of our own that makes inline figures interactive
//! (drag a box to zoom, double-click to reset, hover for the value under the pointer). Pages
//! stay one self-contained file: no external asset, no third-party code.

use std::fmt::Write as _;

use super::figures::FigureFile;

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// An SVG file's markup for inlining: from `<svg` on, labelled for screen readers.
pub fn inline_svg(text: &str, label: &str) -> Option<String> {
    let start = text.find("<svg")?;
    let end = text.rfind("</svg>")? + "</svg>".len();
    let body = &text[start..end];
    Some(body.replacen(
        "<svg",
        &format!("<svg role=\"img\" aria-label=\"{}\"", escape(label)),
        1,
    ))
}

/// The house style sheet. The layout puts the scenario beside the main column only from
/// 1600 px up; below, it follows the main column, so tables keep the whole width from 1280 px
/// (`tests/report.rs::pages_fit_1280_pixels_in_chromium`).
pub const STYLE: &str = "
:root{--fg:#1d2433;--muted:#5b6475;--line:#d9dee7;--bg:#ffffff;--soft:#f5f7fa;--accent:#1565c0}
.warning{border:1px solid #e0a800;border-left:5px solid #c62828;background:#fff8e1;padding:.5rem .9rem;margin:.6rem 0;border-radius:4px}.warning ul{margin:.3rem 0 0;padding-left:1.2rem}.warning li.sub{list-style:circle;color:var(--muted)}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:var(--fg);background:var(--bg)}
header{padding:1.2rem 1.5rem;border-bottom:1px solid var(--line);background:var(--soft)}
h1{margin:0 0 .3rem;font-size:1.5rem}
h2{font-size:1.2rem;margin:1.6rem 0 .6rem;border-bottom:1px solid var(--line);padding-bottom:.2rem}
h3{font-size:1.05rem;margin:1.2rem 0 .4rem}
.meta{color:var(--muted);margin:0}
.page{padding:0 1.5rem 2rem;max-width:80rem}
.layout{display:grid;grid-template-columns:minmax(0,1fr);gap:1.5rem;padding:0 1.5rem 2rem}
.layout>*{min-width:0}
@media (min-width:1600px){.layout{grid-template-columns:minmax(0,1fr) minmax(20rem,30rem)}aside pre{position:sticky;top:1rem;max-height:calc(100vh - 8rem)}}
aside pre{overflow:auto;max-height:40rem;background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:.8rem;font:12.5px/1.4 ui-monospace,'DejaVu Sans Mono',monospace;white-space:pre-wrap;overflow-wrap:anywhere}
.prob{font-size:1.25rem;margin:.4rem 0}
.prob b{font-size:1.6rem}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums;margin:.4rem 0 1rem;font-size:14px}
th,td{padding:.3rem .45rem;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
thead th{background:var(--soft);font-weight:600}
th[title],td[title]{cursor:help}
tr.group th{background:none;text-align:left;font-size:13px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em;padding-top:.8rem}
td.name{white-space:normal;text-align:left}
td.name small,small.key{color:var(--muted);font-size:12px}
td.reason{text-align:left;white-space:normal;color:var(--muted)}
td small{color:var(--muted);display:block}
table.facts{width:auto}
table.facts td{text-align:left;white-space:normal}table.facts td:first-child{white-space:nowrap;color:var(--muted)}
.scroll{overflow-x:auto}
figure{margin:1rem 0 2rem}
figure svg{width:100%;max-width:70rem;height:auto;display:block;border:1px solid var(--line);border-radius:4px}
figure svg.zoomable{cursor:crosshair}
figcaption{color:var(--muted);font-size:13.5px;margin-top:.4rem;max-width:70rem}
.readout{position:fixed;pointer-events:none;background:#1d2433;color:#fff;font:12px/1.3 ui-monospace,'DejaVu Sans Mono',monospace;padding:.2rem .4rem;border-radius:3px;display:none;z-index:10}
.missing{border:1px dashed #c62828;color:#c62828;padding:.8rem;border-radius:4px}
.notes li{color:var(--muted)}
";

/// Our own script over the inline SVG figures. Drag a box to zoom into it (the SVG's
/// `viewBox`), double-click to go back; hovering reads the value under the pointer from the
/// figure's own tick labels (a row of numeric labels under the plot gives x, a column of
/// right-aligned ones gives y; linear or logarithmic, whichever fits the ticks better).
pub const SCRIPT: &str = r#"
(function(){
const tip=document.createElement('div');tip.className='readout';document.body.appendChild(tip);
const SUF={k:1e3,M:1e6,B:1e9,T:1e12};
function parse(t){t=t.trim().replace(/,/g,'').replace('\u2212','-');
 const m=/^(-?)\$?(-?[0-9.]+(?:e-?[0-9]+)?)([kMBT]?)(%?)$/.exec(t);if(!m)return null;
 let v=parseFloat(m[2]);if(!isFinite(v))return null;if(m[1])v=-v;if(m[3])v*=SUF[m[3]];
 return {v:v,usd:t.includes('$'),pct:m[4]==='%'};}
function fmt(v,a){let s='';const x=Math.abs(v);
 if(a.usd){let u='';let y=x;for(const k of ['T','B','M','k']){if(x>=SUF[k]*0.9995){u=k;y=x/SUF[k];break;}}
  s='$'+y.toPrecision(3)+u;return (v<0?'-':'')+s;}
 if(a.log)return v.toPrecision(3)+(a.pct?'%':'');
 return (a.pct?v.toFixed(2)+'%':(x>=1000?Math.round(v).toLocaleString('en-US'):v.toPrecision(3)));}
function fit(ticks,key){if(ticks.length<2)return null;
 const lin=ls(ticks.map(t=>[t[key],t.v]));
 const pos=ticks.every(t=>t.v>0);const lg=pos?ls(ticks.map(t=>[t[key],Math.log10(t.v)])):null;
 const useLog=lg&&ticks.length>2&&lg.r<lin.r*0.5;const f=useLog?lg:lin;
 return {a:f.a,b:f.b,log:useLog,usd:ticks[0].usd,pct:ticks[0].pct,
  at:p=>{const y=f.a+f.b*p;return useLog?Math.pow(10,y):y;}};}
function ls(pts){const n=pts.length;let sx=0,sy=0,sxx=0,sxy=0;
 for(const [x,y] of pts){sx+=x;sy+=y;sxx+=x*x;sxy+=x*y;}
 const d=n*sxx-sx*sx;const b=d?(n*sxy-sx*sy)/d:0;const a=(sy-b*sx)/n;
 let r=0,span=0;const ys=pts.map(p=>p[1]);span=Math.max(...ys)-Math.min(...ys)||1;
 for(const [x,y] of pts){r+=Math.abs(a+b*x-y);}return {a:a,b:b,r:r/n/span};}
function axes(svg){const rows={},cols={};
 for(const t of svg.querySelectorAll('text')){const p=parse(t.textContent);if(!p)continue;
  const x=+t.getAttribute('x'),y=+t.getAttribute('y'),an=t.getAttribute('text-anchor');
  if(an==='middle'){(rows[y]=rows[y]||[]).push(Object.assign(p,{x:x,y:y}));}
  else if(an==='end'){(cols[x]=cols[x]||[]).push(Object.assign(p,{x:x,y:y}));}}
 const keep=o=>Object.values(o).filter(l=>l.length>=2);
 // A column of labels may hold the y axes of stacked panels: split it where the kind of
 // label changes ($, %, plain) or the gap is far wider than the usual one.
 const split=[];for(const l of keep(cols)){l.sort((a,b)=>a.y-b.y);
  const gaps=l.slice(1).map((t,i)=>t.y-l[i].y).sort((a,b)=>a-b);const g=gaps[gaps.length>>1]||0;let cur=[l[0]];
  for(let i=1;i<l.length;i++){const t=l[i],u=l[i-1];
   if(t.usd!==u.usd||t.pct!==u.pct||t.y-u.y>2.5*g){split.push(cur);cur=[];}cur.push(t);}
  split.push(cur);}
 return {rows:keep(rows),cols:split.filter(l=>l.length>=2)};}
function nearest(list,key,p,below){let best=null,bd=Infinity;
 for(const l of list){const d=below?(l[0][key]-p):(p-l[0][key]);if(d>=-2&&d<bd){bd=d;best=l;}}return best;}
function beside(list,p){let best=null,bd=Infinity;
 for(const l of list){const lo=l[0].y,hi=l[l.length-1].y,pad=1.5*(hi-lo)/(l.length-1);
  if(p.y<lo-pad||p.y>hi+pad)continue;const d=p.x-l[0].x;if(d>=-2&&d<bd){bd=d;best=l;}}return best;}
for(const svg of document.querySelectorAll('figure svg')){
 const vb=svg.getAttribute('viewBox')||('0 0 '+svg.getAttribute('width')+' '+svg.getAttribute('height'));
 svg.setAttribute('viewBox',vb);svg.classList.add('zoomable');
 const ax=axes(svg);let start=null,box=null;
 const pt=e=>{const q=svg.createSVGPoint();q.x=e.clientX;q.y=e.clientY;return q.matrixTransform(svg.getScreenCTM().inverse());};
 svg.addEventListener('mousedown',e=>{e.preventDefault();start=pt(e);
  box=document.createElementNS('http://www.w3.org/2000/svg','rect');
  box.setAttribute('fill','rgba(21,101,192,.15)');box.setAttribute('stroke','#1565c0');svg.appendChild(box);});
 svg.addEventListener('mousemove',e=>{const p=pt(e);
  if(start&&box){box.setAttribute('x',Math.min(start.x,p.x));box.setAttribute('y',Math.min(start.y,p.y));
   box.setAttribute('width',Math.abs(p.x-start.x));box.setAttribute('height',Math.abs(p.y-start.y));}
  const r=nearest(ax.rows,'y',p.y,true),c=beside(ax.cols,p);const parts=[];
  const fx=r&&fit(r,'x'),fy=c&&fit(c,'y');
  if(fx)parts.push('x '+fmt(fx.at(p.x),fx));if(fy)parts.push('y '+fmt(fy.at(p.y),fy));
  if(parts.length){tip.textContent=parts.join('  ');tip.style.display='block';
   tip.style.left=(e.clientX+14)+'px';tip.style.top=(e.clientY+14)+'px';}else tip.style.display='none';});
 svg.addEventListener('mouseleave',()=>{tip.style.display='none';});
 window.addEventListener('mouseup',e=>{if(!start)return;const p=pt(e);const w=Math.abs(p.x-start.x),h=Math.abs(p.y-start.y);
  if(box)box.remove();box=null;
  if(w>8&&h>8)svg.setAttribute('viewBox',Math.min(start.x,p.x)+' '+Math.min(start.y,p.y)+' '+w+' '+h);start=null;});
 svg.addEventListener('dblclick',()=>svg.setAttribute('viewBox',vb));}
})();
"#;

/// The start of a page: doctype, head with the style sheet, and the header with `heading`
/// and the `meta` lines (already escaped HTML, one paragraph each).
pub fn open(title: &str, heading: &str, meta: &[String]) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>cascadesim · {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header>\n<h1>{}</h1>\n",
        escape(title),
        escape(heading)
    );
    for m in meta {
        let _ = writeln!(o, "<p class=\"meta\">{m}</p>");
    }
    o.push_str("</header>\n");
    o
}

/// The end of a page: the figure script and the closing tags.
pub fn close(o: &mut String) {
    let _ = write!(o, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
}

/// An SVG file's text made inline (see [`inline_svg`]), or why it cannot be: the reason
/// [`figure`] shows in its place.
pub fn svg_file(path: &std::path::Path, label: &str) -> Result<String, String> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {name}: {e}"))
        .and_then(|t| inline_svg(&t, label).ok_or_else(|| "not an SVG file".into()))
}

/// A figure's block: heading, inline SVG (or why it is missing) and caption, with the hint
/// that the figure can be zoomed.
pub fn figure(o: &mut String, id: &str, title: &str, svg: Result<String, String>, caption: &str) {
    let _ = write!(
        o,
        "<figure id=\"{}\">\n<h3>{}</h3>\n",
        escape(id),
        escape(title)
    );
    match svg {
        Ok(svg) => {
            o.push_str(&svg);
            let _ = writeln!(
                o,
                "\n<figcaption>{caption} <small class=\"key\">Drag to zoom, double-click to reset; hover reads the axes.</small></figcaption>"
            );
        }
        Err(reason) => {
            let _ = writeln!(o, "<p class=\"missing\">Not drawn: {}</p>", escape(&reason));
        }
    }
    o.push_str("</figure>\n");
}

/// A run figure's block (see [`figure`]): `svg_text` is its SVG file's text, or why there is
/// none; the caption names its PNG and SVG files under `plots/`.
pub fn run_figure(o: &mut String, f: &FigureFile, plots_dir: &std::path::Path) {
    let svg = f
        .status
        .clone()
        .and_then(|()| svg_file(&plots_dir.join(format!("{}.svg", f.stem)), &f.title));
    let caption = format!(
        "{} (<code>plots/{}.png</code>, <code>.svg</code>)",
        escape(&f.caption),
        escape(&f.stem)
    );
    figure(o, &f.stem, &f.title, svg, &caption);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_characters() {
        assert_eq!(
            escape("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn svgs_are_inlined_from_their_root_element() {
        let svg = "<?xml version=\"1.0\"?>\n<svg width=\"2\" height=\"2\"><g/></svg>\n";
        assert_eq!(
            inline_svg(svg, "a <b>").unwrap(),
            "<svg role=\"img\" aria-label=\"a &lt;b&gt;\" width=\"2\" height=\"2\"><g/></svg>"
        );
        assert!(inline_svg("not svg", "x").is_none());
    }

    #[test]
    fn a_page_opens_and_closes_with_the_script_and_no_external_asset() {
        let mut o = open("t <x>", "Heading", &["a &amp; b".into()]);
        close(&mut o);
        assert!(o.starts_with("<!DOCTYPE html>"));
        assert!(o.contains("<title>cascadesim · t &lt;x&gt;</title>"));
        assert!(o.contains("<p class=\"meta\">a &amp; b</p>"));
        assert!(o.trim_end().ends_with("</html>"));
        for external in ["src=", "href=", "url(", "@import"] {
            assert!(!o.contains(external), "{external}");
        }
    }
}
