//! Renders the latency-vs-load curve of `benches/e2e/run.py` as a PNG.
//!
//! Input: the JSON file the bench writes (`{"title": ..., "steps": [{"percent":
//! 10, "offered": 1000.0, "added_p50_us": 40.0, "added_p99_us": 120.0}, ...]}`),
//! the latency ringwall adds over the direct path at each offered load. Output:
//! a line chart of p50 and p99 added latency against the offered load.
//!
//! Usage: `latency_plot INPUT.json OUTPUT.png [FONT.ttf]` (the font defaults to
//! Debian's DejaVu Sans, package fonts-dejavu-core).

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use serde::Deserialize;

#[derive(Deserialize)]
struct Curve {
    title: String,
    steps: Vec<Step>,
}

#[derive(Deserialize)]
struct Step {
    percent: f64,
    offered: f64,
    added_p50_us: f64,
    added_p99_us: f64,
}

const DEFAULT_FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output, rest @ ..] = args.as_slice() else {
        return Err("usage: latency_plot INPUT.json OUTPUT.png [FONT.ttf]".into());
    };
    let font_path = rest.first().map_or(DEFAULT_FONT, String::as_str);
    let font = std::fs::read(font_path)
        .map_err(|e| format!("{font_path}: {e} (apt-get install fonts-dejavu-core)"))?;
    register_font(
        "sans-serif",
        FontStyle::Normal,
        Box::leak(font.into_boxed_slice()),
    )
    .map_err(|_| format!("{font_path} is not a usable TrueType font"))?;
    let curve: Curve = serde_json::from_slice(&std::fs::read(input)?)?;
    // Logarithmic: near saturation the added latency grows by orders of
    // magnitude, and a linear axis would flatten every step below it. Added
    // latency under 1 µs (or negative: noise) is drawn at 1 µs.
    let floor = |v: f64| v.max(1.0);
    let y_max = curve
        .steps
        .iter()
        .map(|s| floor(s.added_p99_us.max(s.added_p50_us)))
        .fold(10.0, f64::max)
        * 2.0;
    let y_min = 1.0;
    let root = BitMapBackend::new(output, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(&curve.title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(90)
        .build_cartesian_2d(0f64..100f64, (y_min..y_max).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("offered load, % of the measured maximum")
        .y_desc("latency added by ringwall, µs (log scale)")
        .label_style(("sans-serif", 14))
        .draw()?;
    for (name, color, pick) in [
        ("p50", BLUE, (|s: &Step| s.added_p50_us) as fn(&Step) -> f64),
        ("p99", RED, |s: &Step| s.added_p99_us),
    ] {
        let points: Vec<(f64, f64)> = curve
            .steps
            .iter()
            .map(|s| (s.percent, floor(pick(s))))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
    }
    for step in &curve.steps {
        let label = format!("{:.0}/s", step.offered);
        let above = floor(step.added_p99_us.max(step.added_p50_us)) * 1.3;
        chart.draw_series(std::iter::once(Text::new(
            label,
            (step.percent - 2.0, above),
            ("sans-serif", 12),
        )))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE)
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;
    root.present()?;
    Ok(())
}
