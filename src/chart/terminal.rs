//! The terminal chart: 80 columns of characters, one symbol per actor.

use std::fmt::Write as _;

use super::{Chart, SYMBOLS};

impl Chart {
    /// A terminal chart `width` columns wide (80 reads well), with a legend.
    pub fn terminal(&self, width: usize) -> String {
        let mut out = String::new();
        if self.periods.is_empty() {
            return "no dated, attributed sentences to chart\n".into();
        }
        let cells = Cells {
            w: width.saturating_sub(8).max(10),
            h: 15,
            periods: self.periods.len(),
        };
        let grid = self.terminal_grid(&cells);
        let zero = cells.y(0.0);
        let _ = writeln!(
            out,
            "{} actor over time ({} per period; {})",
            self.what(),
            self.measure.describe(),
            self.measure.scale()
        );
        let ticks = self.measure.ticks();
        for (r, line) in grid.iter().enumerate() {
            let label = if r == 0 {
                ticks[0]
            } else if r == zero {
                ticks[1]
            } else if r == cells.h - 1 {
                ticks[2]
            } else {
                ""
            };
            let _ = writeln!(out, "{label:>5} │{}", line.iter().collect::<String>());
        }
        let _ = writeln!(out, "{:>5} └{}", "", "─".repeat(cells.w));
        let _ = writeln!(out, "{:>5}  {}", "", self.period_labels(&cells).trim_end());
        for (k, s) in self.series.iter().enumerate() {
            let n: usize = s.points.iter().map(|p| p.1.sentences).sum();
            let mean = s
                .points
                .iter()
                .map(|p| self.measure.value(&p.1).unwrap_or(0.0) * p.1.sentences as f64)
                .sum::<f64>()
                / n.max(1) as f64;
            let _ = writeln!(
                out,
                "  {} {:<28} {:>4} sentences, mean {}",
                SYMBOLS[k],
                s.actor,
                n,
                self.format(mean)
            );
        }
        out
    }

    /// The plot area: a dotted zero line, each series' points as its symbol and the lines
    /// between them in its lower-case symbol.
    fn terminal_grid(&self, cells: &Cells) -> Vec<Vec<char>> {
        let mut grid = vec![vec![' '; cells.w]; cells.h];
        for c in grid[cells.y(0.0)].iter_mut() {
            *c = '·';
        }
        for (k, s) in self.series.iter().enumerate() {
            let sym = SYMBOLS[k];
            for w in s.points.windows(2) {
                let (x0, y0) = (cells.x(w[0].0) as f64, cells.y(self.y(&w[0].1)) as f64);
                let (x1, y1) = (cells.x(w[1].0) as f64, cells.y(self.y(&w[1].1)) as f64);
                let steps = (x1 - x0).abs().max((y1 - y0).abs()).max(1.0) as usize;
                for st in 1..steps {
                    let f = st as f64 / steps as f64;
                    let (x, y) = (
                        (x0 + f * (x1 - x0)).round() as usize,
                        (y0 + f * (y1 - y0)).round() as usize,
                    );
                    if grid[y][x] == ' ' || grid[y][x] == '·' {
                        grid[y][x] = sym.to_ascii_lowercase();
                    }
                }
            }
            for (i, st) in &s.points {
                grid[cells.y(self.y(st))][cells.x(*i)] = sym;
            }
        }
        grid
    }

    /// The first, middle and last period labels under the plot.
    fn period_labels(&self, cells: &Cells) -> String {
        let mut axis = vec![' '; cells.w + 10];
        let n = self.periods.len();
        let mut idx = vec![0];
        if n > 2 {
            idx.push(n / 2);
        }
        if n > 1 {
            idx.push(n - 1);
        }
        for i in idx {
            let lab: Vec<char> = self.periods[i].chars().collect();
            let x = cells
                .x(i)
                .saturating_sub(lab.len() / 2)
                .min(cells.w.saturating_sub(lab.len()));
            for (k, c) in lab.iter().enumerate() {
                axis[x + k] = *c;
            }
        }
        axis.iter().collect()
    }
}

/// The terminal chart's plot area in character cells: `w` columns, `h` rows.
struct Cells {
    w: usize,
    h: usize,
    periods: usize,
}

impl Cells {
    /// The column of period `i` (one period sits in the middle).
    fn x(&self, i: usize) -> usize {
        if self.periods == 1 {
            self.w / 2
        } else {
            i * (self.w - 1) / (self.periods - 1)
        }
    }

    /// The row of a value in [-1, 1] (clamped; row 0 is +1).
    fn y(&self, t: f64) -> usize {
        (((1.0 - t.clamp(-1.0, 1.0)) / 2.0) * (self.h - 1) as f64).round() as usize
    }
}
