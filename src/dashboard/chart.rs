//! The one chart: messages per hour by outcome, as inline SVG drawn on the
//! server (stacked bars: delivered, failed, still pending).

use super::html::esc;
use crate::store::HourView;

const W: f64 = 720.0;
const H: f64 = 180.0;
/// The stacked outcomes: (name, colour, the hour's count).
type Outcome = (&'static str, &'static str, fn(&HourView) -> u64);
const COLOURS: [Outcome; 3] = [
    ("delivered", "#1f8a4c", |h| h.delivered),
    ("failed", "#c0392b", |h| h.failed),
    ("pending", "#b7791f", |h| h.pending),
];

/// One bar per hour, oldest first.
pub fn hourly(hourly: &[HourView]) -> String {
    if hourly.is_empty() {
        return r#"<p class="muted">No messages in this period.</p>"#.into();
    }
    let total = |h: &HourView| COLOURS.iter().map(|(_, _, n)| n(h)).sum::<u64>();
    let max = hourly.iter().map(total).max().unwrap_or(1).max(1) as f64;
    let slot = W / hourly.len() as f64;
    let width = (slot * 0.8).max(1.0);
    let mut bars = String::new();
    for (i, h) in hourly.iter().enumerate() {
        let x = i as f64 * slot + (slot - width) / 2.0;
        let mut y = H;
        let hour = &h.hour;
        for (key, colour, count) in COLOURS {
            let n = count(h);
            if n == 0 {
                continue;
            }
            let height = n as f64 / max * (H - 10.0);
            y -= height;
            bars.push_str(&format!(
                r#"<rect x="{x:.1}" y="{y:.1}" width="{width:.1}" height="{height:.1}" fill="{colour}"><title>{} {key}: {n}</title></rect>"#,
                esc(hour)
            ));
        }
    }
    let first = esc(&hourly[0].hour);
    let last = esc(&hourly[hourly.len() - 1].hour);
    let legend: String = COLOURS
        .iter()
        .map(|(k, c, _)| format!(r#"<span style="color:{c}">■</span> {k} "#))
        .collect();
    format!(
        r#"<svg viewBox="0 0 {W} {H}" width="100%" role="img" aria-label="messages per hour by outcome" preserveAspectRatio="none" style="max-height:14rem">{bars}</svg>
<div class="muted">{first} … {last} (UTC, hourly) · peak {max} · {legend}</div>"#
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn bars_scale_to_the_peak() {
        let data: Vec<crate::store::HourView> = serde_json::from_value(serde_json::json!([
            {"hour": "2025-01-01T00:00:00.000Z", "delivered": 2, "failed": 0, "pending": 0},
            {"hour": "2025-01-01T01:00:00.000Z", "delivered": 1, "failed": 1, "pending": 2},
        ]))
        .unwrap();
        let svg = super::hourly(&data);
        assert_eq!(svg.matches("<rect").count(), 4);
        assert!(svg.contains("peak 4"));
        assert!(super::hourly(&[]).contains("No messages"));
    }
}
